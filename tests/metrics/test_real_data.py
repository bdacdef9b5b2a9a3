"""Tests of butterflyvi.metrics against independent computations (sklearn / scipy)."""

from __future__ import annotations

import anndata as ad
import pytest

from butterflyvi import metrics


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
