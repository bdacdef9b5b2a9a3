"""The portal's SQLite database: users, tokens, sessions, jobs, models, notifications.

The web process and every worker open it (WAL mode, short transactions, a busy timeout), so
job state lives here, not only in the queue: a restart never loses a job.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: Columns added after the first release of the schema: (table, column, definition).
MIGRATIONS = (
    ("users", "status", "TEXT NOT NULL DEFAULT 'active'"),
    ("jobs", "progress", "TEXT"),
)

#: Statuses of a job.
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")

#: Columns callers may set by keyword (``add_job``, ``update_job``, ``update_user``); no
#: other name ever reaches an SQL statement.
JOB_COLUMNS = frozenset(
    {
        "model",
        "source",
        "target",
        "filename",
        "options",
        "n_cells",
        "feature_overlap",
        "bytes",
        "progress",
    }
)
USER_COLUMNS = frozenset({"email", "webhook", "status"})
#: Job columns stored as JSON text.
JSON_COLUMNS = ("options", "feature_overlap", "progress")


def _columns(values: dict[str, Any], allowed: frozenset[str], table: str) -> list[str]:
    """The keys of ``values``, refused unless all are settable columns of ``table``."""
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValueError(f"{table}: expected columns among {sorted(allowed)}, found {unknown}.")
    return list(values)


SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT UNIQUE NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,
    email TEXT,
    webhook TEXT,
    created REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'active'
);
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    model TEXT,
    source TEXT,
    target TEXT,
    filename TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    n_cells INTEGER,
    feature_overlap TEXT,
    bytes INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    heartbeat REAL,
    worker TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    progress TEXT
);
CREATE INDEX IF NOT EXISTS jobs_user ON jobs(user_id, created);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
CREATE TABLE IF NOT EXISTS models (
    name TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id),
    path TEXT NOT NULL,
    record TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (user_id, name)
);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    job_id TEXT,
    message TEXT NOT NULL,
    created REAL NOT NULL,
    seen INTEGER NOT NULL DEFAULT 0
);
"""


