"""``butterflyvi serve`` and ``butterflyvi worker``: the web portal and its workers."""

from __future__ import annotations

import argparse

from ._command import Command
from ._errors import InputError


def _portal_missing(error: ImportError) -> InputError:
    return InputError(
        f"the portal needs its optional dependencies: pip install 'butterflyvi[portal]' ({error})."
    )


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", required=True, metavar="DIR", help="portal data folder")
    parser.add_argument(
        "--queue",
        metavar="URL",
        help="redis://HOST:PORT/DB for a Redis queue shared with workers on other machines "
        "(default: an SQLite queue in DIR)",
    )


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``butterflyvi serve``."""
    _common(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (8000)")
    parser.add_argument("--workers", type=int, default=1, help="local worker processes (1)")
    parser.add_argument("--max-upload-mb", type=int, help="largest upload in MB (2048)")
    parser.add_argument("--max-jobs", type=int, help="queued + running jobs per user (8)")
    parser.add_argument("--max-user-gb", type=float, help="disk per user in GB (20)")
    parser.add_argument(
        "--job-timeout",
        type=float,
        help="seconds without heartbeat before a running job counts as lost (60)",
    )
    parser.add_argument("--threads", type=int, help="torch threads per worker (1)")
    parser.add_argument("--smtp-host", help="SMTP server for e-mail notifications")
    parser.add_argument("--smtp-port", type=int, default=25)
    parser.add_argument("--smtp-from", default="butterflyvi@localhost")
    parser.add_argument(
        "--keep-days",
        type=float,
        metavar="N",
        help="delete ended jobs and their files after N days (default: kept)",
    )
    parser.add_argument(
        "--registration",
        choices=("closed", "approval", "open"),
        help="who may sign up on the page: closed (default: the admin adds users), approval "
        "(an admin lets them in), open",
    )
    parser.add_argument(
        "--allow-private-urls",
        action="store_true",
        default=None,
        help="let webhooks and uploads by link reach private and loopback addresses "
        "(refused by default)",
    )


def _worker_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``butterflyvi worker``."""
    _common(parser)


def _settings(args: argparse.Namespace):
    from ..portal import SmtpSettings, from_data_dir

    overrides = {
        "queue": args.queue,
        "max_upload_bytes": None
        if getattr(args, "max_upload_mb", None) is None
        else args.max_upload_mb * 1024**2,
        "max_active_jobs": getattr(args, "max_jobs", None),
        "max_user_bytes": None
        if getattr(args, "max_user_gb", None) is None
        else int(args.max_user_gb * 1024**3),
        "job_timeout": getattr(args, "job_timeout", None),
        "torch_threads": getattr(args, "threads", None),
        "allow_private_urls": getattr(args, "allow_private_urls", None),
        "keep_days": getattr(args, "keep_days", None),
        "registration": getattr(args, "registration", None),
    }
    if getattr(args, "smtp_host", None):
        overrides["smtp"] = SmtpSettings(
            host=args.smtp_host, port=args.smtp_port, sender=args.smtp_from
        )
    return from_data_dir(args.data_dir, **overrides)


def run_serve(args: argparse.Namespace) -> int:
    """Serve the portal."""
    if args.workers < 0:
        raise InputError(f"--workers: expected 0 or more, found {args.workers}.")
    try:
        from ..portal import serve
    except ImportError as error:
        raise _portal_missing(error) from None
    return serve(_settings(args), host=args.host, port=args.port, workers=args.workers)


def run_worker(args: argparse.Namespace) -> int:
    """Run one worker."""
    try:
        from ..portal import run_worker as worker
    except ImportError as error:
        raise _portal_missing(error) from None
    return worker(_settings(args))


SERVE = Command(
    "serve",
    help="run the web portal (sign in, upload cells, translate, results with UMAPs)",
    description="Run the butterflyvi portal: a web server with the REST API (/api/v1, OpenAPI at "
    "/docs) and pages, a job queue and worker processes. On first start with an empty "
    "DIR an admin token is created, printed once and written to DIR/admin_token.",
    arguments=_serve_arguments,
    run=run_serve,
)


WORKER = Command(
    "worker",
    help="run one portal worker (e.g. on another machine sharing DIR and a Redis queue)",
    description="Consume the portal's job queue: one job at a time, one model cache.",
    arguments=_worker_arguments,
    run=run_worker,
)

COMMANDS = (
    SERVE,
    WORKER,
)
