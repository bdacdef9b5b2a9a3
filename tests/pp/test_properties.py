"""Property tests on random small count matrices: TF-IDF and CLR invariants, edge shapes."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import sparse

import butterflyvi as bf
from butterflyvi._constants import PP_UNS_KEY

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def count_matrices(draw):
    """Small count matrices, mostly zeros, including 1 cell, 1 feature and empty rows."""
    n_cells = draw(st.integers(1, 9))
    n_features = draw(st.integers(1, 9))
    counts = draw(
        arrays(
            np.int64,
            (n_cells, n_features),
            elements=st.integers(0, 7),
            fill=st.just(0),
        )
    )
    if draw(st.booleans()) and n_cells > 1:  # force an all-zero row
        counts[draw(st.integers(0, n_cells - 1))] = 0
    return counts.astype(np.float32)


def _adata(counts, as_sparse):
    X = sparse.csr_matrix(counts) if as_sparse else counts.copy()
    a = ad.AnnData(X)
    a.var_names = [f"chr{1 + i % 3}:{10 * i}-{10 * i + 5}" for i in range(counts.shape[1])]
    return a


@SETTINGS
@given(counts=count_matrices(), as_sparse=st.booleans())
def test_tfidf_invariants(counts, as_sparse):
    a = _adata(counts, as_sparse)
    if not counts.any():
        with pytest.raises(ValueError, match="found none"):
            bf.pp.preprocess_atac(a, min_cell_fraction=0.0)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # empty cells are warned about
        bf.pp.preprocess_atac(a, min_cell_fraction=0.0)
    kept = counts.any(axis=0)
    assert a.n_vars == int(kept.sum())
    X = a.X
    assert sparse.isspmatrix_csr(X) and X.dtype == np.float32
    dense = X.toarray()
    assert np.isfinite(dense).all()
    assert dense.min() >= 0 and dense.max() == 1.0
    # zeros preserved: exactly the open entries are non-zero
    assert np.array_equal(dense > 0, counts[:, kept] > 0)
    assert X.nnz == int((counts[:, kept] > 0).sum())
    np.testing.assert_array_equal(a.obs["n_open_peaks"], (counts[:, kept] > 0).sum(axis=1))
    # within a cell, all open peaks share the TF: values are proportional to the IDF
    idf = a.var["idf"].to_numpy()
    for i in range(dense.shape[0]):
        row = dense[i] > 0
        if row.any():
            ratios = dense[i, row] / idf[row]
            np.testing.assert_allclose(ratios, ratios[0], rtol=1e-5)
    # re-apply and invert
    state = a.uns[PP_UNS_KEY]
    raw = _adata(counts, True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        again = bf.pp.apply_preprocessing(raw, state=state, var=a.var)
    assert np.allclose(again.X.toarray(), dense)
    rec = bf.pp.inverse_tfidf(X, idf=idf, scale=state["scale"], totals=a.obs["n_open_peaks"])
    np.testing.assert_allclose(rec.toarray(), (counts[:, kept] > 0).astype(float), atol=1e-5)


@SETTINGS
@given(counts=count_matrices(), as_sparse=st.booleans())
def test_clr_invariants(counts, as_sparse):
    a = _adata(counts, as_sparse)
    bf.pp.preprocess_adt(a)
    X = a.X
    assert sparse.isspmatrix_csr(X) and X.dtype == np.float32
    dense = X.toarray()
    assert np.isfinite(dense).all() and dense.min() >= 0
    assert np.array_equal(dense > 0, counts > 0)  # zeros stay zero, counts stay non-zero
    # monotone within a cell: more counts -> larger value
    for i in range(counts.shape[0]):
        order = np.argsort(counts[i], kind="stable")
        assert np.all(np.diff(dense[i, order]) >= -1e-6)
    np.testing.assert_array_equal(a.layers["counts"].toarray(), counts)


@settings(max_examples=20, deadline=None)  # scanpy's HVG costs ~0.1 s per call
@given(counts=count_matrices())
def test_expression_invariants(counts):
    a = _adata(counts, True)
    if not counts.any():
        with pytest.raises(ValueError, match="only empty cells"):
            bf.pp.preprocess_rna(a, n_top_genes=counts.shape[1])
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        bf.pp.preprocess_rna(a, n_top_genes=counts.shape[1])
    dense = a.X.toarray()
    assert np.isfinite(dense).all() and dense.min() >= 0
    assert np.array_equal(dense > 0, counts > 0)
    target = a.uns[PP_UNS_KEY]["target_sum"]
    totals = counts.sum(axis=1)
    ok = totals > 0
    np.testing.assert_allclose(np.expm1(dense[ok]).sum(axis=1), target, rtol=1e-4)


@SETTINGS
@given(
    values=arrays(np.float64, (5, 6), elements=st.floats(0, 10), fill=st.just(0.0)),
)
def test_binarize_recovered_invariants(values):
    out = bf.pp.binarize_recovered(sparse.csr_matrix(values)).toarray()
    assert set(np.unique(out)) <= {0.0, 1.0}
    assert not np.any(out[values == 0])
    expected = (values > values.mean(axis=1, keepdims=True)) & (
        values > values.mean(axis=0, keepdims=True)
    )
    np.testing.assert_array_equal(out, expected)
