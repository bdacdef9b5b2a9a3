"""Small data with known answers for the metric tests."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
from sklearn import metrics as skm


def scores_and_truth(seed: int = 0, n_cells: int = 40, n_peaks: int = 30):
    """Predictions with many ties (rounded, zeros), negative values, and binary-ish truth."""
    rng = np.random.default_rng(seed)
    truth = rng.poisson(0.3, size=(n_cells, n_peaks)).astype(np.float32)  # counts, some > 1
    pred = np.round(rng.normal(0.3, 0.4, size=(n_cells, n_peaks)) + 0.3 * (truth > 0), 1)
    pred[np.abs(pred) < 0.15] = 0.0
    return pred.astype(np.float32), truth


def adata_of(X, obs_prefix: str = "c", var_prefix: str = "f") -> ad.AnnData:
    n, m = X.shape
    return ad.AnnData(
        X=X,
        obs=pd.DataFrame(index=[f"{obs_prefix}{i}" for i in range(n)]),
        var=pd.DataFrame(index=[f"{var_prefix}{j}" for j in range(m)]),
    )


def sk_rowwise(pred, truth):
    """Per-row sklearn AUROC/AP, skipping rows of a single class."""
    au, ap = [], []
    for s, y in zip(pred, truth > 0, strict=True):
        if y.all() or not y.any():
            continue
        au.append(skm.roc_auc_score(y, s))
        ap.append(skm.average_precision_score(y, s))
    return np.array(au), np.array(ap)


def two_blobs(seed: int = 0, n_per: int = 30, n_features: int = 40, n_types: int = 3):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 10, size=(n_types, n_features))
    X = np.vstack([c + rng.normal(0, 0.5, size=(n_per, n_features)) for c in centers])
    labels = np.repeat([f"type{t}" for t in range(n_types)], n_per)
    adata = adata_of(X.astype(np.float32))
    adata.obs["cell_type"] = pd.Categorical(labels)
    return adata
