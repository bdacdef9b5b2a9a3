"""Tests of butterflyvi.datasets: bundled demo, shared-data loaders, synthetic generator."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import butterflyvi.datasets as ds
from _helpers import is_count_matrix, same_cells


@pytest.fixture(scope="module")
def synth():
    return ds.synthetic_paired(
        1200, n_genes=300, n_peaks=4000, n_proteins=12, n_cell_types=5, seed=3
    )


def test_synthetic_shapes_and_format(synth):
    assert tuple(synth.mod) == ("rna", "atac", "adt")
    assert synth.mod["rna"].shape == (1200, 300)
    assert synth.mod["atac"].shape == (1200, 4000)
    assert synth.mod["adt"].shape == (1200, 12)
    assert same_cells(synth)
    assert synth.obs["cell_type"].nunique() == 5
    for adata in synth.mod.values():
        assert is_count_matrix(adata.X)
        assert adata.X.has_canonical_format
    assert (np.diff(synth.mod["atac"].X.indptr) > 0).all()  # no empty cells
    var = synth.mod["atac"].var
    parsed = var.index.to_series().str.extract(r"^(chr\d+)-(\d+)-(\d+)$")
    assert (parsed[0] == var["chrom"].astype(str)).all()
    assert (parsed[1].astype(int) == var["start"]).all()
    assert (parsed[2].astype(int) == var["end"]).all()
    assert var["chrom"].nunique() == 20


def test_synthetic_optional_modalities():
    assert tuple(ds.synthetic_paired(50, n_genes=20, n_peaks=0).mod) == ("rna",)
    assert tuple(ds.synthetic_paired(50, n_genes=20, n_peaks=100).mod) == ("rna", "atac")


@pytest.mark.parametrize("density", [0.01, 0.05, 0.2])
def test_synthetic_peak_density(density):
    x = ds.synthetic_paired(1000, n_genes=20, n_peaks=3000, peak_density=density).mod["atac"].X
    assert x.nnz / (x.shape[0] * x.shape[1]) == pytest.approx(density, rel=0.1)
    assert np.mean(x.data == 1) > 0.7  # binary-ish


def test_synthetic_reproducible():
    kwargs = {"n_genes": 50, "n_peaks": 500, "n_proteins": 3, "chunk_size": 70}
    a, b = ds.synthetic_paired(200, seed=7, **kwargs), ds.synthetic_paired(200, seed=7, **kwargs)
    c = ds.synthetic_paired(200, seed=8, **kwargs)
    for mod in a.mod:
        assert (a.mod[mod].X != b.mod[mod].X).nnz == 0
        assert (a.mod[mod].X != c.mod[mod].X).nnz > 0
        assert a.mod[mod].var_names.equals(b.mod[mod].var_names)
    assert (a.obs["cell_type"] == b.obs["cell_type"]).all()


def _type_spread(x: sp.csr_matrix, labels: np.ndarray) -> float:
    """Variance across groups of the group mean profiles of normalised log counts."""
    x = sp.csr_matrix(x, dtype=np.float64)
    x = sp.diags(1e4 / np.asarray(x.sum(axis=1)).ravel()) @ x
    x.data = np.log1p(x.data)
    groups = np.unique(labels)
    means = np.vstack([np.asarray(x[labels == g].mean(axis=0)).ravel() for g in groups])
    return float(means.var(axis=0).sum())


@pytest.mark.parametrize("mod", ["rna", "atac", "adt"])
def test_synthetic_cell_type_structure(synth, mod):
    labels = synth.obs["cell_type"].to_numpy()
    shuffled = np.random.default_rng(0).permutation(labels)
    x = synth.mod[mod].X
    assert _type_spread(x, labels) > 5 * _type_spread(x, shuffled)


def test_synthetic_proteins_follow_their_genes(synth):
    genes = synth.mod["adt"].var["linked_gene"].to_numpy()
    rna = np.log1p(synth.mod["rna"][:, genes].X.toarray())
    adt = np.log1p(synth.mod["adt"].X.toarray())
    corr = [np.corrcoef(rna[:, i], adt[:, i])[0, 1] for i in range(len(genes))]
    assert np.mean(corr) > 0.2


def test_synthetic_is_sparse_at_scale():
    # a dense 2,000 x 500,000 float32 matrix would need 4 GB
    x = ds.synthetic_paired(2000, n_genes=20, n_peaks=500_000, peak_density=0.0005).mod["atac"].X
    assert isinstance(x, sp.csr_matrix)
    assert x.nnz == pytest.approx(2000 * 250, rel=0.1)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"n_cells": 0}, "n_cells"),
        ({"n_genes": 0}, "n_genes"),
        ({"n_peaks": -1}, "n_peaks"),
        ({"n_cell_types": 0}, "n_cell_types"),
        ({"peak_density": 0.0}, "peak_density"),
        ({"peak_density": 0.9}, "peak_density"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"n_cells": 10.5}, "n_cells"),
    ],
)
def test_synthetic_rejects_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        ds.synthetic_paired(**{"n_cells": 10, **kwargs})
