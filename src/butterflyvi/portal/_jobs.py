"""Running a job in a worker: translate (or train), cluster, draw, write results atomically."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from ._db import Database
from ._inspect import open_modality
from ._models import ModelCache, find_model
from ._notify import notify_finished
from ._result import CONFIDENCE_FILE, MAP_FILE, SUMMARY_FILE, add_to_file, describe, draw
from ._settings import Settings

logger = logging.getLogger("butterflyvi.portal.worker")

#: Files of a job folder.
UPLOAD_STEM = "upload"
RESULT_FILE = "result.h5ad"
LOG_FILE = "job.log"

#: Intervals (two dense cells × features layers) only up to this many predicted values: above
#: it they would dominate the worker's memory and the download (50 M: 9,200 cells of 5,429
#: peaks, 30,000 cells of 1,677 genes).
MAX_INTERVAL_ENTRIES = 50_000_000

#: Seconds between heartbeats of a running job.
HEARTBEAT_SECONDS = 5.0


class Cancelled(Exception):
    """The job was cancelled while it ran."""


def worker_name() -> str:
    """``host:pid`` of this worker process."""
    return f"{socket.gethostname()}:{os.getpid()}"


class JobRunner:
    """Runs jobs in one worker process, with one model cache."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.db = Database(settings.db_path)
        self.cache = ModelCache(self.db)
        self.current: str | None = None

    def release_current(self) -> str | None:
        """Put the job this worker is running back in the queue; its id, if there was one."""
        job_id = self.current
        if job_id is not None and self.db.release(job_id, worker_name()):
            logger.warning("worker stopping: job %s goes back to the queue", job_id)
            return job_id
        return None

    def run(self, job_id: str) -> None:
        """Claim the job (if still queued) and run it to an end state."""
        job = self.db.claim(job_id, worker_name())
        if job is None:
            return  # cancelled, already done, or taken by another worker
        self.current = job_id
        folder = self.settings.job_dir(job["user_id"], job_id)
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(folder / LOG_FILE)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        job_logger = logging.getLogger(f"butterflyvi.portal.job.{job_id}")
        job_logger.setLevel(logging.INFO)
        job_logger.addHandler(handler)
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job_id, stop), daemon=True)
        beat.start()
        job_logger.info(
            "job %s (%s) started on %s, attempt %d",
            job_id,
            job["kind"],
            worker_name(),
            job["attempts"],
        )
        try:
            if job["kind"] == "train":
                self._train(job, folder, job_logger)
            else:
                self._translate(job, folder, job_logger)
            if self.db.finish(job_id, "succeeded"):
                job_logger.info("job succeeded")
                notify_finished(self.settings, self.db, job_id)
        except Cancelled:
            job_logger.info("job cancelled")
        except Exception as error:
            job_logger.error("job failed: %s\n%s", error, traceback.format_exc())
            if self.db.finish(job_id, "failed", error=_message(error)):
                notify_finished(self.settings, self.db, job_id)
        finally:
            self.current = None
            stop.set()
            beat.join(timeout=2)
            job_logger.removeHandler(handler)
            handler.close()
            self._record_bytes(job_id, folder)

    def _heartbeat(self, job_id: str, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            self.db.heartbeat(job_id)

    def _check(self, job_id: str) -> None:
        job = self.db.job(job_id)
        if job is None or job["status"] != "running":
            raise Cancelled()

    def _record_bytes(self, job_id: str, folder: Path) -> None:
        if not folder.exists():
            return
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        if self.db.job(job_id) is not None:
            self.db.update_job(job_id, bytes=size)

    # ------------------------------------------------------------------ translation
    def _translate(self, job: dict, folder: Path, log: logging.Logger) -> None:
        import torch

        torch.set_num_threads(self.settings.torch_threads)
        user = self.db.user(job["user_id"])
        record = find_model(self.db, user, job["model"])
        if record is None:
            raise ValueError(f"model: expected a model you may use, found {job['model']!r}.")
        started = time.perf_counter()
        model = self.cache.get(user, job["model"], record["owner"])
        log.info("model %s loaded (%.1f s)", job["model"], time.perf_counter() - started)
        self._check(job["id"])
        upload = next(folder.glob(f"{UPLOAD_STEM}.*"))
        adata = open_modality(upload, job["source"], backed=False)
        log.info("read %d cells × %d features from %s", adata.n_obs, adata.n_vars, job["filename"])
        calibrated = bool(getattr(model, "calibration_", None))
        target = model.feature_spaces[model.modalities_.index(job["target"])]
        entries = adata.n_obs * target.n_features
        interval = 0.9 if calibrated and entries <= MAX_INTERVAL_ENTRIES else None
        if calibrated and interval is None:
            log.info(
                "no intervals: %s cells × %s features is more than %s values (the confidence "
                "is computed; run model.translate(..., interval=0.9, out_file=...) for them)",
                f"{adata.n_obs:,}",
                f"{target.n_features:,}",
                f"{MAX_INTERVAL_ENTRIES:,}",
            )
        # streamed to the result file block by block: memory stays that of a block, not of
        # cells × features (100,000 × 5,429 peaks would be gigabytes)
        with _written_in_place(folder / RESULT_FILE) as partial:
            prediction = model.translate(
                adata, source=job["source"], missing="auto", interval=interval, out_file=partial
            )
            with contextlib.closing(prediction.file):
                overlap = prediction.uns.get("feature_match")
                trust = ["confidence"] * calibrated + ["90 % intervals"] * (interval is not None)
                log.info(
                    "translated %s → %s in %.1f s (%s); feature match %s",
                    job["source"],
                    job["target"],
                    time.perf_counter() - started,
                    " and ".join(trust) or "no calibration",
                    overlap,
                )
                self.db.update_job(job["id"], n_cells=int(adata.n_obs), feature_overlap=overlap)
                self._check(job["id"])
                placed = describe(model, adata, prediction, source=job["source"], log=log)
            log.info(
                "cells placed (%s map) at %.1f s",
                placed.summary["map"],
                time.perf_counter() - started,
            )
            self._check(job["id"])
            add_to_file(partial, placed)
        draw(model, placed, folder, title=f"{job['target']} from {job['source']}")
        log.info("wrote the result and its pictures (%.1f s in all)", time.perf_counter() - started)

    # ------------------------------------------------------------------ training
    def _train(self, job: dict, folder: Path, log: logging.Logger) -> None:
        from ._training import run_training

        upload = next(folder.glob(f"{UPLOAD_STEM}.*"))
        run_training(job, upload, self.db, self.settings, log, self._check)


@contextlib.contextmanager
def _written_in_place(path: Path):
    """A partial file next to ``path``, moved into place when the block ends and removed when
    it fails: a result is never served half-written.
    """
    partial = path.with_name(f"{path.name}.part.h5ad")
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)


def _message(error: Exception) -> str:
    """The text a user sees for a failed job (no traceback; that goes to the job log)."""
    text = str(error).strip() or type(error).__name__
    return text[:2000]


def job_files(settings: Settings, job: dict) -> dict[str, Any]:
    """Paths of a job's result, picture and log."""
    folder = settings.job_dir(job["user_id"], job["id"])
    return {
        "folder": folder,
        "result": folder / RESULT_FILE,
        "umap": folder / MAP_FILE,
        "confidence": folder / CONFIDENCE_FILE,
        "summary": folder / SUMMARY_FILE,
        "log": folder / LOG_FILE,
    }
