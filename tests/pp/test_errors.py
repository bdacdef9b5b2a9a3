"""Bad input gets a clear ValueError, and the user's AnnData is left exactly as it was."""

from __future__ import annotations

import anndata as ad
import mudata
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import butterflyvi as bf
from butterflyvi._constants import PP_UNS_KEY


def assert_adata_equal(a: ad.AnnData, b: ad.AnnData) -> None:
    assert a.shape == b.shape
    assert list(a.obs_names) == list(b.obs_names) and list(a.var_names) == list(b.var_names)
    pd.testing.assert_frame_equal(a.obs, b.obs)
    pd.testing.assert_frame_equal(a.var, b.var)
    assert type(a.X) is type(b.X)

    def same(x, y):
        if sparse.issparse(x):
            return (
                x.format == y.format
                and x.dtype == y.dtype
                and np.array_equal(x.indptr, y.indptr)
                and np.array_equal(x.indices, y.indices)
                and np.array_equal(x.data, y.data, equal_nan=True)
            )
        return np.array_equal(x, y, equal_nan=True) and x.dtype == y.dtype

    assert same(a.X, b.X)
    assert set(a.layers.keys()) == set(b.layers.keys())
    for key in a.layers.keys():
        assert same(a.layers[key], b.layers[key])
    assert set(a.uns.keys()) == set(b.uns.keys())


@pytest.fixture(scope="module")
def snare(shared_file):
    m = mudata.read_h5mu(shared_file("snareseq_mouse_cortex_chen2019.h5mu"))
    return m["rna"][:200, :300].copy(), m["atac"][:200, :2000].copy()


def _corrupt(adata, kind, fmt):
    a = adata.copy()
    X = a.X.toarray() if fmt == "dense" else a.X.copy()
    if kind == "negative":
        (X.data if sparse.issparse(X) else X.reshape(-1))[3] = -2
    elif kind == "nan":
        (X.data if sparse.issparse(X) else X.reshape(-1))[5] = np.nan
    elif kind == "noninteger":
        X = X.astype(np.float32) * 0.37
    a.X = X
    return a


FUNCTIONS = {
    "rna": lambda a, **kw: bf.pp.preprocess_rna(a, n_top_genes=50, **kw),
    "atac": bf.pp.preprocess_atac,
    "adt": bf.pp.preprocess_adt,
}
MESSAGES = {
    "negative": r"adata\.X.*non-negative integers.*negative",
    "nan": r"adata\.X.*finite.*NaN",
    "noninteger": r"adata\.X.*non-integer.*layer=",
}


@pytest.mark.parametrize("which", list(FUNCTIONS))
@pytest.mark.parametrize("kind", list(MESSAGES))
@pytest.mark.parametrize("fmt", ["csr", "dense"])
def test_bad_counts_leave_input_unchanged(snare, which, kind, fmt):
    base = snare[0] if which != "atac" else snare[1]
    bad = _corrupt(base, kind, fmt)
    before = bad.copy()
    with pytest.raises(ValueError, match=MESSAGES[kind]):
        FUNCTIONS[which](bad)
    assert_adata_equal(bad, before)
    with pytest.raises(ValueError, match=MESSAGES[kind]):
        FUNCTIONS[which](bad, copy=True)
    assert_adata_equal(bad, before)


@pytest.mark.parametrize("which", list(FUNCTIONS))
@pytest.mark.parametrize("shape", [(0, 5), (4, 0)])
def test_empty_matrix(which, shape):
    a = ad.AnnData(sparse.csr_matrix(shape, dtype=np.float32))
    if shape[1]:
        a.var_names = [f"chr1:{i}-{i + 1}" for i in range(shape[1])]
    before = a.copy()
    with pytest.raises(ValueError, match=rf"adata\.X: .*{shape[0]} × {shape[1]} \(empty"):
        FUNCTIONS[which](a)
    assert_adata_equal(a, before)


def test_unparseable_peak_names(snare):
    _, atac = snare
    a = atac.copy()
    a.var = pd.DataFrame(index=[f"peak_{i}" for i in range(a.n_vars)])
    a.var_names = [f"peak_{i}" for i in range(a.n_vars)]
    before = a.copy()
    with pytest.raises(ValueError, match=r"2,000 of 2,000 names.*'peak_0'.*Accepted formats"):
        bf.pp.preprocess_atac(a)
    assert_adata_equal(a, before)


def test_no_peak_passes_filter_and_bad_arguments(snare):
    _, atac = snare
    a = atac.copy()
    before = a.copy()
    with pytest.raises(ValueError, match=r"min_cell_fraction=1.0.*found none"):
        bf.pp.preprocess_atac(a, min_cell_fraction=1.0)
    with pytest.raises(ValueError, match=r"min_cell_fraction: expected a number in \[0, 1\]"):
        bf.pp.preprocess_atac(a, min_cell_fraction=5)
    with pytest.raises(ValueError, match="layer"):
        bf.pp.preprocess_atac(a, layer="counts")
    assert_adata_equal(a, before)


def test_rna_bad_arguments(snare):
    rna, _ = snare
    a = rna.copy()
    before = a.copy()
    with pytest.raises(ValueError, match="n_top_genes"):
        bf.pp.preprocess_rna(a, n_top_genes=0)
    with pytest.raises(ValueError, match="target_sum"):
        bf.pp.preprocess_rna(a, target_sum=-1)
    with pytest.raises(ValueError, match="target_sum"):
        bf.pp.preprocess_rna(a, target_sum="mean")
    with pytest.raises(ValueError, match="flavor"):
        bf.pp.preprocess_rna(a, flavor="pearson")
    zero = ad.AnnData(sparse.csr_matrix((3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="only empty cells"):
        bf.pp.preprocess_rna(zero)
    one = ad.AnnData(sparse.csr_matrix(np.ones((1, 4), dtype=np.float32)))
    with pytest.raises(ValueError, match="at least 2 cells"):
        bf.pp.preprocess_rna(one, n_top_genes=2)
    bf.pp.preprocess_rna(one, n_top_genes=4)  # keeping every gene works with 1 cell
    assert one.var["highly_variable"].all()
    assert_adata_equal(a, before)


def test_apply_refuses_bad_counts_and_duplicates(snare):
    rna, _ = snare
    fitted = bf.pp.preprocess_rna(rna, n_top_genes=50, copy=True)
    bad = _corrupt(rna, "noninteger", "csr")
    before = bad.copy()
    with pytest.raises(ValueError, match="non-integer"):
        bf.pp.apply_preprocessing(bad, state=fitted.uns[PP_UNS_KEY], var=fitted.var)
    assert_adata_equal(bad, before)
    dup = rna.copy()
    names = list(dup.var_names)
    names[1] = fitted.var_names[0]
    dup.var_names = names
    with pytest.raises(ValueError, match="duplicated"):
        bf.pp.apply_preprocessing(dup, state=fitted.uns[PP_UNS_KEY], var=fitted.var)
