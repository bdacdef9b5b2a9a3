"""Tests of butterflyvi.metrics against independent computations (sklearn / scipy)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn import metrics as skm

from butterflyvi import metrics


def _scores_and_truth(seed: int = 0, n_cells: int = 40, n_peaks: int = 30):
    """Predictions with many ties (rounded, zeros), negative values, and binary-ish truth."""
    rng = np.random.default_rng(seed)
    truth = rng.poisson(0.3, size=(n_cells, n_peaks)).astype(np.float32)  # counts, some > 1
    pred = np.round(rng.normal(0.3, 0.4, size=(n_cells, n_peaks)) + 0.3 * (truth > 0), 1)
    pred[np.abs(pred) < 0.15] = 0.0
    return pred.astype(np.float32), truth


def _adata(X, obs_prefix: str = "c", var_prefix: str = "f") -> ad.AnnData:
    n, m = X.shape
    return ad.AnnData(
        X=X,
        obs=pd.DataFrame(index=[f"{obs_prefix}{i}" for i in range(n)]),
        var=pd.DataFrame(index=[f"{var_prefix}{j}" for j in range(m)]),
    )


def _sk_rowwise(pred, truth):
    """Per-row sklearn AUROC/AP, skipping rows of a single class."""
    au, ap = [], []
    for s, y in zip(pred, truth > 0, strict=True):
        if y.all() or not y.any():
            continue
        au.append(skm.roc_auc_score(y, s))
        ap.append(skm.average_precision_score(y, s))
    return np.array(au), np.array(ap)


def _two_blobs(seed: int = 0, n_per: int = 30, n_features: int = 40, n_types: int = 3):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 10, size=(n_types, n_features))
    X = np.vstack([c + rng.normal(0, 0.5, size=(n_per, n_features)) for c in centers])
    labels = np.repeat([f"type{t}" for t in range(n_types)], n_per)
    adata = _adata(X.astype(np.float32))
    adata.obs["cell_type"] = pd.Categorical(labels)
    return adata


def test_baseline_mean_shapes_and_values():
    rng = np.random.default_rng(0)
    train = _adata(rng.poisson(1.0, size=(20, 7)).astype(np.float32))
    train.var["kind"] = "peak"
    base = metrics.baseline_mean(train, 5, obs_names=[f"t{i}" for i in range(5)])
    assert base.shape == (5, 7)
    assert base.X.dtype == np.float32
    np.testing.assert_allclose(base.X, np.tile(train.X.mean(0), (5, 1)), rtol=1e-6)
    assert list(base.obs_names) == [f"t{i}" for i in range(5)]
    assert list(base.var_names) == list(train.var_names)
    assert list(base.var["kind"]) == ["peak"] * 7
    assert base.X.strides[0] == 0  # rank one, stored as a broadcast row
    assert not base.X.flags.writeable
    assert base.uns["butterflyvi_baseline"]["n_train"] == 20
    from_sparse = metrics.baseline_mean(sparse.csr_matrix(train.X), 3)
    np.testing.assert_array_equal(from_sparse.X, base.X[:3])
    assert list(from_sparse.obs_names) == ["0", "1", "2"]


def test_baseline_mean_metrics_and_errors():
    _, truth = _scores_and_truth(seed=7)
    base = metrics.baseline_mean(truth[:20], 20)
    out = metrics.accessibility(base, truth[20:])
    assert out["auroc_per_peak_mean"] == 0.5
    expr = metrics.expression(base, truth[20:])
    assert expr["n_features_skipped"] == truth.shape[1]
    with pytest.raises(ValueError, match="max_entries"):
        metrics.baseline_mean(truth, 10**7)
    with pytest.raises(ValueError, match="one name per predicted cell"):
        metrics.baseline_mean(truth, 3, obs_names=["a"])
    with pytest.raises(ValueError, match="positive integer"):
        metrics.baseline_mean(truth, 0)
