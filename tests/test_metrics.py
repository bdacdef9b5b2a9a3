"""Tests of butterflyvi.metrics against independent computations (sklearn / scipy)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse, stats
from sklearn import metrics as skm

from butterflyvi import metrics

# --------------------------------------------------------------------------------------------
# helpers


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


# --------------------------------------------------------------------------------------------
# accessibility


def test_accessibility_matches_sklearn():
    pred, truth = _scores_and_truth()
    out = metrics.accessibility(pred, truth)
    y = truth.ravel() > 0
    assert out["auroc"] == pytest.approx(skm.roc_auc_score(y, pred.ravel()), abs=1e-12)
    assert out["aupr"] == pytest.approx(skm.average_precision_score(y, pred.ravel()), abs=1e-12)
    assert out["positive_fraction"] == pytest.approx(y.mean())

    au, ap = _sk_rowwise(pred, truth)
    assert out["auroc_per_cell_mean"] == pytest.approx(au.mean(), abs=1e-12)
    assert out["auroc_per_cell_median"] == pytest.approx(np.median(au), abs=1e-12)
    assert out["aupr_per_cell_mean"] == pytest.approx(ap.mean(), abs=1e-12)
    assert out["aupr_per_cell_median"] == pytest.approx(np.median(ap), abs=1e-12)

    au, ap = _sk_rowwise(pred.T, truth.T)
    assert out["auroc_per_peak_mean"] == pytest.approx(au.mean(), abs=1e-12)
    assert out["auroc_per_peak_median"] == pytest.approx(np.median(au), abs=1e-12)
    assert out["aupr_per_peak_mean"] == pytest.approx(ap.mean(), abs=1e-12)
    assert out["n_peaks_skipped"] == pred.shape[1] - au.size
    assert (out["n_cells"], out["n_peaks"]) == pred.shape


def test_accessibility_sparse_and_dense_identical():
    pred, truth = _scores_and_truth(seed=1)
    dense = metrics.accessibility(pred, truth)
    for p, t in [
        (sparse.csr_matrix(pred), sparse.csr_matrix(truth)),
        (sparse.csc_matrix(pred), truth),
        (pred, sparse.csc_matrix(truth)),
        (sparse.coo_matrix(pred), sparse.csr_array(truth)),
    ]:
        assert metrics.accessibility(p, t) == dense


def test_accessibility_single_class_cells_and_peaks_skipped():
    pred, truth = _scores_and_truth(seed=2)
    truth[:, 0] = 0  # a peak never open
    truth[:, 1] = 3  # a peak always open
    out = metrics.accessibility(pred, truth)
    au_peaks, _ = _sk_rowwise(pred.T, truth.T)
    assert out["n_peaks_skipped"] == pred.shape[1] - au_peaks.size == 2
    assert out["auroc_per_peak_mean"] == pytest.approx(au_peaks.mean(), abs=1e-12)

    pred, truth = _scores_and_truth(seed=2)
    truth[3] = 0  # a cell with nothing open
    truth[5] = 1  # a cell with everything open
    out = metrics.accessibility(pred, truth)
    au_cells, ap_cells = _sk_rowwise(pred, truth)
    assert out["n_cells_skipped"] == pred.shape[0] - au_cells.size == 2
    assert out["auroc_per_cell_mean"] == pytest.approx(au_cells.mean(), abs=1e-12)
    assert out["aupr_per_cell_median"] == pytest.approx(np.median(ap_cells), abs=1e-12)


def test_accessibility_constant_prediction():
    _, truth = _scores_and_truth(seed=3)
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
    pred, truth = _scores_and_truth(seed=4)
    a_pred, a_truth = _adata(pred), _adata(truth)
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
    pred, truth = _scores_and_truth(seed=5)
    with pytest.raises(ValueError, match="same shape"):
        metrics.accessibility(pred[:, :-1], truth)
    bad = pred.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="`pred` contains 1 NaN"):
        metrics.accessibility(bad, truth)
    with pytest.raises(ValueError, match="open"):
        metrics.accessibility(pred, np.zeros_like(truth))
    renamed = _adata(truth, obs_prefix="x")
    with pytest.raises(ValueError, match="different obs_names"):
        metrics.accessibility(_adata(pred), renamed)
    with pytest.raises(ValueError, match="different var_names"):
        metrics.accessibility(_adata(pred), _adata(truth, var_prefix="g"))
    with pytest.raises(ValueError, match="no layer"):
        metrics.accessibility(_adata(pred), _adata(truth), truth_layer="nope")
    with pytest.raises(TypeError, match="AnnData, a numpy array or a scipy sparse"):
        metrics.accessibility(pred.tolist(), truth)


def test_metrics_do_not_modify_inputs():
    pred, truth = _scores_and_truth(seed=6)
    sp_pred = sparse.csr_matrix(pred)
    sp_pred.has_sorted_indices = False  # force a canonicalisation path
    before = (pred.copy(), truth.copy(), sp_pred.copy())
    metrics.accessibility(sp_pred, truth)
    metrics.expression(pred, truth)
    np.testing.assert_array_equal(pred, before[0])
    np.testing.assert_array_equal(truth, before[1])
    assert (sp_pred != before[2]).nnz == 0


# --------------------------------------------------------------------------------------------
# expression


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
    a_pred, a_truth = _adata(pred), _adata(truth)
    perm = rng.permutation(30)
    assert metrics.expression(a_pred, a_truth[perm].copy()) == expected
    with pytest.raises(ValueError, match="different obs_names"):
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


# --------------------------------------------------------------------------------------------
# clustering


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
    with pytest.raises(ValueError, match=r"not a column of `adata\.obs`"):
        metrics.clustering(adata, label_key="celltype")
    adata.obs["with_nan"] = adata.obs["cell_type"].astype(object)
    adata.obs.iloc[0, adata.obs.columns.get_loc("with_nan")] = np.nan
    with pytest.raises(ValueError, match="1 missing labels"):
        metrics.clustering(adata, label_key="with_nan")
    with pytest.raises(ValueError, match="at least 3 cells"):
        metrics.clustering(adata[:2].copy())
    with pytest.raises(TypeError, match="AnnData"):
        metrics.clustering(adata.X)


# --------------------------------------------------------------------------------------------
# perturbation


def _perturbation_data(seed: int = 0, n_genes: int = 60, n_up: int = 15):
    rng = np.random.default_rng(seed)
    base = rng.gamma(2.0, 0.5, size=n_genes)
    ctrl = np.log1p(rng.poisson(base, size=(50, n_genes))).astype(np.float32)
    shift = np.zeros(n_genes)
    shift[:n_up] = np.linspace(3.0, 1.0, n_up)
    stim = np.log1p(rng.poisson(base * np.exp(shift), size=(60, n_genes))).astype(np.float32)
    return ctrl, stim


def _scanpy_top(ctrl, case, top_n):
    X = np.vstack([ctrl, case])
    a = ad.AnnData(X=X, obs=pd.DataFrame(index=[str(i) for i in range(X.shape[0])]))
    a.var_names = [f"g{j}" for j in range(X.shape[1])]
    a.obs["condition"] = ["control"] * len(ctrl) + ["stimulated"] * len(case)
    sc.tl.rank_genes_groups(a, "condition", reference="control", method="wilcoxon")
    names = a.uns["rank_genes_groups"]["names"]["stimulated"][:top_n]
    return {int(n[1:]) for n in names}


def test_perturbation_matches_independent_computation():
    ctrl, stim = _perturbation_data()
    rng = np.random.default_rng(1)
    pred = np.clip(stim[rng.permutation(60)[:40]] + rng.normal(0, 0.3, (40, 60)), 0, None)
    pred = pred.astype(np.float32)
    top_n = 20
    out = metrics.perturbation(pred, ctrl, stim, top_n=top_n, n_boot=5)
    real = _scanpy_top(ctrl, stim, top_n)
    predicted = _scanpy_top(ctrl, pred, top_n)
    assert out["deg_overlap"] == len(real & predicted)
    assert out["deg_overlap_fraction"] == pytest.approx(len(real & predicted) / top_n)
    m_pred, m_stim = pred.mean(0), stim.mean(0)
    assert out["r2_all"] == pytest.approx(stats.linregress(m_pred, m_stim).rvalue ** 2, abs=1e-6)
    idx = sorted(real)
    r = stats.pearsonr(m_pred[idx], m_stim[idx])[0]
    assert out["r2_degs"] == pytest.approx(r**2, abs=1e-6)
    assert (out["n_pred"], out["n_ctrl"], out["n_stim"], out["n_genes"]) == (40, 50, 60, 60)


def test_perturbation_identity_and_control():
    ctrl, stim = _perturbation_data(seed=2)
    same = metrics.perturbation(stim, ctrl, stim, top_n=15, n_boot=20)
    assert same["r2_all"] == pytest.approx(1.0)
    assert same["r2_degs"] == pytest.approx(1.0)
    assert same["deg_overlap"] == 15
    assert same["deg_overlap_fraction"] == 1.0
    assert 0.9 < same["r2_all_boot_mean"] <= 1.0
    assert same["r2_all_boot_std"] > 0
    as_ctrl = metrics.perturbation(ctrl, ctrl, stim, top_n=15, n_boot=20)
    assert as_ctrl["r2_all"] < same["r2_all"]
    assert as_ctrl["r2_degs"] < same["r2_degs"]
    assert as_ctrl["r2_degs_boot_mean"] < same["r2_degs_boot_mean"]


def test_perturbation_bootstrap_full_fraction_and_sparse():
    ctrl, stim = _perturbation_data(seed=3)
    pred = stim[::-1] * 0.9
    out = metrics.perturbation(pred, ctrl, stim, top_n=10, n_boot=4, frac=1.0)
    assert out["r2_all_boot_mean"] == pytest.approx(out["r2_all"])
    assert out["r2_all_boot_std"] == pytest.approx(0.0, abs=1e-12)
    assert out["r2_degs_boot_mean"] == pytest.approx(out["r2_degs"])
    as_sparse = metrics.perturbation(
        sparse.csr_matrix(pred),
        sparse.csr_matrix(ctrl),
        sparse.csc_matrix(stim),
        top_n=10,
        n_boot=4,
        frac=1.0,
    )
    assert as_sparse["deg_overlap"] == out["deg_overlap"]
    for key in out:
        assert as_sparse[key] == pytest.approx(out[key], abs=1e-10)
    with_replacement = metrics.perturbation(pred, ctrl, stim, top_n=10, n_boot=4, replace=True)
    assert with_replacement["r2_all_boot_std"] > 0
    seeded = metrics.perturbation(pred, ctrl, stim, top_n=10, n_boot=4, seed=7)
    assert seeded == metrics.perturbation(pred, ctrl, stim, top_n=10, n_boot=4, seed=7)


def test_perturbation_anndata_genes_aligned_by_name():
    ctrl, stim = _perturbation_data(seed=4)
    a_ctrl, a_stim = _adata(ctrl, obs_prefix="ctrl"), _adata(stim, obs_prefix="stim")
    expected = metrics.perturbation(a_stim, a_ctrl, a_stim, top_n=10, n_boot=3)
    perm = np.random.default_rng(0).permutation(ctrl.shape[1])
    shuffled = metrics.perturbation(a_stim[:, perm].copy(), a_ctrl, a_stim, top_n=10, n_boot=3)
    assert shuffled == expected
    with pytest.raises(ValueError, match="different var_names"):
        metrics.perturbation(_adata(stim, var_prefix="x"), a_ctrl, a_stim, top_n=10)


def test_perturbation_errors():
    ctrl, stim = _perturbation_data(seed=5)
    with pytest.raises(ValueError, match="`pred_stim` must have at least 2 cells"):
        metrics.perturbation(stim[:1], ctrl, stim)
    with pytest.raises(ValueError, match="`ctrl` must have at least 2 cells"):
        metrics.perturbation(stim, ctrl[:0], stim)
    with pytest.raises(ValueError, match="same genes"):
        metrics.perturbation(stim[:, :-1], ctrl, stim)
    with pytest.raises(ValueError, match="top_n"):
        metrics.perturbation(stim, ctrl, stim, top_n=1000)
    with pytest.raises(ValueError, match="frac"):
        metrics.perturbation(stim, ctrl, stim, top_n=5, frac=0)
    with pytest.raises(ValueError, match="n_boot"):
        metrics.perturbation(stim, ctrl, stim, top_n=5, n_boot=0)
    bad = stim.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="`pred_stim` contains 1 NaN"):
        metrics.perturbation(bad, ctrl, stim, top_n=5)


# --------------------------------------------------------------------------------------------
# annotation and label transfer


def test_annotation_matches_sklearn():
    rng = np.random.default_rng(0)
    true = rng.choice(["B", "T", "NK", "Mono"], size=200)
    pred = np.where(rng.random(200) < 0.7, true, rng.choice(["B", "T", "DC"], size=200))
    out = metrics.annotation(pd.Series(true), pd.Categorical(pred))
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(true, pred))
    assert out["kappa"] == pytest.approx(skm.cohen_kappa_score(true, pred))
    assert out["f1_macro"] == pytest.approx(
        skm.f1_score(true, pred, average="macro", zero_division=0)
    )
    assert out["f1_weighted"] == pytest.approx(
        skm.f1_score(true, pred, average="weighted", zero_division=0)
    )
    assert (out["n_cells"], out["n_labels"]) == (200, 4)
    perfect = metrics.annotation(true, list(true))
    assert perfect["accuracy"] == perfect["kappa"] == perfect["f1_macro"] == 1.0


def test_annotation_errors():
    with pytest.raises(ValueError, match="one label per cell"):
        metrics.annotation(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="1 missing labels"):
        metrics.annotation(["a", None], ["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        metrics.annotation([], [])


def test_transfer_labels_pca_and_use_rep():
    reference = _two_blobs(seed=0, n_per=25)
    rng = np.random.default_rng(1)
    query = reference.copy()
    query.X = query.X + rng.normal(0, 0.5, size=query.shape).astype(np.float32)
    query.obs_names = [f"q{i}" for i in range(query.n_obs)]
    labels = metrics.transfer_labels(query, reference, n_neighbors=5)
    np.testing.assert_array_equal(labels, reference.obs["cell_type"].to_numpy())
    # Query features given in another order are aligned by name; arrays by position.
    perm = rng.permutation(query.n_vars)
    shuffled = metrics.transfer_labels(query[:, perm].copy(), reference, n_neighbors=5)
    np.testing.assert_array_equal(shuffled, labels)
    from_sparse = metrics.transfer_labels(
        sparse.csr_matrix(query.X), reference, n_neighbors=5, n_pcs=5
    )
    np.testing.assert_array_equal(from_sparse, labels)
    # A given representation.
    reference.obsm["X_emb"] = np.repeat(np.arange(3.0), 25)[:, None]
    query.obsm["X_emb"] = reference.obsm["X_emb"] + 0.1
    np.testing.assert_array_equal(
        metrics.transfer_labels(query, reference, use_rep="X_emb"), labels
    )


def test_transfer_labels_vote_and_errors():
    reference = ad.AnnData(X=np.array([[0.0], [1.0], [1.1], [10.0]]))
    reference.obs["cell_type"] = ["a", "b", "b", "c"]
    query = ad.AnnData(X=np.array([[0.9], [9.0]]))
    # k=3: query 0 sees b, b, a -> b; query 1 sees c, b, b -> b (majority).
    out = metrics.transfer_labels(query, reference, n_neighbors=3, use_rep="X")
    assert list(out) == ["b", "b"]
    # k=2 tie (c vs b) goes to the nearest neighbour's label.
    out = metrics.transfer_labels(query, reference, n_neighbors=2, use_rep="X")
    assert list(out) == ["b", "c"]
    with pytest.raises(ValueError, match=r"not a column of `reference\.obs`"):
        metrics.transfer_labels(query, reference, label_key="label")
    with pytest.raises(ValueError, match="no 'X_pca'"):
        metrics.transfer_labels(query, reference, use_rep="X_pca")
    reference.obs["cell_type"] = ["a", None, "b", "c"]
    with pytest.raises(ValueError, match="missing labels"):
        metrics.transfer_labels(query, reference, use_rep="X")


# --------------------------------------------------------------------------------------------
# baseline


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


# --------------------------------------------------------------------------------------------
# real data


def test_perturbation_on_kang2018(shared_file):
    adata = ad.read_h5ad(shared_file("kang2018_scgen_valid_pbmc.h5ad"))
    cd4 = adata[adata.obs["cell_type"] == "CD4T"]
    stim = cd4[cd4.obs["condition"] == "stimulated"].copy()
    ctrl = cd4[cd4.obs["condition"] == "control"].copy()
    out = metrics.perturbation(stim, ctrl, stim, n_boot=10)
    assert out["r2_all"] == pytest.approx(1.0)
    assert out["r2_degs"] == pytest.approx(1.0)
    assert out["deg_overlap"] == 100
    assert out["r2_degs_boot_mean"] > 0.99
    as_ctrl = metrics.perturbation(ctrl, ctrl, stim, n_boot=10)
    assert as_ctrl["r2_degs"] < 0.9


def test_baseline_on_bmmc_multiome_atac(shared_file):
    adata = ad.read_h5ad(shared_file("bmmc_multiome_starter_atac.h5ad"))
    is_train = adata.obs["is_train"].astype(bool).to_numpy()
    train, test = adata[is_train], adata[~is_train]
    base = metrics.baseline_mean(train, test.n_obs, obs_names=test.obs_names)
    out = metrics.accessibility(base, test)
    assert out["auroc_per_peak_mean"] == 0.5
    assert out["auroc_per_peak_median"] == 0.5
    assert 0.5 < out["auroc"] < 1.0
    assert out["aupr"] > out["positive_fraction"]
    assert out["n_peaks_skipped"] > 0  # peaks closed in every test cell


def test_clustering_and_label_transfer_on_bmmc_rna(shared_file):
    adata = ad.read_h5ad(shared_file("bmmc_multiome_starter_rna.h5ad"))
    out = metrics.clustering(adata)
    assert 0.2 < out["ari"] < 1.0
    assert out["n_labels"] == adata.obs["cell_type"].nunique()
    is_train = adata.obs["is_train"].astype(bool).to_numpy()
    train, test = adata[is_train], adata[~is_train]
    predicted = metrics.transfer_labels(test, train)
    scores = metrics.annotation(test.obs["cell_type"], predicted)
    majority = test.obs["cell_type"].value_counts(normalize=True).iloc[0]
    assert scores["accuracy"] > majority
    assert scores["kappa"] > 0.2
    base = metrics.baseline_mean(train, test.n_obs, obs_names=test.obs_names)
    expr = metrics.expression(base, test)
    assert expr["n_features_skipped"] == test.n_vars
    assert expr["pearson_per_cell_mean"] > 0.3
