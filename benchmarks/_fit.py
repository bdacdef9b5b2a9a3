"""Training a model with the epoch timer, reporting progress to a record."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np
import torch

import butterflyvi as bf

from ._timing import EpochTimer


def fit(
    model: bf.ButterflyModel,
    *,
    epochs_pretrain: int,
    epochs: int,
    indexing: list[np.ndarray],
    progress: Callable[[dict], None] | None = None,
    batch_size: int | None = None,
    threads: int | None = None,
) -> dict:
    """Train ``model`` (both phases) and return its timing and early-stopping summary.

    Parameters
    ----------
    model
        A set-up model.
    epochs_pretrain, epochs
        Maximum epochs of phase 1 and phase 2.
    indexing
        Train, validation and test positions (``external_indexing``).
    progress
        Called after every epoch with ``{"epochs_done", "phase", "last_epoch_seconds"}``.
    batch_size
        Minibatch size (``None``: the model's preset's).
    threads
        torch CPU threads to train with (``--threads``); set right before training because
        scanpy code run since (e.g. HVG selection, UMAP) may have reset torch's setting.

    Returns
    -------
    dict with ``timing`` (per phase, see :meth:`EpochTimer.summary`), ``epochs_run``,
    ``best_epoch`` (0-based, over both phases; ``None`` without validation), ``stopped_early``,
    ``wall_seconds`` (the whole ``train`` call) and ``epochs`` (per-epoch records).
    """
    if batch_size is None:
        batch_size = bf.model.PRESETS[model.preset_]["train"]["batch_size"]
    n_train = len(indexing[0])
    if n_train % batch_size == 1:
        n_train -= 1  # the model drops a last minibatch of one cell

    def on_epoch(records: list[dict]) -> None:
        if progress is not None:
            last = records[-1]
            progress(
                {
                    "epochs_done": len(records),
                    "phase": last["phase"],
                    "last_epoch_seconds": round(last["seconds"], 2),
                }
            )

    timer = EpochTimer(epochs_pretrain, n_train, on_epoch=on_epoch)
    if threads is not None:
        torch.set_num_threads(threads)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Lightning's data-loader hints
        model.train(
            max_epochs_pretrain=epochs_pretrain,
            max_epochs=epochs,
            batch_size=batch_size,
            external_indexing=indexing,
            callbacks=[timer],
            enable_progress_bar=False,
            enable_model_summary=False,
        )
    wall = time.perf_counter() - start
    epochs_run = len(timer.epochs)
    best = getattr(model, "best_epoch_", None)
    return {
        "timing": timer.summary(),
        "epochs_run": epochs_run,
        "epochs_max": epochs_pretrain + epochs,
        "best_epoch": best,
        "stopped_early": epochs_run < epochs_pretrain + epochs,
        "wall_seconds": wall,
        "epochs": timer.epochs,
    }
