"""Settings of a portal instance: where its data live, its queue, its limits, notifications."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: Files and folders of a data directory.
DB_FILE = "portal.db"
QUEUE_FILE = "queue.db"
ADMIN_TOKEN_FILE = "admin_token"
SETTINGS_FILE = "settings.json"


@dataclass(frozen=True)
class SmtpSettings:
    """Where e-mail notifications go out (none are sent without a host)."""

    host: str
    port: int = 25
    sender: str = "butterflyvi@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False


@dataclass(frozen=True)
class Settings:
    """Settings of one portal (web app and workers share them through the data directory).

    Parameters
    ----------
    data_dir
        Folder of the database, the queue (SQLite), uploads, results and users' models.
    queue
        ``None`` for the embedded SQLite queue, or ``redis://HOST:PORT/DB``.
    max_upload_bytes
        Largest accepted upload (2 GB); larger requests get 413.
    max_active_jobs
        Queued + running jobs one user may have (429 beyond).
    max_user_bytes
        Disk one user's uploads and results may take (507 beyond).
    min_overlap
        Share of a model's features an upload must hold (0.5).
    job_timeout
        Seconds a running job may go without a heartbeat before it is considered lost.
    smtp
        E-mail settings, or ``None``.
    allow_private_urls
        Let webhooks and uploads by link reach private, loopback and link-local addresses
        (refused by default: a user could otherwise make the server probe its own network).
    keep_days
        Ended jobs older than this many days are deleted with their files (``None``: kept).
    registration
        Who may create an account from the sign-up page: ``"closed"`` (nobody: the
        administrator adds users), ``"approval"`` (anyone, let in by an administrator) or
        ``"open"``.
    """

    data_dir: Path
    queue: str | None = None
    max_upload_bytes: int = 2 * 1024**3
    max_active_jobs: int = 8
    max_user_bytes: int = 20 * 1024**3
    min_overlap: float = 0.5
    job_timeout: float = 60.0
    torch_threads: int = 1
    smtp: SmtpSettings | None = None
    allow_private_urls: bool = False
    keep_days: float | None = None
    registration: str = "closed"
    extra_model_dirs: tuple[Path, ...] = field(default_factory=tuple)

    @property
    def db_path(self) -> Path:
        """The SQLite database (users, tokens, jobs, models, notifications)."""
        return self.data_dir / DB_FILE

    @property
    def queue_path(self) -> Path:
        """The SQLite file of the embedded queue."""
        return self.data_dir / QUEUE_FILE

    def user_dir(self, user_id: int) -> Path:
        """Folder of one user's uploads, results and models."""
        return self.data_dir / "users" / str(int(user_id))

    def job_dir(self, user_id: int, job_id: str) -> Path:
        """Folder of one job: its upload, log and results."""
        return self.user_dir(user_id) / "jobs" / job_id

    def to_env(self) -> dict[str, str]:
        """The settings a worker process needs, as environment variables."""
        env = {"BUTTERFLYVI_PORTAL_DIR": str(self.data_dir)}
        if self.queue:
            env["BUTTERFLYVI_PORTAL_QUEUE"] = self.queue
        return env


def make_private(data_dir: Path) -> None:
    """Keep a data directory to its owner: this process creates files 0600 and folders 0700
    (``umask 077``), and what is there already is set so (an older install's files).
    """
    os.umask(0o077)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    for root, folders, files in os.walk(data_dir):
        for name in folders:
            os.chmod(os.path.join(root, name), 0o700)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)


def from_data_dir(data_dir: str | os.PathLike, **overrides) -> Settings:
    """Settings of ``data_dir`` with the options saved there by ``serve``, then ``overrides``."""
    import json

    data_dir = Path(data_dir).expanduser().resolve()
    saved: dict = {}
    path = data_dir / SETTINGS_FILE
    if path.is_file():
        saved = json.loads(path.read_text())
    if saved.get("smtp"):
        saved["smtp"] = SmtpSettings(**saved["smtp"])
    saved.pop("extra_model_dirs", None)
    merged = {**saved, **{k: v for k, v in overrides.items() if v is not None}}
    return Settings(data_dir=data_dir, **merged)


def save(settings: Settings) -> None:
    """Write the options a worker on another machine must share (``settings.json``)."""
    import dataclasses
    import json

    values = {
        "queue": settings.queue,
        "max_upload_bytes": settings.max_upload_bytes,
        "max_active_jobs": settings.max_active_jobs,
        "max_user_bytes": settings.max_user_bytes,
        "min_overlap": settings.min_overlap,
        "job_timeout": settings.job_timeout,
        "torch_threads": settings.torch_threads,
        "smtp": dataclasses.asdict(settings.smtp) if settings.smtp else None,
        "allow_private_urls": settings.allow_private_urls,
        "keep_days": settings.keep_days,
        "registration": settings.registration,
    }
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / SETTINGS_FILE).write_text(json.dumps(values, indent=2) + "\n")
