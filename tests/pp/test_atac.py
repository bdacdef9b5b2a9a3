"""``preprocess_atac`` on real data, checked against plain numpy on dense slices."""

from __future__ import annotations

import math

import anndata as ad
import mudata
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import butterflyvi as bf
from butterflyvi._constants import PP_UNS_KEY

ACCESSIBILITY = "accessibility"


@pytest.fixture(scope="module")
def snare_atac(shared_file):
    m = mudata.read_h5mu(shared_file("snareseq_mouse_cortex_chen2019.h5mu"))
    return m["atac"][:1000].copy()


def _expected(dense, fraction):
    """Plain numpy: binarise, filter, TF-IDF, scale."""
    n = dense.shape[0]
    binary = (dense > 0).astype(np.float64)
    n_open = binary.sum(axis=0)
    keep = n_open >= max(1, math.ceil(fraction * n))
    b = binary[:, keep]
    rowsum = b.sum(axis=1)
    tf = np.divide(b, rowsum[:, None], out=np.zeros_like(b), where=rowsum[:, None] > 0)
    idf = np.log(1 + n / b.sum(axis=0))
    tfidf = tf * idf
    return tfidf / tfidf.max(), keep, idf, tfidf.max(), rowsum, n_open


@pytest.mark.parametrize("fraction", [0.005, 0.05])
def test_values_against_numpy(snare_atac, fraction):
    small = snare_atac[:300, :6000].copy()
    dense = small.X.toarray().astype(np.float64)
    expected, keep, idf, scale, rowsum, n_open = _expected(dense, fraction)
    names = small.var_names[keep]
    bf.pp.preprocess_atac(small, min_cell_fraction=fraction)
    assert list(small.var_names) == list(names)
    assert sparse.isspmatrix_csr(small.X) and small.X.dtype == np.float32
    np.testing.assert_allclose(small.X.toarray(), expected, rtol=1e-6, atol=1e-7)
    assert small.X.max() == 1.0 and small.X.min() >= 0
    np.testing.assert_allclose(small.var["idf"], idf, rtol=1e-12)
    np.testing.assert_array_equal(small.var["n_cells_open"], n_open[keep])
    np.testing.assert_array_equal(small.obs["n_open_peaks"], rowsum)
    counts = small.layers["counts"]
    assert sparse.isspmatrix_csr(counts) and counts.dtype == np.float32
    np.testing.assert_array_equal(counts.toarray(), dense[:, keep])
    assert small.uns[PP_UNS_KEY] == {
        "kind": ACCESSIBILITY,
        "scale": pytest.approx(scale, rel=1e-12),
        "min_cell_fraction": fraction,
        "n_cells_fit": 300,
        "source_layer": "X",
        "transform": "tfidf",
    }
    parts = [n.split("_") for n in names]
    assert small.var["chrom"].tolist() == [p[0] for p in parts]
    assert small.var["start"].tolist() == [int(p[1]) for p in parts]


def test_threshold_is_inclusive():
    # 200 cells, fraction 0.01 -> 2 cells: a peak open in exactly 2 cells is kept, 1 dropped.
    X = np.zeros((200, 3), dtype=np.float32)
    X[:2, 0] = 1
    X[:1, 1] = 5
    X[:100, 2] = 3  # cells 100-199 have no open peak
    a = ad.AnnData(X, var={"x": [0, 1, 2]})
    a.var_names = ["chr1:1-2", "chr1:3-4", "chr2:1-2"]
    with pytest.warns(UserWarning, match="100 of 200 cells have no open peak"):
        bf.pp.preprocess_atac(a, min_cell_fraction=0.01)
    assert list(a.var_names) == ["chr1:1-2", "chr2:1-2"]


def test_dense_input_and_empty_peaks_dropped():
    X = np.array([[0, 2, 0, 1], [0, 1, 0, 0], [0, 0, 0, 4]], dtype=np.float32)
    a = ad.AnnData(X)
    a.var_names = [f"chr1-{i}-{i + 1}" for i in range(4)]
    bf.pp.preprocess_atac(a, min_cell_fraction=0.0)
    assert list(a.var_names) == ["chr1-1-2", "chr1-3-4"]
    assert sparse.isspmatrix_csr(a.X)


