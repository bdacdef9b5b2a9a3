"""Building tasks in the harness's format from paired data (its ``process_dataset``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .._validation import invalid, missing
from ._normalize import NORMALIZATION_IDS, NORMALIZERS


def harness_modality(counts, obs: pd.DataFrame, var_names, modality: str, dataset_id: str):
    """An AnnData as the task's files hold one modality: ``layers["counts"]`` and
    ``layers["normalized"]`` (no ``X``), ``obs`` ``batch`` (and ``size_factors``), ``var``
    ``hvg``/``hvg_score``, ``uns`` ``dataset_id``, ``modality``, ``normalization_id``.
    """
    if modality not in NORMALIZERS:
        raise invalid("modality", f"one of {list(NORMALIZERS)}", repr(modality))
    counts = sp.csr_matrix(counts, dtype=np.float32)
    totals = np.asarray(counts.sum(axis=1)).ravel()
    median = np.median(totals[totals > 0]) if (totals > 0).any() else 1.0
    adata = AnnData(
        obs=pd.DataFrame(
            {"batch": obs["batch"].astype(str).to_numpy(), "size_factors": totals / median},
            index=obs.index.astype(str),
        ),
        var=pd.DataFrame(
            {"hvg": np.ones(counts.shape[1], dtype=bool), "hvg_score": np.zeros(counts.shape[1])},
            index=pd.Index(var_names).astype(str),
        ),
        layers={"counts": counts, "normalized": NORMALIZERS[modality](counts)},
    )
    adata.uns.update(
        dataset_id=dataset_id, modality=modality, normalization_id=NORMALIZATION_IDS[modality]
    )
    return adata


def process_dataset(
    mod1: AnnData,
    mod2: AnnData,
    *,
    cell_type: pd.Series | np.ndarray,
    seed: int = 1,
    max_test_cells: int = 1000,
    max_atac_features: int = 10_000,
) -> dict[str, AnnData]:
    """The task's train/test files from two harness-format modalities of the same cells.

    As the harness's ``process_dataset``: with several batches a quarter of them (at least
    one) is held out as test batches, else a quarter of the cells; at most ``max_test_cells``
    test cells drawn with probability ∝ √(1 / frequency of their cell type); a target ATAC
    modality is cut to ``max_atac_features`` peaks open somewhere. The cell types only
    balance the draw and are not written out.

    Returns
    -------
    ``{"train_mod1", "train_mod2", "test_mod1", "test_mod2"}``.
    """
    if not mod1.obs_names.equals(mod2.obs_names):
        raise invalid("mod2", "the cells of mod1 in the same order", "other cells")
    if "batch" not in mod1.obs:
        raise missing("mod1", "obs['batch']", f"obs columns {list(mod1.obs.columns)}")
    rng = np.random.default_rng(seed)
    if mod2.uns["modality"] == "ATAC" and mod2.n_vars > max_atac_features:
        open_anywhere = np.flatnonzero(
            np.asarray(mod2.layers["normalized"].sum(axis=0)).ravel() > 0
        )
        keep = np.sort(
            rng.choice(open_anywhere, min(max_atac_features, len(open_anywhere)), replace=False)
        )
        mod2 = mod2[:, keep].copy()
    batches = mod1.obs["batch"].astype(str).to_numpy()
    unique = sorted(set(batches))
    if len(unique) > 1:
        held = rng.choice(unique, max(1, len(unique) // 4), replace=False)
        in_test = np.isin(batches, held)
    else:
        in_test = np.zeros(mod1.n_obs, dtype=bool)
        in_test[rng.choice(mod1.n_obs, max(1, mod1.n_obs // 4), replace=False)] = True
    test = np.flatnonzero(in_test)
    if len(test) > max_test_cells:
        types = np.asarray(cell_type, dtype=object)[test]
        frequency = pd.Series(types).map(pd.Series(types).value_counts(normalize=True)).to_numpy()
        weights = np.sqrt(1.0 / frequency)
        test = np.sort(rng.choice(test, max_test_cells, replace=False, p=weights / weights.sum()))
    train = np.flatnonzero(~in_test)
    return {
        "train_mod1": mod1[train].copy(),
        "train_mod2": mod2[train].copy(),
        "test_mod1": mod1[test].copy(),
        "test_mod2": mod2[test].copy(),
    }
