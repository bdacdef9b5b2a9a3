"""Train one configuration on a prepared data set and evaluate it on the test cells."""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

import anndata as ad
import lightning.pytorch as pl
import mudata as md
import numpy as np
import scvi
import torch

import butterflyvi as bf

from ._ablation_data import Prepared


class _EpochClock(pl.Callback):
    """Record (and optionally print) the wall time of every epoch."""

    def __init__(self, verbose: bool):
        self.verbose = verbose
        self.times: list[float] = []
        self._start = 0.0

    def on_train_epoch_start(self, trainer, pl_module):
        self._start = time.perf_counter()

    def on_validation_epoch_end(self, trainer, pl_module):
        if trainer.sanity_checking:
            return
        self.times.append(time.perf_counter() - self._start)
        if self.verbose:
            metric = trainer.callback_metrics.get("validation_translation_loss")
            print(
                f"  epoch {trainer.current_epoch}: {self.times[-1]:.1f} s"
                + (f", monitor {float(metric):.4f}" if metric is not None else ""),
                flush=True,
            )


def _train_mudata(prepared: Prepared, augment_rounds: int, seed: int):
    """MuData of the training (optionally augmented) and validation cells, and its indexing."""
    mdata = prepared.mdata
    train_pos, val_pos = prepared.split["train"], prepared.split["validation"]
    train = mdata[train_pos].copy()
    val = mdata[val_pos].copy()
    if augment_rounds > 0:
        train = bf.tl.augment(
            train,
            groupby=prepared.label_key,
            rounds=augment_rounds,
            seed=seed,
            modalities=prepared.modalities,
        )
    mods = {}
    for mod in prepared.modalities:
        a, b = train[mod], val[mod]
        joined = ad.concat([a, b], merge="first", uns_merge="first")
        joined.var = a.var.copy()
        joined.uns = dict(a.uns)
        mods[mod] = joined
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = md.MuData(mods)
    n_train = train.n_obs
    indexing = [
        np.arange(n_train),
        np.arange(n_train, n_train + val.n_obs),
        np.array([], dtype=int),
    ]
    return out, indexing


def _labelled(pred: ad.AnnData, truth: ad.AnnData, label_key: str) -> ad.AnnData:
    pred.obs[label_key] = truth.obs[label_key].to_numpy()
    return pred


def evaluate(model: bf.ButterflyModel, prepared: Prepared) -> dict[str, Any]:
    """Translation metrics of ``model`` on the test cells of ``prepared``, both directions."""
    mdata = prepared.mdata
    test = prepared.split["test"]
    x, y = prepared.modalities
    truth = {m: mdata[m][test].copy() for m in (x, y)}
    out: dict[str, Any] = {}
    for source, target in ((x, y), (y, x)):
        pred = model.translate(truth[source], source=source, preprocess=False)
        kind = prepared.kinds[prepared.modalities.index(target)]
        key = f"{source}_to_{target}"
        if kind == "accessibility":
            peaks = [p for p in prepared.eval_peaks if p in pred.var_names]
            scores = bf.metrics.accessibility(pred[:, peaks], truth[target][:, peaks])
            out[key] = {
                k: scores[k]
                for k in (
                    "auroc",
                    "aupr",
                    "auroc_per_cell_mean",
                    "auroc_per_peak_mean",
                    "n_peaks",
                    "positive_fraction",
                )
            }
        else:
            scores = bf.metrics.expression(pred, truth[target])
            out[key] = {
                k: scores[k]
                for k in (
                    "pearson_per_cell_mean",
                    "pearson_per_feature_mean",
                    "spearman_per_cell_mean",
                    "rmse",
                    "n_features_skipped",
                )
            }
        clus = bf.metrics.clustering(
            _labelled(pred, truth[source], prepared.label_key), label_key=prepared.label_key
        )
        out[key]["clustering"] = {k: clus[k] for k in ("ari", "ami", "nmi", "homogeneity")}
    return out


def run_one(
    prepared: Prepared,
    *,
    preset: str = "default",
    model_kwargs: dict | None = None,
    plan_kwargs: dict | None = None,
    train_kwargs: dict | None = None,
    augment_rounds: int = 0,
    max_epochs_pretrain: int = 10,
    max_epochs: int = 20,
    seed: int = 0,
    verbose: bool = False,
) -> dict[str, Any]:
    """Train one configuration and return its test metrics, wall time and best epoch."""
    scvi.settings.seed = seed
    torch.set_num_threads(int(os.environ.get("ABLATION_THREADS", "1")))
    train_mdata, indexing = _train_mudata(prepared, augment_rounds, seed)
    bf.ButterflyModel.setup_mudata(train_mdata, modalities=prepared.modalities)
    model = bf.ButterflyModel(train_mdata, preset=preset, **(model_kwargs or {}))
    clock = _EpochClock(verbose)
    kwargs = {
        "max_epochs_pretrain": max_epochs_pretrain,
        "max_epochs": max_epochs,
        "external_indexing": indexing,
        "plan_kwargs": plan_kwargs,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "enable_checkpointing": False,
        "callbacks": [clock],
        **(train_kwargs or {}),
    }
    start = time.perf_counter()
    model.train(**kwargs)
    train_seconds = time.perf_counter() - start
    result = evaluate(model, prepared)
    result["train_seconds"] = train_seconds
    result["best_epoch"] = getattr(model, "best_epoch_", None)
    result["n_train_pairs"] = len(indexing[0])
    result["epoch_seconds"] = clock.times
    result["history"] = {
        key: [None if v != v else float(v) for v in frame.iloc[:, 0].tolist()]
        for key, frame in model.history.items()
        if key.startswith("validation_") and ("translation" in key or key.endswith("_loss"))
    }
    return result
