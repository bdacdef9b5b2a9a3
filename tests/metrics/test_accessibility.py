"""Tests of butterflyvi.metrics against independent computations (sklearn / scipy)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn import metrics as skm

from _metrics_data import adata_of, scores_and_truth, sk_rowwise
from butterflyvi import metrics


def test_accessibility_matches_sklearn():
    pred, truth = scores_and_truth()
    out = metrics.accessibility(pred, truth)
    y = truth.ravel() > 0
    assert out["auroc"] == pytest.approx(skm.roc_auc_score(y, pred.ravel()), abs=1e-12)
    assert out["aupr"] == pytest.approx(skm.average_precision_score(y, pred.ravel()), abs=1e-12)
    assert out["positive_fraction"] == pytest.approx(y.mean())

    au, ap = sk_rowwise(pred, truth)
    assert out["auroc_per_cell_mean"] == pytest.approx(au.mean(), abs=1e-12)
    assert out["auroc_per_cell_median"] == pytest.approx(np.median(au), abs=1e-12)
    assert out["aupr_per_cell_mean"] == pytest.approx(ap.mean(), abs=1e-12)
    assert out["aupr_per_cell_median"] == pytest.approx(np.median(ap), abs=1e-12)

    au, ap = sk_rowwise(pred.T, truth.T)
    assert out["auroc_per_peak_mean"] == pytest.approx(au.mean(), abs=1e-12)
    assert out["auroc_per_peak_median"] == pytest.approx(np.median(au), abs=1e-12)
    assert out["aupr_per_peak_mean"] == pytest.approx(ap.mean(), abs=1e-12)
    assert out["n_peaks_skipped"] == pred.shape[1] - au.size
    assert (out["n_cells"], out["n_peaks"]) == pred.shape


def test_accessibility_sparse_and_dense_identical():
    pred, truth = scores_and_truth(seed=1)
    dense = metrics.accessibility(pred, truth)
    for p, t in [
        (sparse.csr_matrix(pred), sparse.csr_matrix(truth)),
        (sparse.csc_matrix(pred), truth),
        (pred, sparse.csc_matrix(truth)),
        (sparse.coo_matrix(pred), sparse.csr_array(truth)),
    ]:
        assert metrics.accessibility(p, t) == dense


def test_accessibility_single_class_cells_and_peaks_skipped():
    pred, truth = scores_and_truth(seed=2)
    truth[:, 0] = 0  # a peak never open
    truth[:, 1] = 3  # a peak always open
    out = metrics.accessibility(pred, truth)
    au_peaks, _ = sk_rowwise(pred.T, truth.T)
    assert out["n_peaks_skipped"] == pred.shape[1] - au_peaks.size == 2
    assert out["auroc_per_peak_mean"] == pytest.approx(au_peaks.mean(), abs=1e-12)

    pred, truth = scores_and_truth(seed=2)
    truth[3] = 0  # a cell with nothing open
    truth[5] = 1  # a cell with everything open
    out = metrics.accessibility(pred, truth)
    au_cells, ap_cells = sk_rowwise(pred, truth)
    assert out["n_cells_skipped"] == pred.shape[0] - au_cells.size == 2
    assert out["auroc_per_cell_mean"] == pytest.approx(au_cells.mean(), abs=1e-12)
    assert out["aupr_per_cell_median"] == pytest.approx(np.median(ap_cells), abs=1e-12)


def test_accessibility_constant_prediction():
    _, truth = scores_and_truth(seed=3)
    out = metrics.accessibility(np.full(truth.shape, 0.2), truth)
    assert out["auroc"] == 0.5
    assert out["auroc_per_cell_mean"] == 0.5
    assert out["auroc_per_peak_mean"] == 0.5
    assert out["aupr"] == pytest.approx(out["positive_fraction"])


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=2, max_value=12),
    st.integers(min_value=1, max_value=9),
)
def test_accessibility_all_entries_property(seed, n_cells, n_peaks):
    rng = np.random.default_rng(seed)
    pred = rng.integers(-2, 3, size=(n_cells, n_peaks)).astype(np.float64)  # heavy ties
    truth = (rng.random((n_cells, n_peaks)) < 0.4).astype(np.float64)
    truth.flat[0], truth.flat[-1] = 1.0, 0.0
    y = truth.ravel() > 0
    for p in (pred, sparse.csr_matrix(pred)):
        out = metrics.accessibility(p, truth)
        assert out["auroc"] == pytest.approx(skm.roc_auc_score(y, pred.ravel()), abs=1e-12)
        assert out["aupr"] == pytest.approx(skm.average_precision_score(y, pred.ravel()), abs=1e-12)


def test_accessibility_anndata_aligned_by_names():
    pred, truth = scores_and_truth(seed=4)
    a_pred, a_truth = adata_of(pred), adata_of(truth)
    expected = metrics.accessibility(a_pred, a_truth)
    assert expected == metrics.accessibility(pred, truth)
    rng = np.random.default_rng(0)
    shuffled = a_truth[rng.permutation(a_truth.n_obs), rng.permutation(a_truth.n_vars)].copy()
    assert metrics.accessibility(a_pred, shuffled) == expected
    # Layers.
    a_truth.layers["counts"] = a_truth.X.copy()
    a_truth.X = np.zeros_like(truth)
    assert metrics.accessibility(a_pred, a_truth, truth_layer="counts") == expected


def test_accessibility_errors():
    pred, truth = scores_and_truth(seed=5)
    with pytest.raises(ValueError, match="same shape"):
        metrics.accessibility(pred[:, :-1], truth)
    bad = pred.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="pred: expected finite values, found 1 NaN"):
        metrics.accessibility(bad, truth)
    with pytest.raises(ValueError, match="open"):
        metrics.accessibility(pred, np.zeros_like(truth))
    renamed = adata_of(truth, obs_prefix="x")
    with pytest.raises(ValueError, match="expected the same obs_names"):
        metrics.accessibility(adata_of(pred), renamed)
    with pytest.raises(ValueError, match="expected the same var_names"):
        metrics.accessibility(adata_of(pred), adata_of(truth, var_prefix="g"))
    with pytest.raises(ValueError, match="layer: expected a layer of truth"):
        metrics.accessibility(adata_of(pred), adata_of(truth), truth_layer="nope")
    with pytest.raises(TypeError, match="AnnData, a numpy array or a scipy sparse"):
        metrics.accessibility(pred.tolist(), truth)


def test_metrics_do_not_modify_inputs():
    pred, truth = scores_and_truth(seed=6)
    sp_pred = sparse.csr_matrix(pred)
    sp_pred.has_sorted_indices = False  # force a canonicalisation path
    before = (pred.copy(), truth.copy(), sp_pred.copy())
    metrics.accessibility(sp_pred, truth)
    metrics.expression(pred, truth)
    np.testing.assert_array_equal(pred, before[0])
    np.testing.assert_array_equal(truth, before[1])
    assert (sp_pred != before[2]).nnz == 0
