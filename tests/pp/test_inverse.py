"""Inverse TF-IDF, binarisation of recovered values and ATAC count recovery."""

from __future__ import annotations

import anndata as ad
import mudata
import numpy as np
import pytest
from scipy import sparse

import butterflyvi as bf
from butterflyvi._constants import PP_UNS_KEY


@pytest.fixture(scope="module")
def fitted_atac(shared_file):
    m = mudata.read_h5mu(shared_file("snareseq_mouse_cortex_chen2019.h5mu"))
    atac = m["atac"][:800].copy()
    bf.pp.preprocess_atac(atac)
    return atac


def test_inverse_gives_back_binarised_counts(fitted_atac):
    a = fitted_atac
    state = a.uns[PP_UNS_KEY]
    rec = bf.pp.inverse_tfidf(
        a.X, idf=a.var["idf"], scale=state["scale"], totals=a.obs["n_open_peaks"]
    )
    assert sparse.isspmatrix_csr(rec) and rec.dtype == np.float32
    binary = (a.layers["counts"] > 0).astype(np.float32)
    assert rec.nnz == binary.nnz
    np.testing.assert_allclose(rec.data, 1.0, rtol=1e-5)
    assert (abs(rec - binary) > 1e-5).nnz == 0
    assert np.array_equal(np.round(rec.toarray()), binary.toarray())


def test_inverse_formula_dense_slice(fitted_atac):
    a = fitted_atac[:50, :300]
    X = a.X.toarray().astype(np.float64)
    idf = a.var["idf"].to_numpy()
    totals = np.arange(50, dtype=np.float64)
    rec = bf.pp.inverse_tfidf(X, idf=idf, scale=0.7, totals=totals)  # dense input works
    np.testing.assert_allclose(rec.toarray(), X * 0.7 / idf * totals[:, None], rtol=1e-6)
    with pytest.raises(ValueError, match=r"idf: expected 300 values"):
        bf.pp.inverse_tfidf(X, idf=idf[:-1], scale=0.7, totals=totals)
    with pytest.raises(ValueError, match=r"totals: expected non-negative"):
        bf.pp.inverse_tfidf(X, idf=idf, scale=0.7, totals=-totals - 1)
    with pytest.raises(ValueError, match=r"scale"):
        bf.pp.inverse_tfidf(X, idf=idf, scale=0, totals=totals)


def test_binarize_recovered_against_numpy():
    rng = np.random.default_rng(0)
    dense = rng.random((40, 30)) * (rng.random((40, 30)) < 0.3)
    expected = (dense > dense.mean(axis=1, keepdims=True)) & (
        dense > dense.mean(axis=0, keepdims=True)
    )
    out = bf.pp.binarize_recovered(sparse.csr_matrix(dense))
    assert sparse.isspmatrix_csr(out) and out.dtype == np.float32
    np.testing.assert_array_equal(out.toarray(), expected.astype(np.float32))
    np.testing.assert_array_equal(bf.pp.binarize_recovered(dense).toarray(), expected)
    assert bf.pp.binarize_recovered(sparse.csr_matrix((3, 4))).nnz == 0
    with pytest.raises(ValueError, match="non-negative"):
        bf.pp.binarize_recovered(-dense - 1)


def test_recover_atac_counts(fitted_atac):
    a = fitted_atac
    state, var = a.uns[PP_UNS_KEY], a.var
    binary = (a.layers["counts"] > 0).astype(np.float32).toarray()
    # totals from obs["n_open_peaks"]
    rec = bf.pp.recover_atac_counts(a, state=state, var=var, binarize=False)
    assert sparse.isspmatrix_csr(rec) and rec.dtype == np.float32
    np.testing.assert_allclose(rec.toarray(), binary, atol=1e-5)
    # a translated prediction has no measured total: estimated from the profile itself,
    # exact for an exact TF-IDF profile; peaks in another order
    perm = np.random.default_rng(0).permutation(a.n_vars)
    pred = ad.AnnData(a.X[:, perm], obs=a.obs.drop(columns="n_open_peaks"), var=a.var.iloc[perm])
    est = bf.pp.estimate_totals(pred.X, idf=pred.var["idf"], scale=state["scale"])
    np.testing.assert_allclose(est, a.obs["n_open_peaks"], rtol=1e-4)
    rec = bf.pp.recover_atac_counts(pred, state=state, var=var, binarize=False)
    np.testing.assert_allclose(rec.toarray(), binary[:, perm], atol=1e-3)
    # binarised recovery (the default), explicit totals
    out = bf.pp.recover_atac_counts(pred, state=state, var=var, totals=np.ones(a.n_obs))
    assert sparse.isspmatrix_csr(out) and out.shape == pred.shape
    assert set(np.unique(out.data)) <= {1.0}
    expected = bf.pp.binarize_recovered(
        bf.pp.inverse_tfidf(
            pred.X, idf=pred.var["idf"], scale=state["scale"], totals=np.ones(a.n_obs)
        )
    )
    assert (out != expected).nnz == 0
    bad = pred.copy()
    bad.var_names = [f"x{i}" for i in range(bad.n_vars)]
    with pytest.raises(ValueError, match="not in the reference"):
        bf.pp.recover_atac_counts(bad, state=state, var=var)
    with pytest.raises(ValueError, match="expected 'accessibility'"):
        bf.pp.recover_atac_counts(pred, state={"kind": "protein"}, var=var)


def test_estimate_totals_zero_row():
    X = sparse.csr_matrix(np.array([[0.0, 0.0], [0.5, 0.5]]))
    est = bf.pp.estimate_totals(X, idf=[1.0, 1.0], scale=1.0)
    np.testing.assert_allclose(est, [0.0, 2.0])
