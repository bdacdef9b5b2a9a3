"""Perturbation-response benchmark on Kang et al. 2018: leave one cell type out."""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
import scanpy as sc
import scvi
from anndata import AnnData

import butterflyvi as bf

from ._fit import fit
from ._report import Record
from ._scgen_like import scgen_like
from ._timing import peak_rss_gb

#: The cell types of the Kang data, CD4T first (the held-out type of scGen and scButterfly).
CELL_TYPES = ("CD4T", "CD14+Mono", "FCGR3A+Mono", "B", "NK", "CD8T", "Dendritic")
N_HVG = 2000
#: Predictors scored on each held-out type, and the numbers averaged over the types.
PREDICTORS = (
    "model",
    "baseline_control",
    "baseline_shift",
    "baseline_knn15",
    "baseline_scgen_like",
)
SUMMARY_KEYS = (
    "deg_overlap",
    "r2_all_boot_mean",
    "r2_degs_boot_mean",
    "r2_sd_all_boot_mean",
    "r2_sd_degs_boot_mean",
    "r2_all",
    "r2_degs",
)
QUICK_HVG = 500
QUICK_CELLS = 600


def load_kang(*, quick: bool, genes: Literal["hvg", "all"] = "hvg") -> tuple[AnnData, list[str]]:
    """Kang data (already log-normalised), restricted to highly variable genes.

    The HVGs are chosen with ``scanpy.pp.highly_variable_genes`` (flavor ``"seurat"``, meant
    for log data) on all cells; nothing is normalised again. ``quick`` keeps a seeded
    subsample of cells and fewer genes. ``genes="all"`` keeps every gene of scGen's file
    (6,998), as scGen and scButterfly ran it.
    """
    adata = bf.datasets.load_shared("kang")
    notes = []
    if quick:
        keep = np.sort(np.random.RandomState(0).permutation(adata.n_obs)[:QUICK_CELLS])
        adata = adata[keep].copy()
        notes.append(f"--quick: a seeded random subsample of {adata.n_obs} cells.")
    if genes == "hvg":
        n_top = QUICK_HVG if quick else N_HVG
        work = AnnData(X=adata.X, var=adata.var[[]])
        sc.pp.highly_variable_genes(work, n_top_genes=n_top, flavor="seurat")
        adata = adata[:, work.var["highly_variable"].to_numpy()].copy()
    else:
        adata = adata.copy()
    adata.obs = adata.obs[["condition", "cell_type"]].copy()
    adata.uns.clear()
    for mapping in (adata.obsm, adata.obsp):
        for key in list(mapping):
            del mapping[key]
    chosen = (
        f"{adata.n_vars} HVGs from scanpy.pp.highly_variable_genes(flavor='seurat') on the log "
        "data of all cells"
        if genes == "hvg"
        else f"every gene of scGen's file ({adata.n_vars})"
    )
    notes.append(f"Already log-normalised (not normalised again); {chosen}.")
    return adata, notes


def _shift_baseline(train: AnnData, ctrl: AnnData) -> AnnData:
    """Control cells plus the mean stimulated − control difference of the training types."""
    is_stim = (train.obs["condition"] == "stimulated").to_numpy()
    delta = np.asarray(train.X[is_stim].mean(axis=0) - train.X[~is_stim].mean(axis=0)).ravel()
    X = ctrl.X.toarray() if hasattr(ctrl.X, "toarray") else np.asarray(ctrl.X)
    return AnnData(X=np.maximum(X + delta, 0).astype(np.float32), var=ctrl.var[[]])


def _mean(adata: AnnData) -> np.ndarray:
    return np.asarray(adata.X.mean(axis=0), dtype=np.float64).ravel()


def mean_difference_overlap(
    pred: AnnData, ctrl: AnnData, stim: AnnData, *, top_n: int = 100
) -> int:
    """Overlap of the top genes by mean difference (predicted − control vs real − control).

    A complement to the Wilcoxon DEG overlap: a rank test of a dense prediction against the
    zero-inflated control cells favours lowly expressed genes (any small positive predicted
    value beats the control zeros), whatever the predicted effect size.
    """
    real = np.argsort(-(_mean(stim) - _mean(ctrl)))[:top_n]
    predicted = np.argsort(-(_mean(pred) - _mean(ctrl)))[:top_n]
    return int(np.intersect1d(real, predicted).size)


def _metrics(pred: AnnData, ctrl: AnnData, stim: AnnData, seed: int) -> dict:
    out = bf.metrics.perturbation(pred, ctrl, stim, seed=seed)
    out["mean_difference_overlap"] = mean_difference_overlap(pred, ctrl, stim)
    return out