def test_bmmc_layer_and_scaffold(shared_file):
    a = ad.read_h5ad(shared_file("bmmc_multiome_starter_atac.h5ad"))
    dense = a.layers["counts"].toarray()
    expected, *_ = _expected(dense, 0.005)
    bf.pp.preprocess_atac(a, layer="counts")
    np.testing.assert_allclose(a.X.toarray(), expected, rtol=1e-6, atol=1e-7)
    assert a.uns[PP_UNS_KEY]["source_layer"] == "counts"
    groups = bf.pp.chromosome_groups(a.var)
    assert sum(len(p) for _, p in groups) == a.n_vars


def test_muon_colon_names(shared_file):
    m = mudata.read_h5mu(shared_file("pbmc_multiome_muon_test1000.h5mu"))
    atac = m["atac"].copy()
    out = bf.pp.preprocess_atac(atac, copy=True)
    assert PP_UNS_KEY not in atac.uns and "idf" not in atac.var
    assert out.var["chrom"].iloc[0] == "chr1"
    assert np.isfinite(out.X.data).all() and out.X.max() == 1.0


def test_existing_coordinates_used(snare_atac):
    small = snare_atac[:100, :500].copy()
    small.var_names = [f"peak{i}" for i in range(small.n_vars)]  # unparseable names
    bf.pp.preprocess_atac(small)
    assert small.var["chrom"].iloc[0] == "chr1"


def _random_counts(seed: int, shape=(60, 40), density=0.2) -> sparse.csr_matrix:
    rng = np.random.default_rng(seed)
    X = sparse.random(*shape, density=density, format="csr", random_state=rng, dtype=np.float32)
    X.data = np.ceil(X.data * 5)
    X.sort_indices()
    return X


def test_tfidf_in_row_blocks_equals_one_block(monkeypatch):
    """Computed a few rows at a time (a bounded memory peak), the values are exactly those of
    one pass; a block limit below a row's entries still takes that row whole."""
    from butterflyvi.pp import _atac

    X = _random_counts(0)
    X[7] = 0  # an empty row
    X.eliminate_zeros()
    idf = np.linspace(0.5, 3.0, X.shape[1])
    whole, totals, scale = _atac.tfidf_scaled(X, idf)
    monkeypatch.setattr(_atac, "_TFIDF_BLOCK_ENTRIES", 3)
    assert len(_atac._row_blocks(X.indptr, 3)) == X.shape[0]
    blocked, totals_b, scale_b = _atac.tfidf_scaled(X, idf)
    assert scale_b == scale
    np.testing.assert_array_equal(totals_b, totals)
    np.testing.assert_array_equal(blocked.indices, whole.indices)
    np.testing.assert_array_equal(blocked.data, whole.data)
    dense = (X.toarray() > 0) / np.maximum(totals, 1)[:, None] * idf
    np.testing.assert_allclose(whole.toarray(), dense / dense.max(), rtol=1e-6)
    assert not np.shares_memory(whole.indices, X.indices)


def test_canonical_input_is_read_in_place_and_left_unchanged():
    """A canonical float32 CSR is not copied first; the result equals that of another
    layout of the same counts, and the input's arrays are untouched."""
    X = _random_counts(1)
    before = (X.data.copy(), X.indices.copy(), X.indptr.copy())
    canonical = ad.AnnData(X, var=pd.DataFrame(index=[f"chr1:{i}00-{i}50" for i in range(40)]))
    other = canonical.copy()
    other.X = sparse.csc_matrix(X.astype(np.int64))
    out = bf.pp.preprocess_atac(canonical, min_cell_fraction=0.1, copy=True)
    ref = bf.pp.preprocess_atac(other, min_cell_fraction=0.1, copy=True)
    for a, b in ((out.X, ref.X), (out.layers["counts"], ref.layers["counts"])):
        np.testing.assert_array_equal(a.toarray(), b.toarray())
        assert a.dtype == b.dtype == np.float32
    for array, saved in zip((X.data, X.indices, X.indptr), before, strict=True):
        np.testing.assert_array_equal(array, saved)
    assert not np.shares_memory(out.layers["counts"].data, X.data)
    assert not np.shares_memory(out.X.indices, out.layers["counts"].indices)
