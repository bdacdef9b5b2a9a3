"""The job queue (huey): SQLite storage in the data directory, or Redis for scale-out.

The queue only carries job ids; the job's state lives in the portal database, so a job
enqueued twice runs once (a worker claims it atomically) and a restart re-enqueues what is
still queued.
"""

from __future__ import annotations

from typing import Any

from ._settings import Settings

#: The name both the web process and the workers register the task under.
TASK_NAME = "butterflyvi.process_job"

#: The runner of this process (set by a worker before it consumes the queue).
_RUNNER: Any = None


def make_huey(settings: Settings):
    """The huey instance of ``settings`` with the job task registered."""
    if settings.queue:
        from huey import RedisHuey

        if not settings.queue.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"queue: expected redis://HOST:PORT/DB, found {settings.queue!r}.")
        huey = RedisHuey("butterflyvi", url=settings.queue, results=False)
    else:
        from huey import SqliteHuey

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey("butterflyvi", filename=str(settings.queue_path), results=False)
    huey.process_job = huey.task(name=TASK_NAME)(process_job)
    return huey


def process_job(job_id: str) -> None:
    """The task: run one job in this worker."""
    if _RUNNER is None:  # pragma: no cover - only workers consume the queue
        raise RuntimeError("process_job runs in a worker (butterflyvi worker).")
    _RUNNER.run(job_id)


def set_runner(runner: Any) -> None:
    """Make ``runner`` (a :class:`~butterflyvi.portal._jobs.JobRunner`) run this process's jobs."""
    global _RUNNER
    _RUNNER = runner


def enqueue(huey, job_id: str) -> None:
    """Put a job id on the queue."""
    huey.process_job(job_id)
