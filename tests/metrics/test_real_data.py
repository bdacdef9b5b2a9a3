"""Tests of butterflyvi.metrics against independent computations (sklearn / scipy)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
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
