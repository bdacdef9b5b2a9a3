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


def test_clustering_well_separated_gives_ari_one():
    adata = _two_blobs()
    before = adata.copy()
    out = metrics.clustering(adata, n_pcs=10, n_neighbors=10)
    assert out["ari"] == pytest.approx(1.0)
    assert out["ami"] == pytest.approx(1.0)
    assert out["nmi"] == pytest.approx(1.0)
    assert out["homogeneity"] == pytest.approx(1.0)
    assert out["n_clusters"] == 3
    assert out["n_labels"] == 3
    assert out["n_pcs"] == 10
    # The input is untouched.
    assert list(adata.obsm) == [] and list(adata.uns) == [] and list(adata.obsp) == []
    np.testing.assert_array_equal(adata.X, before.X)
    # Sparse input and the leidenalg flavor give the same perfect partition.
    sparse_adata = adata.copy()
    sparse_adata.X = sparse.csr_matrix(sparse_adata.X)
    assert metrics.clustering(sparse_adata, n_pcs=10, n_neighbors=10)["ari"] == pytest.approx(1)
    assert metrics.clustering(adata, n_neighbors=10, flavor="leidenalg")["ari"] == pytest.approx(1)


def test_clustering_metrics_match_sklearn_and_caps():
    adata = _two_blobs(n_per=8, n_features=5)
    out = metrics.clustering(adata, n_pcs=50)
    assert out["n_pcs"] == 4  # min(n_obs, n_vars) - 1
    rng = np.random.default_rng(0)
    adata.obs["noisy"] = rng.choice(["a", "b"], size=adata.n_obs)
    out = metrics.clustering(adata, label_key="noisy")
    assert 0 <= out["homogeneity"] < 0.5


def test_clustering_errors():
    adata = _two_blobs(n_per=5)
    with pytest.raises(ValueError, match=r"label_key: expected a column of adata\.obs"):
        metrics.clustering(adata, label_key="celltype")
    adata.obs["with_nan"] = adata.obs["cell_type"].astype(object)
    adata.obs.iloc[0, adata.obs.columns.get_loc("with_nan")] = np.nan
    with pytest.raises(ValueError, match="1 missing labels"):
        metrics.clustering(adata, label_key="with_nan")
    with pytest.raises(ValueError, match="at least 3 cells"):
        metrics.clustering(adata[:2].copy())
    with pytest.raises(TypeError, match="AnnData"):
        metrics.clustering(adata.X)
