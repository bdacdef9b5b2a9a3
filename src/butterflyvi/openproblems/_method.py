"""butterflyvi as a method of the OpenProblems ``predict_modality`` task."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
from anndata import AnnData
from mudata import MuData

from .._validation import check_positive_int, check_seed
from ._contract import check_task, normalized, prediction_file, read

METHOD_ID = "butterflyvi"

#: Each task modality as a kind of the model (the task scores normalised values, so every
#: target is fitted with a squared error on its normalised scale; proteins keep their
#: narrower networks).
KINDS = {"GEX": "expression", "ATAC": "expression", "ADT": "protein"}
#: The kernel ridge member's SVD sizes and penalty, by direction (Guanlab's, NeurIPS 2021).
RIDGE = {
    ("GEX", "ADT"): {"n_components": (300, 70), "alpha": 0.2},
    ("ADT", "GEX"): {"n_components": (300, 50), "alpha": 0.2},
    ("GEX", "ATAC"): {"n_components": (1000, 50), "alpha": 0.1},
    ("ATAC", "GEX"): {"n_components": (100, 70), "alpha": 0.1},
}
#: Minibatch steps the network trains for at most (epochs follow from the cells).
MAX_STEPS = 20_000


def _threads() -> None:
    """Torch threads as the environment asks (``OMP_NUM_THREADS``), e.g. one in the harness."""
    import torch

    value = os.environ.get("OMP_NUM_THREADS", "")
    if value.isdigit() and int(value) > 0:
        torch.set_num_threads(int(value))


def _paired(train_mod1: AnnData, train_mod2: AnnData) -> MuData:
    """The training cells as a MuData of their normalised values (``X``)."""
    parts = {}
    for name, adata in (("mod1", train_mod1), ("mod2", train_mod2)):
        parts[name] = AnnData(X=normalized(adata, f"input_train_{name}"), obs=adata.obs[[]].copy())
        parts[name].var_names = adata.var_names.astype(str)
    return MuData(parts)


def held_out(batches: np.ndarray, seed: int, fraction: float = 0.15) -> np.ndarray:
    """Positions of the training cells held out to choose the epoch and the blend: whole
    batches when there are three or more (the test cells come from unseen batches, so the
    choice should see a batch shift too), else a random ``fraction`` of the cells.
    """
    rng = np.random.default_rng(seed)
    names = pd.unique(batches)
    if len(names) >= 3:
        chosen, total = [], 0
        for name in rng.permutation(names):
            if total >= fraction * len(batches) or len(chosen) == len(names) - 1:
                break
            chosen.append(name)
            total += int((batches == name).sum())
        return np.flatnonzero(np.isin(batches, chosen))
    n = max(2, round(fraction * len(batches)))
    return np.sort(rng.choice(len(batches), n, replace=False))


def schedule(n_cells: int, max_epochs: int | None = None) -> dict[str, int]:
    """Epochs and minibatch size for ``n_cells`` training cells: the default preset's 200
    integrative epochs for small data, fewer for large (at most :data:`MAX_STEPS` minibatch
    steps), a quarter of them pretraining.
    """
    batch_size = 64 if n_cells < 20_000 else 256
    steps_per_epoch = max(1, math.ceil(0.85 * n_cells / batch_size))
    epochs = int(min(200, max(20, MAX_STEPS // steps_per_epoch)))
    if max_epochs is not None:
        epochs = check_positive_int(max_epochs, name="max_epochs")
    return {
        "max_epochs_pretrain": max(1, epochs // 4),
        "max_epochs": epochs,
        "batch_size": batch_size,
        "early_stopping_patience": max(10, epochs // 5),
    }


def predict_modality(
    train_mod1: AnnData | str | os.PathLike,
    train_mod2: AnnData | str | os.PathLike,
    test_mod1: AnnData | str | os.PathLike,
    *,
    seed: int = 0,
    max_epochs: int | None = None,
) -> AnnData:
    """Predict the test cells' second modality, as a method of the OpenProblems
    ``predict_modality`` task.

    A :class:`~butterflyvi.ButterflyModel` (``preset="default"``, every modality fitted on its
    normalised values) is trained on the paired training cells with about 15 % of them held
    out (whole batches when there are three or more, as the test cells come from unseen
    batches); then
    :func:`butterflyvi.tl.ensemble_translate` blends it with a kernel ridge (Guanlab's SVD sizes
    by direction), a kNN regressor and the training mean — the simple predictors' SVD fitted on
    training and test cells together — with weights, a scale and a threshold chosen on the
    held-out cells by the task's own scaled score.

    Parameters
    ----------
    train_mod1, train_mod2, test_mod1
        The task's files (paths or AnnData): ``layers["normalized"]``, ``uns["modality"]``
        (GEX, ADT or ATAC), ``uns["dataset_id"]``; nothing else is read (no cell types).
    seed
        Seed of the split, the network and the predictors.
    max_epochs
        Integrative epochs of the network (a quarter of them pretraining), instead of the
        schedule that follows from the number of cells (:func:`schedule`).

    Returns
    -------
    The prediction file: ``layers["normalized"]`` (CSC float32) for every feature of
    ``train_mod2`` in its order, the test cells in their order, ``uns["dataset_id"]`` and
    ``uns["method_id"] = "butterflyvi"``.

    Raises
    ------
    butterflyvi.openproblems.NotApplicable
        For a modality other than GEX, ADT or ATAC.
    """
    import scvi

    from .. import tl
    from ..model import ButterflyModel

    check_seed(seed, name="seed")
    train_mod1 = read(train_mod1, "input_train_mod1")
    train_mod2 = read(train_mod2, "input_train_mod2")
    test_mod1 = read(test_mod1, "input_test_mod1")
    direction = check_task(train_mod1, train_mod2, test_mod1)
    _threads()
    scvi.settings.seed = seed
    reference = _paired(train_mod1, train_mod2)
    ButterflyModel.setup_mudata(
        reference,
        modalities=("mod1", "mod2"),
        kinds={"mod1": KINDS[direction[0]], "mod2": KINDS[direction[1]]},
        counts_layer=None,
    )
    model = ButterflyModel(reference)
    batches = train_mod1.obs.get("batch", pd.Series("one", index=train_mod1.obs_names))
    validation = held_out(batches.astype(str).to_numpy(), seed)
    training = np.setdiff1d(np.arange(train_mod1.n_obs), validation)
    model.train(
        **schedule(len(training), max_epochs),
        external_indexing=[training, validation, np.zeros(0, dtype=np.int64)],
        accelerator="auto",
        enable_progress_bar=False,
        enable_model_summary=False,
        calibrate=False,  # the blend is chosen on the held-out cells instead
    )
    query = AnnData(X=normalized(test_mod1, "input_test_mod1"), obs=test_mod1.obs[[]].copy())
    query.var_names = train_mod1.var_names.astype(str)
    prediction = tl.ensemble_translate(
        query,
        reference=reference,
        source="mod1",
        model=model,
        transductive=True,
        ridge_kwargs=RIDGE[direction],
        random_state=seed,
    )
    out = prediction_file(prediction.X, test_mod1, train_mod2, METHOD_ID)
    out.uns["butterflyvi_ensemble"] = {
        k: prediction.uns["butterflyvi_translation"][k]
        for k in ("weights", "scale", "threshold", "validation_score", "member_validation_scores")
    }
    return out
