"""Tests of butterflyvi.metrics against independent computations (sklearn / scipy)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from _metrics_data import two_blobs
from butterflyvi import metrics


def test_clustering_well_separated_gives_ari_one():
    adata = two_blobs()
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
    adata = two_blobs(n_per=8, n_features=5)
    out = metrics.clustering(adata, n_pcs=50)
    assert out["n_pcs"] == 4  # min(n_obs, n_vars) - 1
    rng = np.random.default_rng(0)
    adata.obs["noisy"] = rng.choice(["a", "b"], size=adata.n_obs)
    out = metrics.clustering(adata, label_key="noisy")
    assert 0 <= out["homogeneity"] < 0.5


def test_clustering_errors():
    adata = two_blobs(n_per=5)
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
