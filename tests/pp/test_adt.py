"""``preprocess_adt`` (Seurat-style CLR) on real data, checked against plain numpy."""

from __future__ import annotations

import anndata as ad
import mudata
import numpy as np
import pytest
from scipy import sparse

import butterflyvi as bf
from butterflyvi._constants import PP_UNS_KEY

PROTEIN = "protein"


def _clr_rows(dense):
    """Seurat's clr_function, one cell at a time."""
    out = np.zeros_like(dense, dtype=np.float64)
    for i, x in enumerate(dense):
        g = np.exp(np.sum(np.log1p(x[x > 0])) / x.size)
        out[i] = np.log1p(x / g)
    return out


def test_pbmc10k_prot(shared_file):
    m = mudata.read_h5mu(shared_file("pbmc10k_cite_10x_scmdc1000g.h5mu"))
    prot = m["prot"][:500].copy()
    dense = prot.X.toarray().astype(np.float64)
    bf.pp.preprocess_adt(prot)
    assert sparse.isspmatrix_csr(prot.X) and prot.X.dtype == np.float32
    np.testing.assert_allclose(prot.X.toarray(), _clr_rows(dense), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(prot.layers["counts"].toarray(), dense)
    assert prot.uns[PP_UNS_KEY] == {"kind": PROTEIN, "method": "clr", "source_layer": "X"}


def test_bmmc_cite_layer_and_zeros(shared_file):
    a = ad.read_h5ad(shared_file("bmmc_cite_starter_adt.h5ad"))
    dense = a.layers["counts"].toarray()
    with pytest.raises(ValueError, match="non-integer"):
        bf.pp.preprocess_adt(a)  # X is normalised already
    out = bf.pp.preprocess_adt(a, layer="counts", copy=True)
    np.testing.assert_allclose(out.X.toarray(), _clr_rows(dense), rtol=1e-5, atol=1e-6)
    # zeros stay zeros: same sparsity pattern as the counts
    assert out.X.nnz == np.count_nonzero(dense)
    assert np.array_equal(out.X.toarray() > 0, dense > 0)
    assert out.uns[PP_UNS_KEY]["source_layer"] == "counts"
    assert PP_UNS_KEY not in a.uns


def test_dense_input_and_empty_cell():
    X = np.array([[0, 0, 0], [1, 0, 3], [10, 10, 10]], dtype=np.float32)
    a = ad.AnnData(X.copy())
    bf.pp.preprocess_adt(a)
    assert sparse.isspmatrix_csr(a.X)
    np.testing.assert_allclose(a.X.toarray(), _clr_rows(X.astype(np.float64)), rtol=1e-6)
    assert a.X[0].nnz == 0
