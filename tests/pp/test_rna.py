"""``preprocess_rna`` on real data, checked against plain numpy (and scanpy for the HVGs)."""

from __future__ import annotations

import anndata as ad
import mudata
import numpy as np
import pytest
import scanpy as sc
from scipy import sparse

import butterflyvi as bf
from butterflyvi._constants import PP_UNS_KEY

EXPRESSION = "expression"


@pytest.fixture(scope="module")
def snare_rna(shared_file):
    m = mudata.read_h5mu(shared_file("snareseq_mouse_cortex_chen2019.h5mu"))
    return m["rna"][:1000].copy()


def _expected_lognorm(dense):
    """Plain numpy: median-normalise (over cells with counts), log1p."""
    totals = dense.sum(axis=1, dtype=np.float64)
    median = np.median(totals[totals > 0])
    out = np.zeros_like(dense, dtype=np.float64)
    ok = totals > 0
    out[ok] = np.log1p(dense[ok] / totals[ok, None] * median)
    return out, median


def test_values_against_numpy(snare_rna):
    small = snare_rna[:200].copy()
    dense = small.X.toarray().astype(np.float64)
    expected, median = _expected_lognorm(dense)
    bf.pp.preprocess_rna(small, n_top_genes=10_000)  # keeps every gene
    assert small.n_vars == snare_rna.n_vars
    assert sparse.isspmatrix_csr(small.X) and small.X.dtype == np.float32
    assert sparse.isspmatrix_csr(small.layers["counts"])
    assert small.layers["counts"].dtype == np.float32
    np.testing.assert_allclose(small.X.toarray(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(small.layers["counts"].toarray(), dense)
    assert small.var["highly_variable"].all()
    state = small.uns[PP_UNS_KEY]
    assert state == {
        "kind": EXPRESSION,
        "target_sum": pytest.approx(median),
        "log1p": True,
        "n_top_genes": 10_000,
        "flavor": "seurat",
        "source_layer": "X",
        "scale": "none",
    }
    assert isinstance(state["target_sum"], float)


def test_hvg_subset_matches_scanpy(snare_rna):
    a = snare_rna.copy()
    ref = ad.AnnData(snare_rna.X.toarray())  # dense copy through the scanpy pipeline
    ref.var_names = snare_rna.var_names
    sc.pp.normalize_total(ref)
    sc.pp.log1p(ref)
    sc.pp.highly_variable_genes(ref, n_top_genes=300, flavor="seurat")
    expected = ref.var_names[ref.var["highly_variable"]]
    bf.pp.preprocess_rna(a, n_top_genes=300)
    assert list(a.var_names) == list(expected)
    assert a.layers["counts"].shape == (1000, len(expected))
    np.testing.assert_allclose(a.X.toarray(), ref[:, expected].X, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(a.layers["counts"].toarray(), snare_rna[:, expected].X.toarray())
    for col in ("means", "dispersions", "dispersions_norm"):
        np.testing.assert_allclose(a.var[col], ref.var.loc[expected, col], rtol=1e-4)


def test_subset_false_and_copy(snare_rna):
    before = snare_rna.copy()
    out = bf.pp.preprocess_rna(snare_rna, n_top_genes=100, subset=False, copy=True)
    assert out is not snare_rna and out.n_vars == snare_rna.n_vars
    assert int(out.var["highly_variable"].sum()) == 100
    assert (snare_rna.X != before.X).nnz == 0 and PP_UNS_KEY not in snare_rna.uns
    assert "counts" not in snare_rna.layers


def test_layer_counts_and_numeric_target(shared_file):
    a = ad.read_h5ad(shared_file("bmmc_multiome_starter_rna.h5ad"))  # X is log-normalised
    counts = a.layers["counts"].toarray()
    with pytest.raises(ValueError, match=r"non-integer.*layer=.*counts"):
        bf.pp.preprocess_rna(a)
    bf.pp.preprocess_rna(a, layer="counts", target_sum=1e4, n_top_genes=100)
    assert a.n_vars == 100 and a.uns[PP_UNS_KEY]["source_layer"] == "counts"
    assert a.uns[PP_UNS_KEY]["target_sum"] == 1e4
    b = ad.read_h5ad(shared_file("bmmc_multiome_starter_rna.h5ad"))
    cols = b.var_names.get_indexer(a.var_names)
    totals = counts.sum(axis=1)
    expected = np.log1p(counts / totals[:, None] * 1e4)[:, cols]
    np.testing.assert_allclose(a.X.toarray(), expected, rtol=1e-5, atol=1e-6)
    assert sparse.isspmatrix_csr(a.layers["counts"])


def test_dense_input_and_zero_cells():
    rng = np.random.default_rng(0)
    dense = rng.poisson(1.0, size=(30, 12)).astype(np.float32)
    dense[[3, 7]] = 0
    a = ad.AnnData(dense.copy())
    with pytest.warns(UserWarning, match="2 of 30 cells have a total count of 0"):
        bf.pp.preprocess_rna(a, n_top_genes=12)
    assert sparse.isspmatrix_csr(a.X) and a.X.dtype == np.float32
    expected, _ = _expected_lognorm(dense.astype(np.float64))
    np.testing.assert_allclose(a.X.toarray(), expected, rtol=1e-5, atol=1e-6)
    assert a.X[[3, 7]].nnz == 0 and np.isfinite(a.X.data).all()


def test_view_is_not_modified(snare_rna):
    view = snare_rna[:50]
    parent_before = snare_rna.copy()
    bf.pp.preprocess_rna(view, n_top_genes=50)
    assert view.n_vars == 50
    assert snare_rna.n_vars == parent_before.n_vars and (snare_rna.X != parent_before.X).nnz == 0


@pytest.mark.parametrize("n_top_genes", [500, 3000])
def test_torch_thread_setting_survives_preprocessing(snare_rna, n_top_genes):
    # scanpy's HVG code reset the OpenMP thread count torch shares (1 -> all cores), which made
    # trainings after preprocess_rna 10-20x slower on a busy machine.
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        bf.pp.preprocess_rna(snare_rna.copy(), n_top_genes=n_top_genes)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
