"""Tests of butterflyvi.metrics against independent computations (sklearn / scipy)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from _metrics_data import adata_of, scores_and_truth
from butterflyvi import metrics


def test_baseline_mean_shapes_and_values():
    rng = np.random.default_rng(0)
    train = adata_of(rng.poisson(1.0, size=(20, 7)).astype(np.float32))
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
    _, truth = scores_and_truth(seed=7)
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
