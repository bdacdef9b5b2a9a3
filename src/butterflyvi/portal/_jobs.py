"""Running a job in a worker: translate (or train), cluster, draw, write results atomically."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._db import Database
from ._inspect import open_modality
from ._models import ModelCache, find_model
from ._notify import notify_finished
from ._settings import Settings

logger = logging.getLogger("butterflyvi.portal.worker")

#: Files of a job folder.
UPLOAD_STEM = "upload"
RESULT_FILE = "result.h5ad"
UMAP_FILE = "umap.png"
LOG_FILE = "job.log"

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
        prediction = model.translate(adata, source=job["source"], missing="auto")
        overlap = prediction.uns.get("feature_match")
        log.info(
            "translated %s → %s in %.1f s; feature overlap %s",
            job["source"],
            job["target"],
            time.perf_counter() - started,
            overlap,
        )
        self.db.update_job(job["id"], n_cells=int(adata.n_obs), feature_overlap=overlap)
        self._check(job["id"])
        embed(prediction, log)
        self._check(job["id"])
        write_atomically(prediction, folder / RESULT_FILE)
        draw_umap(prediction, folder / UMAP_FILE, title=f"{job['target']} from {job['source']}")
        log.info(
            "wrote %s and %s (%.1f s in all)", RESULT_FILE, UMAP_FILE, time.perf_counter() - started
        )

    # ------------------------------------------------------------------ training
    def _train(self, job: dict, folder: Path, log: logging.Logger) -> None:
        import mudata
        import torch

        from ..model import ButterflyModel
        from ..model._setup import prepare_modalities, resolve_kinds

        torch.set_num_threads(self.settings.torch_threads)
        options = job["options"]
        upload = next(folder.glob(f"{UPLOAD_STEM}.*"))
        mdata = mudata.read_h5mu(upload)
        modalities = options.get("modalities") or list(mdata.mod)[:2]
        kinds = resolve_kinds(mdata, modalities, None)
        done = prepare_modalities(mdata, modalities, kinds)
        log.info(
            "training on %d cells, modalities %s (kinds %s; preprocessed %s)",
            mdata.n_obs,
            modalities,
            kinds,
            done,
        )
        ButterflyModel.setup_mudata(mdata, modalities=tuple(modalities))
        model = ButterflyModel(mdata)
        epochs = options.get("epochs", [20, 40])
        model.train(
            max_epochs_pretrain=int(epochs[0]),
            max_epochs=int(epochs[1]),
            accelerator="cpu",
            enable_progress_bar=False,
        )
        self._check(job["id"])
        out = self.settings.user_dir(job["user_id"]) / "models" / job["id"]
        model.save(str(out), save_anndata=False, overwrite=True)
        record = {
            "directions": [
                f"{modalities[0]}->{modalities[1]}",
                f"{modalities[1]}->{modalities[0]}",
            ],
            "n_cells": int(mdata.n_obs),
            "n_features": {s.modality: s.n_features for s in model.feature_spaces},
            "source": f"uploaded {job['filename']}",
            "description": f"Trained by job {job['id']} on {mdata.n_obs:,} uploaded cells.",
            "epochs": [int(e) for e in epochs],
            "best_epoch": model.best_epoch_,
        }
        self.db.add_model(job["user_id"], options["name"], str(out), record)
        log.info("saved model %r to %s", options["name"], out)


def embed(prediction, log: logging.Logger | None = None) -> None:
    """Leiden clusters (``obs["leiden"]``) and a UMAP (``obsm["X_umap"]``) of a translation."""
    from .._neighbors import embed as embedding

    n = prediction.n_obs
    if n < 4:
        prediction.obs["leiden"] = "0"
        prediction.obsm["X_umap"] = np.zeros((n, 2), dtype=np.float32)
        return
    found = embedding(prediction.X, n_pcs=50, n_neighbors=15, resolution=1.0, umap=True)
    prediction.obs["leiden"] = pd.Categorical(found.leiden)
    prediction.obsm["X_umap"] = found.umap.astype(np.float32)
    if log is not None:
        log.info("%d Leiden clusters", prediction.obs["leiden"].nunique())


def write_atomically(adata, path: Path) -> None:
    """Write an AnnData next to ``path`` and move it into place (never a half-written file)."""
    partial = path.with_name(path.name + ".part.h5ad")
    adata.write_h5ad(partial, compression="gzip")
    os.replace(partial, path)


def draw_umap(prediction, path: Path, *, title: str) -> None:
    """A PNG of the UMAP coloured by Leiden cluster (written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xy = prediction.obsm["X_umap"]
    labels = prediction.obs["leiden"].astype(str).to_numpy()
    clusters = sorted(set(labels), key=lambda c: (len(c), c))
    cmap = plt.get_cmap("tab20")
    fig, ax = plt.subplots(figsize=(6, 5), dpi=110)
    size = max(2.0, min(30.0, 4000.0 / max(len(labels), 1)))
    for i, cluster in enumerate(clusters):
        chosen = labels == cluster
        ax.scatter(
            xy[chosen, 0], xy[chosen, 1], s=size, color=cmap(i % 20), label=cluster, linewidths=0
        )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    ax.set_title(f"{title}: {len(labels):,} cells, {len(clusters)} Leiden clusters", fontsize=10)
    if len(clusters) <= 30:
        ax.legend(
            title="cluster",
            markerscale=2,
            fontsize=7,
            loc="center left",
            bbox_to_anchor=(1.0, 0.5),
            frameon=False,
        )
    fig.tight_layout()
    partial = path.with_name(path.name + ".part.png")
    fig.savefig(partial, format="png")
    plt.close(fig)
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
        "umap": folder / UMAP_FILE,
        "log": folder / LOG_FILE,
    }
