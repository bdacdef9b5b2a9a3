"""The steps of ``butterflyvi demo``: data, training, held-out evaluation."""

from __future__ import annotations

import numpy as np
from mudata import MuData

from ._timing import EpochTimer

MODALITIES = ("rna", "atac")


def split_positions(n_obs: int, seed: int) -> list[np.ndarray]:
    """Seeded 80/10/10 split of ``n_obs`` cells: sorted train, validation and test positions."""
    order = np.random.default_rng(seed).permutation(n_obs)
    n_train, n_val = round(0.8 * n_obs), round(0.1 * n_obs)
    parts = (order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :])
    return [np.sort(part) for part in parts]


def prepare(seed: int, *, n_cells: int | None = None) -> tuple[MuData, list[np.ndarray]]:
    """The bundled SNARE-seq demo, preprocessed, with a seeded 80/10/10 split.

    ``n_cells`` keeps a seeded random subset of the cells (in their original order), for quick
    smoke runs. ``mdata.obs["split"]`` records each cell's part (``train``, ``validation``,
    ``test``).
    """
    import pandas as pd

    import butterflyvi as bf

    mdata = bf.datasets.snareseq_demo()
    if n_cells is not None and n_cells < mdata.n_obs:
        keep = np.sort(np.random.default_rng(seed).choice(mdata.n_obs, n_cells, replace=False))
        mdata = mdata[keep].copy()
    print(
        f"Data: bundled SNARE-seq demo, {mdata.n_obs:,} cells, {mdata['rna'].n_vars:,} genes, "
        f"{mdata['atac'].n_vars:,} peaks (raw counts).",
        flush=True,
    )
    bf.pp.preprocess_rna(mdata["rna"])
    bf.pp.preprocess_atac(mdata["atac"])
    mdata.update()
    print(
        f"Preprocessed: {mdata['rna'].n_vars:,} genes (log-normalised, highly variable), "
        f"{mdata['atac'].n_vars:,} peaks (open in >= 0.5 % of cells, TF-IDF scaled to [0, 1]).",
        flush=True,
    )
    split = split_positions(mdata.n_obs, seed)
    labels = np.empty(mdata.n_obs, dtype=object)
    for name, positions in zip(("train", "validation", "test"), split, strict=True):
        labels[positions] = name
    mdata.obs["split"] = pd.Categorical(labels, categories=["train", "validation", "test"])
    return mdata, split


def train_model(
    mdata: MuData,
    split: list[np.ndarray],
    *,
    epochs_pretrain: int,
    epochs: int,
    seed: int,
    accelerator: str = "auto",
    progress: bool = True,
):
    """Register ``mdata``, build the default model and train it on the split's train cells."""
    import scvi

    from ..model import ButterflyModel

    scvi.settings.seed = seed
    ButterflyModel.setup_mudata(mdata, modalities=MODALITIES)
    model = ButterflyModel(mdata)
    print(model._model_summary_string, flush=True)
    timer = EpochTimer(epochs_pretrain)
    model.train(
        max_epochs_pretrain=epochs_pretrain,
        max_epochs=epochs,
        batch_size=64,
        external_indexing=split,
        accelerator=accelerator,
        callbacks=[timer],
        enable_progress_bar=progress,
    )
    return model, timer


def evaluate(model, mdata: MuData, split: list[np.ndarray]) -> dict[str, dict]:
    """Translate every cell both ways (added to ``mdata``) and score the held-out test cells.

    Returns ``{"model": {...}, "baseline": {...}}``, each with ``rna_to_atac`` (accessibility
    metrics) and ``atac_to_rna`` (expression metrics) on the test cells; the baseline predicts
    every test cell as the per-feature mean of the training cells.
    """
    import butterflyvi as bf

    train_names = mdata.obs_names[split[0]]
    test_names = mdata.obs_names[split[2]]
    pred_atac = model.translate(mdata, source="rna", add_to_mdata=True)
    pred_rna = model.translate(mdata, source="atac", add_to_mdata=True)
    truth_atac = mdata["atac"][test_names]
    truth_rna = mdata["rna"][test_names]
    n_test = len(test_names)
    base_atac = bf.metrics.baseline_mean(mdata["atac"][train_names], n_test, obs_names=test_names)
    base_rna = bf.metrics.baseline_mean(mdata["rna"][train_names], n_test, obs_names=test_names)
    return {
        "model": {
            "rna_to_atac": bf.metrics.accessibility(pred_atac[test_names], truth_atac),
            "atac_to_rna": bf.metrics.expression(pred_rna[test_names], truth_rna),
        },
        "baseline": {
            "rna_to_atac": bf.metrics.accessibility(base_atac, truth_atac),
            "atac_to_rna": bf.metrics.expression(base_rna, truth_rna),
        },
    }
