"""Tests of butterflyvi.metrics against independent computations (sklearn / scipy)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse, stats
from sklearn import metrics as skm

from _metrics_data import adata_of
from butterflyvi import metrics


def _scipy_rowwise(a, b, fn):
    out = []
    for x, y in zip(a, b, strict=True):
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            continue
        out.append(fn(x, y)[0])
    return np.array(out)


def test_expression_matches_scipy():
    rng = np.random.default_rng(0)
    truth = rng.poisson(1.0, size=(35, 25)).astype(np.float64)
    pred = truth + rng.normal(0, 1.0, size=truth.shape)
    pred[:, 3] = 0.7  # a constant feature in pred
    truth[5] = 2.0  # a constant cell in truth
    out = metrics.expression(pred, truth)
    for unit, (a, b) in {"cell": (pred, truth), "feature": (pred.T, truth.T)}.items():
        r = _scipy_rowwise(a, b, stats.pearsonr)
        rho = _scipy_rowwise(a, b, stats.spearmanr)
        assert out[f"pearson_per_{unit}_mean"] == pytest.approx(r.mean(), abs=1e-12)
        assert out[f"pearson_per_{unit}_median"] == pytest.approx(np.median(r), abs=1e-12)
        assert out[f"spearman_per_{unit}_mean"] == pytest.approx(rho.mean(), abs=1e-12)
        assert out[f"spearman_per_{unit}_median"] == pytest.approx(np.median(rho), abs=1e-12)
        assert out[f"n_{unit}s_skipped"] == a.shape[0] - r.size
    assert out["n_cells_skipped"] == 1
    assert out["n_features_skipped"] == 1
    assert out["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(truth, pred)), abs=1e-12)


def test_expression_sparse_dense_and_alignment():
    rng = np.random.default_rng(1)
    truth = rng.poisson(0.5, size=(30, 20)).astype(np.float32)
    pred = (truth * rng.random(truth.shape)).astype(np.float32)
    expected = metrics.expression(pred, truth)
    assert metrics.expression(sparse.csr_matrix(pred), sparse.csc_matrix(truth)) == expected
    a_pred, a_truth = adata_of(pred), adata_of(truth)
    perm = rng.permutation(30)
    assert metrics.expression(a_pred, a_truth[perm].copy()) == expected
    with pytest.raises(ValueError, match="expected the same obs_names"):
        metrics.expression(a_pred, a_truth[:-1].copy())


def test_expression_constant_prediction_and_errors():
    rng = np.random.default_rng(2)
    truth = rng.random((10, 8))
    out = metrics.expression(np.ones_like(truth), truth)
    assert out["n_cells_skipped"] == 10
    assert out["n_features_skipped"] == 8
    assert np.isnan(out["pearson_per_cell_mean"])
    assert np.isnan(out["spearman_per_feature_median"])
    assert all(isinstance(v, float | int) for v in out.values())
    bad = truth.copy()
    bad[2, 2] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        metrics.expression(bad, truth)
    with pytest.raises(ValueError, match="2-D"):
        metrics.expression(truth[0], truth[0])