class Database:
    """Access to the portal database (one short connection per operation)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            for table, column, definition in MIGRATIONS:
                existing = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in existing:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            db.commit()
        finally:
            db.close()
        os.chmod(self.path, 0o600)  # users and token hashes: the owner only

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in WAL mode; commits on success, rolls back on error."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    # ------------------------------------------------------------------ users
    def add_user(
        self,
        name: str,
        *,
        is_admin: bool = False,
        email: str | None = None,
        status: str = "active",
    ) -> int:
        """A new user's id (the name must be new)."""
        with self.connect() as db:
            cursor = db.execute(
                "INSERT INTO users (name, is_admin, email, created, status) VALUES (?, ?, ?, ?, ?)",
                (name, int(is_admin), email, time.time(), status),
            )
            return int(cursor.lastrowid)

    def users(self) -> list[dict]:
        """Every user, oldest first, with the number of their tokens and jobs."""
        with self.connect() as db:
            rows = db.execute(
                "SELECT users.*, "
                "(SELECT COUNT(*) FROM tokens WHERE tokens.user_id = users.id) AS n_tokens, "
                "(SELECT COUNT(*) FROM jobs WHERE jobs.user_id = users.id) AS n_jobs "
                "FROM users ORDER BY users.id"
            ).fetchall()
        return [dict(row) for row in rows]

    def replace_tokens(self, user_id: int, token_hash: str | None) -> None:
        """Remove a user's tokens and sign-ins; add ``token_hash`` as the only token (none:
        the user can no longer sign in).
        """
        with self.connect() as db:
            db.execute("DELETE FROM tokens WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            if token_hash is not None:
                db.execute(
                    "INSERT INTO tokens (hash, user_id, created) VALUES (?, ?, ?)",
                    (token_hash, user_id, time.time()),
                )

    def user(self, user_id: int) -> dict | None:
        """The user ``user_id``."""
        with self.connect() as db:
            row = db.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        return dict(row) if row else None

    def user_by_name(self, name: str) -> dict | None:
        """The user called ``name``."""
        with self.connect() as db:
            row = db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return dict(row) if row else None

    def n_users(self) -> int:
        """Number of users."""
        with self.connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM users").fetchone()[0])

    def update_user(self, user_id: int, **values: Any) -> None:
        """Set ``email`` and/or ``webhook`` of a user."""
        names = _columns(values, USER_COLUMNS, "users")
        if not names:
            return
        assignments = ", ".join(f"{name} = ?" for name in names)
        with self.connect() as db:
            db.execute(f"UPDATE users SET {assignments} WHERE id = ?", (*values.values(), user_id))

    # ------------------------------------------------------------------ tokens and sessions
    def add_token(self, user_id: int, token_hash: str) -> None:
        """Record a token (only its hash)."""
        with self.connect() as db:
            db.execute(
                "INSERT INTO tokens (hash, user_id, created) VALUES (?, ?, ?)",
                (token_hash, user_id, time.time()),
            )

    def _rows(self, sql: str, params: tuple = ()) -> list:
        """The rows of one query."""
        with self.connect() as db:
            return db.execute(sql, params).fetchall()

    def user_of_token(self, token_hash: str) -> dict | None:
        """The user a token hash belongs to."""
        rows = self._rows(
            "SELECT users.* FROM tokens JOIN users ON users.id = tokens.user_id "
            "WHERE tokens.hash = ? AND users.status = 'active'",
            (token_hash,),
        )
        return dict(rows[0]) if rows else None

    def add_session(self, session_hash: str, user_id: int, csrf: str) -> None:
        """Record a sign-in session (its hash and CSRF token)."""
        with self.connect() as db:
            db.execute(
                "INSERT INTO sessions (hash, user_id, csrf, created) VALUES (?, ?, ?, ?)",
                (session_hash, user_id, csrf, time.time()),
            )

    def session(self, session_hash: str) -> dict | None:
        """The session and its user."""
        with self.connect() as db:
            row = db.execute(
                "SELECT sessions.csrf, sessions.created AS session_created, users.* "
                "FROM sessions JOIN users ON users.id = sessions.user_id "
                "WHERE sessions.hash = ? AND users.status = 'active'",
                (session_hash,),
            ).fetchone()
        return dict(row) if row else None

    def delete_session(self, session_hash: str) -> None:
        """Sign out."""
        with self.connect() as db:
            db.execute("DELETE FROM sessions WHERE hash = ?", (session_hash,))

    # ------------------------------------------------------------------ jobs
    def add_job(self, user_id: int, kind: str, *, job_id: str | None = None, **values: Any) -> str:
        """A new queued job's id (``job_id`` or a fresh one)."""
        job_id = job_id or uuid.uuid4().hex[:16]
        _columns(values, JOB_COLUMNS, "jobs")
        options = json.dumps(values.pop("options", {}))
        columns = ["id", "user_id", "kind", "status", "options", "created", *values]
        with self.connect() as db:
            db.execute(
                f"INSERT INTO jobs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                (job_id, user_id, kind, "queued", options, time.time(), *values.values()),
            )
        return job_id

    def job(self, job_id: str, user_id: int | None = None) -> dict | None:
        """The job ``job_id`` (of ``user_id`` when given: another user's job is not found)."""
        query = "SELECT * FROM jobs WHERE id = ?"
        args: tuple = (job_id,)
        if user_id is not None:
            query += " AND user_id = ?"
            args = (job_id, user_id)
        with self.connect() as db:
            row = db.execute(query, args).fetchone()
        return _job(row) if row else None

    def jobs(
        self, user_id: int | None = None, statuses: tuple[str, ...] | None = None
    ) -> list[dict]:
        """Jobs, newest first (of one user, of some statuses)."""
        query, args = "SELECT * FROM jobs WHERE 1 = 1", []
        if user_id is not None:
            query += " AND user_id = ?"
            args.append(user_id)
        if statuses:
            query += f" AND status IN ({', '.join('?' * len(statuses))})"
            args += list(statuses)
        with self.connect() as db:
            rows = db.execute(query + " ORDER BY created DESC", args).fetchall()
        return [_job(row) for row in rows]

    def claim(self, job_id: str, worker: str) -> dict | None:
        """Move a queued job to running for ``worker``; ``None`` if it is not queued."""
        now = time.time()
        with self.connect() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = 'running', started = ?, heartbeat = ?, worker = ?, "
                "attempts = attempts + 1 WHERE id = ? AND status = 'queued'",
                (now, now, worker, job_id),
            )
            if cursor.rowcount == 0:
                return None
            return _job(db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())

    def heartbeat(self, job_id: str) -> None:
        """A running job's worker is alive."""
        with self.connect() as db:
            db.execute(
                "UPDATE jobs SET heartbeat = ? WHERE id = ? AND status = 'running'",
                (time.time(), job_id),
            )

    def update_job(self, job_id: str, **values: Any) -> None:
        """Set columns of a job (:data:`JSON_COLUMNS` as JSON)."""
        names = _columns(values, JOB_COLUMNS, "jobs")
        for column in JSON_COLUMNS:
            if values.get(column) is not None:
                values[column] = json.dumps(values[column])
        assignments = ", ".join(f"{name} = ?" for name in names)
        with self.connect() as db:
            db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*values.values(), job_id))

    def finish(self, job_id: str, status: str, error: str | None = None) -> bool:
        """End a running (or queued) job; ``False`` if it had ended already (e.g. cancelled)."""
        with self.connect() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = ?, finished = ?, error = ? "
                "WHERE id = ? AND status IN ('queued', 'running')",
                (status, time.time(), error, job_id),
            )
            return cursor.rowcount > 0

    def requeue(self, job_id: str) -> bool:
        """Put a running job back in the queue (a retry after its worker died)."""
        with self.connect() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = 'queued', worker = NULL, heartbeat = NULL "
                "WHERE id = ? AND status = 'running'",
                (job_id,),
            )
            return cursor.rowcount > 0

    def release(self, job_id: str, worker: str) -> bool:
        """Hand a job back to the queue because its worker is stopping (not an attempt)."""
        with self.connect() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = 'queued', worker = NULL, heartbeat = NULL, "
                "attempts = MAX(attempts - 1, 0) WHERE id = ? AND status = 'running' "
                "AND worker = ?",
                (job_id, worker),
            )
            return cursor.rowcount > 0

    def old_jobs(self, before: float) -> list[dict]:
        """Ended jobs that finished before ``before`` (unix time)."""
        rows = self._rows(
            f"SELECT * FROM jobs WHERE status IN ({', '.join('?' * len(FINISHED))}) "
            "AND COALESCE(finished, created) < ?",
            (*FINISHED, before),
        )
        return [_job(row) for row in rows]

    def delete_job(self, job_id: str) -> None:
        """Remove a job's row."""
        with self.connect() as db:
            db.execute("DELETE FROM notifications WHERE job_id = ?", (job_id,))
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def user_bytes(self, user_id: int) -> int:
        """Disk used by a user's jobs, as recorded."""
        with self.connect() as db:
            row = db.execute(
                "SELECT COALESCE(SUM(bytes), 0) FROM jobs WHERE user_id = ?", (user_id,)
            )
            return int(row.fetchone()[0])

    # ------------------------------------------------------------------ models
    def add_model(self, user_id: int, name: str, path: str, record: dict) -> None:
        """A user's private model (trained by a training job)."""
        with self.connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO models (name, user_id, path, record, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, user_id, path, json.dumps(record), time.time()),
            )

    def models(self, user_id: int) -> list[dict]:
        """A user's private models."""
        with self.connect() as db:
            rows = db.execute(
                "SELECT * FROM models WHERE user_id = ? ORDER BY created", (user_id,)
            ).fetchall()
        return [{**dict(row), "record": json.loads(row["record"])} for row in rows]

    # ------------------------------------------------------------------ notifications
    def notify(self, user_id: int, message: str, job_id: str | None = None) -> None:
        """An in-page notification."""
        with self.connect() as db:
            db.execute(
                "INSERT INTO notifications (user_id, job_id, message, created) VALUES (?, ?, ?, ?)",
                (user_id, job_id, message, time.time()),
            )

    def notifications(self, user_id: int, *, unseen_only: bool = False) -> list[dict]:
        """A user's notifications, newest first."""
        query = "SELECT * FROM notifications WHERE user_id = ?"
        if unseen_only:
            query += " AND seen = 0"
        with self.connect() as db:
            rows = db.execute(query + " ORDER BY id DESC LIMIT 50", (user_id,)).fetchall()
        return [dict(row) for row in rows]

    def mark_seen(self, user_id: int) -> None:
        """Mark a user's notifications seen."""
        with self.connect() as db:
            db.execute("UPDATE notifications SET seen = 1 WHERE user_id = ?", (user_id,))


def _job(row: sqlite3.Row) -> dict:
    job = dict(row)
    for column in JSON_COLUMNS:
        if job.get(column):
            job[column] = json.loads(job[column])
    job["options"] = job.get("options") or {}
    return job
