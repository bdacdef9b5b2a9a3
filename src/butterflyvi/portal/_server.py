"""Running the portal: the web server, local worker processes, and the job supervisor."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from ._auth import ensure_admin
from ._db import Database
from ._queue import enqueue, make_huey, set_runner
from ._settings import ADMIN_TOKEN_FILE, Settings, make_private, save

logger = logging.getLogger("butterflyvi.portal")

#: Seconds between two rounds of the supervisor.
SUPERVISE_SECONDS = 3.0
#: A job is run at most this many times (the first run and one retry).
MAX_ATTEMPTS = 2


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_jobs(settings: Settings, db: Database, huey, *, startup: bool = False) -> None:
    """Settle jobs whose worker is gone; re-enqueue queued jobs at start-up.

    A running job is lost when its worker ran on this machine and its process is gone, or
    when its heartbeat is older than ``settings.job_timeout`` (a worker elsewhere). A lost
    job is retried once, then failed with the reason; it never stays "running".
    """
    host = socket.gethostname()
    now = time.time()
    for job in db.jobs(statuses=("running",)):
        worker = job.get("worker") or ""
        worker_host, _, pid = worker.rpartition(":")
        local_dead = worker_host == host and pid.isdigit() and not _alive(int(pid))
        stale = (now - (job.get("heartbeat") or 0)) > settings.job_timeout
        if not (local_dead or stale):
            continue
        reason = (
            f"the worker {worker} stopped while running the job"
            if local_dead
            else f"no sign of life from worker {worker} for {settings.job_timeout:.0f} s"
        )
        if job["attempts"] < MAX_ATTEMPTS and db.requeue(job["id"]):
            logger.warning("job %s: %s; retrying it", job["id"], reason)
            enqueue(huey, job["id"])
        elif db.finish(job["id"], "failed", error=f"{reason} (after {job['attempts']} attempts)"):
            logger.warning("job %s failed: %s", job["id"], reason)
            from ._notify import notify_finished

            notify_finished(settings, db, job["id"])
    if startup:
        for job in db.jobs(statuses=("queued",)):
            enqueue(huey, job["id"])  # idempotent: a worker claims a job once


def expire_jobs(settings: Settings, db: Database) -> int:
    """Delete ended jobs older than ``settings.keep_days`` with their files; how many."""
    if settings.keep_days is None:
        return 0
    import shutil

    old = db.old_jobs(time.time() - settings.keep_days * 86400)
    for job in old:
        shutil.rmtree(settings.job_dir(job["user_id"], job["id"]), ignore_errors=True)
        db.delete_job(job["id"])
        logger.info("job %s deleted after %s days (--keep-days)", job["id"], settings.keep_days)
    return len(old)


class WorkerPool:
    """Local worker processes (``butterflyvi worker``), restarted when they die."""

    def __init__(self, settings: Settings, n: int):
        self.settings = settings
        self.n = n
        self.processes: list[subprocess.Popen] = []

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "butterflyvi",
            "worker",
            "--data-dir",
            str(self.settings.data_dir),
        ]
        if self.settings.queue:
            cmd += ["--queue", self.settings.queue]
        return cmd

    def start(self) -> None:
        self.processes = [self._spawn() for _ in range(self.n)]

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen(self.command(), env={**os.environ, **self.settings.to_env()})

    def supervise(self) -> None:
        for i, process in enumerate(self.processes):
            if process.poll() is not None:
                logger.warning(
                    "worker %d exited (%s); starting another", process.pid, process.returncode
                )
                self.processes[i] = self._spawn()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.time() + 10
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                process.kill()


def serve(settings: Settings, *, host: str, port: int, workers: int) -> int:
    """Run the portal until interrupted: web server, ``workers`` local workers, supervisor."""
    import uvicorn

    from ._app import create_app

    make_private(settings.data_dir)
    save(settings)
    db = Database(settings.db_path)
    token = ensure_admin(settings, db)
    if token is not None:
        print(
            f"First start: created user 'admin'. Admin token (shown once, also in "
            f"{settings.data_dir / ADMIN_TOKEN_FILE}, mode 0600):\n{token}",
            flush=True,
        )
    huey = make_huey(settings)
    recover_jobs(settings, db, huey, startup=True)
    pool = WorkerPool(settings, workers)
    stop = threading.Event()

    def supervisor() -> None:
        while not stop.wait(SUPERVISE_SECONDS):
            try:
                pool.supervise()
                recover_jobs(settings, db, huey)
                expire_jobs(settings, db)
            except Exception:  # keep supervising whatever one round met
                logger.exception("supervisor round failed")

    thread = threading.Thread(target=supervisor, daemon=True)
    # uvicorn re-raises the SIGTERM it shut down on; with the default action the process
    # would die before the workers are stopped and leave them orphaned.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        pool.start()
        thread.start()
        app = create_app(settings)
        print(
            f"butterflyvi portal on http://{host}:{port} ({workers} worker(s), data in "
            f"{settings.data_dir})",
            flush=True,
        )
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()  # a supervisor round finishing now would start workers anew
        pool.stop()
    return 0


def _exit_on_signal(signum: int, frame) -> None:
    raise SystemExit(0)


def run_worker(settings: Settings) -> int:
    """Consume the queue in this process (one job at a time, one model cache)."""
    from ._jobs import JobRunner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(process)d %(message)s")
    make_private(settings.data_dir)
    huey = make_huey(settings)
    runner = JobRunner(settings)
    set_runner(runner)
    consumer = huey.create_consumer(
        workers=1,
        worker_type="thread",
        periodic=False,
        initial_delay=0.1,
        max_delay=1.0,
        check_worker_health=False,
    )
    consumer.run()  # huey stops on SIGTERM (at once) or SIGINT (after the running job)
    interrupted = runner.release_current()
    if interrupted is None:
        return 0
    enqueue(huey, interrupted)
    # The job's thread is still inside it (maybe holding an HDF5 file lock); leave without
    # the interpreter's shutdown, which could wait on that thread.
    logging.shutdown()
    os._exit(0)
