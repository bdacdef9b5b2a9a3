"""A training job in a worker: prepare the upload, train with progress, evaluate on held-out
cells, save the user's model.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ._db import Database

#: Presets a member may pick on the training page.
PRESETS = ("default", "crossmp", "paper")


def progress_callback(db: Database, job_id: str, total_epochs: int):
    """A Lightning callback writing ``{"epoch", "epochs", "phase", "loss"}`` into the job at
    the end of every epoch (the job page shows it).
    """
    from lightning.pytorch.callbacks import Callback

    class Progress(Callback):
        def on_train_epoch_end(self, trainer, pl_module) -> None:
            metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
            phase = int(getattr(pl_module, "phase", 2))
            loss = metrics.get("train_loss", metrics.get("pretrain_loss"))
            db.update_job(
                job_id,
                progress={
                    "epoch": int(trainer.current_epoch) + 1,
                    "epochs": int(total_epochs),
                    "phase": phase,
                    "loss": loss,
                    "validation": metrics.get("validation_objective"),
                },
            )

    return Progress()


def held_out_figures(model, mdata, test: np.ndarray) -> dict:
    """Each direction's headline figures on the test cells beside the training mean, as the
    catalogue's cards show them.
    """
    from ..kinds import get_kind
    from ..metrics import baseline_mean

    cells = mdata[mdata.obs_names[test]].copy()
    train = mdata[mdata.obs_names[model.train_indices]].copy()
    figures = {}
    for source in model.modalities_:
        target = next(m for m in model.modalities_ if m != source)
        kind = get_kind(model.kinds_[model.modalities_.index(target)])
        metric = kind.metric
        truth = cells[target]
        prediction = model.translate(cells, source=source)
        baseline = baseline_mean(train[target], cells.n_obs, obs_names=cells.obs_names)
        keep = ("auroc", "auroc_per_peak_mean", "pearson_per_cell_mean", "pearson_per_feature_mean")
        scores = {k: v for k, v in metric(prediction, truth).items() if k in keep}
        base = {k: v for k, v in metric(baseline, truth).items() if k in keep}
        figures[f"{source} → {target}"] = {"model": scores, "training mean": base}
    return figures


def run_training(job: dict, upload: Path, db: Database, settings, log: logging.Logger, check):
    """Train a user's model from the job's paired ``upload``; record it for the user."""
    import mudata
    import torch

    from ..model import ButterflyModel
    from ..model._setup import prepare_modalities, resolve_kinds

    torch.set_num_threads(settings.torch_threads)
    options = job["options"]
    mdata = mudata.read_h5mu(upload)
    modalities = options.get("modalities") or list(mdata.mod)[:2]
    kinds = resolve_kinds(mdata, modalities, None)
    done = prepare_modalities(mdata, modalities, kinds)
    preset = options.get("preset", "default")
    log.info(
        "training %s on %d cells, modalities %s (kinds %s; preprocessed %s)",
        preset,
        mdata.n_obs,
        modalities,
        kinds,
        done,
    )
    ButterflyModel.setup_mudata(mdata, modalities=tuple(modalities))
    model = ButterflyModel(mdata, preset=preset)
    order = np.random.default_rng(0).permutation(mdata.n_obs)
    n_val = n_test = max(10, mdata.n_obs // 10)
    test, validation, train = (
        order[:n_test],
        order[n_test : n_test + n_val],
        order[n_test + n_val :],
    )
    epochs = [int(e) for e in options.get("epochs", [20, 40])]
    model.train(
        max_epochs_pretrain=epochs[0],
        max_epochs=epochs[1],
        external_indexing=[np.sort(train), np.sort(validation), np.sort(test)],
        accelerator="cpu",
        enable_progress_bar=False,
        callbacks=[progress_callback(db, job["id"], sum(epochs))],
    )
    check(job["id"])
    figures = held_out_figures(model, mdata, np.sort(test))
    log.info("held-out figures on %d test cells: %s", len(test), figures)
    out = settings.user_dir(job["user_id"]) / "models" / job["id"]
    model.save(str(out), save_anndata=False, overwrite=True)
    record = {
        "directions": [f"{modalities[0]}->{modalities[1]}", f"{modalities[1]}->{modalities[0]}"],
        "n_cells": len(train),
        "n_features": {s.modality: s.n_features for s in model.feature_spaces},
        "source": f"uploaded {job['filename']}",
        "description": (
            f"Trained by job {job['id']} ({preset} preset) on {len(train):,} of "
            f"{mdata.n_obs:,} uploaded cells; {len(validation):,} chose the epoch and "
            f"calibrated, {len(test):,} were held out for the figures."
        ),
        "metrics": figures,
        "epochs": epochs,
        "preset": preset,
        "best_epoch": model.best_epoch_,
    }
    db.add_model(job["user_id"], options["name"], str(out), record)
    log.info("saved model %r to %s", options["name"], out)