def run_holdout(
    adata: AnnData,
    holdout: str,
    *,
    preset: str,
    seed: int,
    epochs_pretrain: int,
    epochs: int,
    record_progress,
    threads: int | None = None,
) -> dict:
    """Train without ``holdout`` and predict its stimulated state from its control cells."""
    start = time.perf_counter()
    pairs = bf.tl.pair_by_ot(adata, holdout=holdout, seed=seed)
    ot_seconds = time.perf_counter() - start
    n = pairs.n_obs
    perm = np.random.RandomState(seed).permutation(n)
    n_val = max(2, int(0.1 * n))
    indexing = [np.sort(perm[n_val:]), np.sort(perm[:n_val]), np.array([], dtype=int)]
    scvi.settings.seed = seed
    bf.ButterflyModel.setup_mudata(
        pairs, modalities=("control", "stimulated"), kinds=("expression", "expression")
    )
    model = bf.ButterflyModel(pairs, preset=preset)
    training = fit(
        model,
        epochs_pretrain=epochs_pretrain,
        epochs=epochs,
        indexing=indexing,
        progress=record_progress,
        threads=threads,
    )
    held = (adata.obs["cell_type"] == holdout).to_numpy()
    is_ctrl = (adata.obs["condition"] == "control").to_numpy()
    ctrl, stim = adata[held & is_ctrl].copy(), adata[held & ~is_ctrl].copy()
    pred = model.translate(ctrl, source="control", preprocess=False)
    knn = bf.tl.knn_translate(
        ctrl,
        reference=pairs,
        source="control",
        target="stimulated",
        n_neighbors=15,
        n_folds=1,
        random_state=seed,
    )
    start = time.perf_counter()
    scgen = scgen_like(adata[~(held & ~is_ctrl)].copy(), ctrl, seed=seed)
    scgen_seconds = time.perf_counter() - start
    return {
        "n_pairs": int(n),
        "n_train_pairs": len(indexing[0]),
        "n_validation_pairs": len(indexing[1]),
        "n_ctrl_heldout": int(ctrl.n_obs),
        "n_stim_heldout": int(stim.n_obs),
        "ot_seconds": ot_seconds,
        "training": training,
        "model": _metrics(pred, ctrl, stim, seed),
        "baseline_control": _metrics(ctrl, ctrl, stim, seed),
        "baseline_shift": _metrics(_shift_baseline(adata[~held], ctrl), ctrl, stim, seed),
        "baseline_knn15": _metrics(knn, ctrl, stim, seed),
        "baseline_scgen_like": _metrics(scgen, ctrl, stim, seed),
        "scgen_like_seconds": scgen_seconds,
    }


def run_perturbation(
    *,
    preset: str,
    seed: int,
    epochs_pretrain: int,
    epochs: int,
    quick: bool,
    record: Record,
    cell_types: list[str] | None = None,
    previous: dict | None = None,
    threads: int | None = None,
    genes: Literal["hvg", "all"] = "hvg",
) -> None:
    """Leave-one-cell-type-out over ``cell_types`` (all 7 by default; CD4T only with quick).

    ``previous``: held-out results of an earlier run with the same settings, kept and not
    recomputed (``--resume``). ``threads``: torch threads for each training (see ``fit``).
    """
    start = time.perf_counter()
    record.update(status="loading")
    adata, notes = load_kang(quick=quick, genes=genes)
    if cell_types is None:
        cell_types = ["CD4T"] if quick else list(CELL_TYPES)
    record.update(
        data={
            "n_cells": adata.n_obs,
            "n_genes": adata.n_vars,
            "cell_types": adata.obs["cell_type"].value_counts().to_dict(),
            "conditions": adata.obs["condition"].value_counts().to_dict(),
            "notes": notes,
        },
        holdouts_planned=cell_types,
        holdouts={},
    )
    results: dict = dict(previous or {})
    for holdout in cell_types:
        if holdout in results:
            continue
        record.update(status=f"training without {holdout}")
        results[holdout] = run_holdout(
            adata,
            holdout,
            preset=preset,
            seed=seed,
            epochs_pretrain=epochs_pretrain,
            epochs=epochs,
            record_progress=lambda p, h=holdout: record.update(progress={"holdout": h, **p}),
            threads=threads,
        )
        record.update(holdouts=results, peak_rss_gb=peak_rss_gb())
    record.update(
        holdouts=results,  # also the kept ones when every type was done before (--resume)
        summary=summarise(results),
        peak_rss_gb=peak_rss_gb(),
        wall_seconds_total=time.perf_counter() - start,
        status="done",
    )


def summarise(results: dict) -> dict:
    """Mean over held-out types of the headline numbers, per predictor."""
    out = {}
    for who in PREDICTORS:
        present = [r[who] for r in results.values() if who in r]
        out[who] = {
            key: float(np.nanmean([r.get(key, np.nan) for r in present])) for key in SUMMARY_KEYS
        }
    return out
