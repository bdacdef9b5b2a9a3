"""Tests of butterflyvi.metrics against independent computations (sklearn / scipy)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from scipy import sparse, stats

from _metrics_data import adata_of
from butterflyvi import metrics


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
    s_pred, s_stim = pred.std(0), stim.std(0)  # population standard deviations
    assert out["r2_sd_all"] == pytest.approx(stats.pearsonr(s_pred, s_stim)[0] ** 2, abs=1e-6)
    r_sd = stats.pearsonr(s_pred[idx], s_stim[idx])[0]
    assert out["r2_sd_degs"] == pytest.approx(r_sd**2, abs=1e-6)


def test_perturbation_identity_and_control():
    ctrl, stim = _perturbation_data(seed=2)
    same = metrics.perturbation(stim, ctrl, stim, top_n=15, n_boot=20)
    assert same["r2_all"] == pytest.approx(1.0)
    assert same["r2_degs"] == pytest.approx(1.0)
    assert same["deg_overlap"] == 15
    assert same["deg_overlap_fraction"] == 1.0
    assert 0.9 < same["r2_all_boot_mean"] <= 1.0
    assert same["r2_all_boot_std"] > 0
    assert same["r2_sd_all"] == pytest.approx(1.0)
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
    a_ctrl, a_stim = adata_of(ctrl, obs_prefix="ctrl"), adata_of(stim, obs_prefix="stim")
    expected = metrics.perturbation(a_stim, a_ctrl, a_stim, top_n=10, n_boot=3)
    perm = np.random.default_rng(0).permutation(ctrl.shape[1])
    shuffled = metrics.perturbation(a_stim[:, perm].copy(), a_ctrl, a_stim, top_n=10, n_boot=3)
    assert shuffled == expected
    with pytest.raises(ValueError, match="expected the same var_names"):
        metrics.perturbation(adata_of(stim, var_prefix="x"), a_ctrl, a_stim, top_n=10)


def test_perturbation_errors():
    ctrl, stim = _perturbation_data(seed=5)
    with pytest.raises(ValueError, match="pred_stim: expected at least 2 cells"):
        metrics.perturbation(stim[:1], ctrl, stim)
    with pytest.raises(ValueError, match="ctrl: expected at least 2 cells"):
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
    with pytest.raises(ValueError, match="pred_stim: expected finite values, found 1 NaN"):
        metrics.perturbation(bad, ctrl, stim, top_n=5)
