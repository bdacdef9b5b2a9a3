"""Tests of butterflyvi.datasets: bundled demo, shared-data loaders, synthetic generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import butterflyvi.datasets as ds
from butterflyvi.datasets._alias import alias_table
from butterflyvi.datasets._csr_builder import CSRBuilder
from butterflyvi.datasets._locate import ENV_VAR
from butterflyvi.datasets._mudata_utils import read_h5mu
from butterflyvi.datasets._shared import SHARED_FILES, _locate

SNARESEQ_FILE = "snareseq_mouse_cortex_chen2019.h5mu"


def _is_count_matrix(x) -> bool:
    return (
        isinstance(x, sp.csr_matrix)
        and x.data.min(initial=0) >= 0
        and np.array_equal(x.data, np.round(x.data))
    )


def _same_cells(mdata) -> bool:
    names = [a.obs_names for a in mdata.mod.values()]
    return all(n.equals(names[0]) for n in names) and mdata.obs_names.equals(names[0])


# --------------------------------------------------------------------------- bundled demo
@pytest.fixture(scope="module")
def demo():
    return ds.snareseq_demo()


def test_demo_shapes_and_annotations(demo):
    assert set(demo.mod) == {"rna", "atac"}
    assert demo.n_obs == 2000
    assert demo.mod["rna"].n_vars == 1677
    assert 15_000 < demo.mod["atac"].n_vars <= 25_734
    assert _same_cells(demo)
    for adata in demo.mod.values():
        assert _is_count_matrix(adata.X)
        assert adata.X.dtype == np.float32
        for column in ("cell_type", "cell_type_coarse", "library"):
            assert column in adata.obs
    for column in ("cell_type", "cell_type_coarse", "library", "rna:cell_type"):
        assert column in demo.obs
    assert demo.obs["cell_type"].nunique() == 23
    assert {"chrom", "start", "end"} <= set(demo.mod["atac"].var.columns)
    # every kept peak is open in at least one cell
    assert (np.diff(demo.mod["atac"].X.tocsc().indptr) > 0).all()


def test_demo_stratified_keeps_rare_types(demo):
    counts = demo.obs["cell_type"].value_counts()
    assert counts.min() >= 10
    assert counts.idxmax() == "E2Rasgrf2"  # the commonest type of the full data


def test_demo_returns_fresh_objects(demo):
    other = ds.snareseq_demo()
    other.mod["rna"].X.data[:] = -1
    other.obs["cell_type"] = "x"
    assert demo.mod["rna"].X.data.min() >= 0
    assert (demo.obs["cell_type"] != "x").all()


def test_demo_is_a_real_subset(demo, shared_file):
    full = read_h5mu(shared_file(SNARESEQ_FILE))
    positions = full.obs_names.get_indexer(demo.obs_names)
    assert (positions >= 0).all()
    assert (np.diff(positions) > 0).all()  # the file's order is kept
    rna = full.mod["rna"]
    assert demo.mod["rna"].var_names.equals(rna.var_names)
    assert (rna.X[positions] != demo.mod["rna"].X).nnz == 0

    atac = full.mod["atac"]
    peaks = atac.var_names.get_indexer(demo.mod["atac"].var_names)
    assert (peaks >= 0).all()
    rows = atac.X[positions]
    assert (rows[:, peaks] != demo.mod["atac"].X).nnz == 0
    assert rows.sum() == demo.mod["atac"].X.sum()  # the dropped peaks are closed in these cells
    pd.testing.assert_frame_equal(
        atac.var.iloc[peaks][["chrom", "start", "end"]],
        demo.mod["atac"].var[["chrom", "start", "end"]],
    )
    for column in ("cell_type", "cell_type_coarse", "library"):
        expected = rna.obs[column].iloc[positions].astype(str).to_numpy()
        assert (demo.obs[column].astype(str).to_numpy() == expected).all()


# --------------------------------------------------------------------------- shared loaders
EXPECTED_MODS = {
    "snareseq": ("rna", "atac"),
    "bmmc_multiome": ("rna", "atac"),
    "bmmc_cite": ("rna", "adt"),
    "pbmc10k_cite": ("rna", "prot"),
    "pbmc_multiome": ("atac", "rna"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_MODS))
def test_load_shared_mudata(name, shared_file):
    folder = shared_file(SHARED_FILES[name][0]).parent
    for file in SHARED_FILES[name]:
        shared_file(file)
    mdata = ds.load_shared(name, path=folder)
    assert tuple(mdata.mod) == EXPECTED_MODS[name]
    assert _same_cells(mdata)
    for adata in mdata.mod.values():
        assert _is_count_matrix(adata.X), f"{name}: X must hold raw counts"
    if name.startswith("bmmc"):
        assert "cell_type" in mdata.obs
        assert "rna:cell_type" in mdata.obs
        for adata in mdata.mod.values():
            assert "normalized" in adata.layers
            assert "counts" not in adata.layers
    if name == "snareseq":
        assert mdata.obs["cell_type"].nunique() == 23
    if name == "pbmc10k_cite":
        assert "cluster_label" in mdata.obs


def test_load_shared_kang(shared_file):
    adata = ds.load_shared("kang", path=shared_file(SHARED_FILES["kang"][0]).parent)
    assert adata.shape == (1975, 6998)
    assert set(adata.obs["condition"]) == {"control", "stimulated"}
    assert adata.obs["cell_type"].nunique() == 7


def test_list_shared(shared_data_dir):
    names = ds.list_shared(path=shared_data_dir)
    assert set(names) <= set(SHARED_FILES)
    assert ds.list_shared(path=shared_data_dir / "no_such_folder") == []


def test_snareseq_split(shared_file):
    split = ds.snareseq_split(path=shared_file("snareseq_split.json").parent)
    assert {k: len(v) for k, v in split.items()} == {
        "train": 8247,
        "validation": 1030,
        "test": 1032,
    }
    together = [c for part in split.values() for c in part]
    assert len(set(together)) == 10309
    full = read_h5mu(shared_file(SNARESEQ_FILE))
    assert set(together) == set(full.obs_names)


def test_missing_file_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="snareseq_mouse_cortex") as info:
        ds.load_shared("snareseq", path=tmp_path)
    assert str(tmp_path) in str(info.value)


def test_missing_file_names_the_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=ENV_VAR) as info:
        _locate("no_such_file.h5mu", path=None, caller="test")
    assert str(tmp_path) in str(info.value)


def test_unknown_name():
    with pytest.raises(ValueError, match="name must be one of"):
        ds.load_shared("no_such_dataset")


def test_shared_data_dir_env(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert ds.shared_data_dir() == tmp_path
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing"))
    with pytest.warns(UserWarning, match=ENV_VAR):
        ds.shared_data_dir()


# --------------------------------------------------------------------------- synthetic
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
    assert _same_cells(synth)
    assert synth.obs["cell_type"].nunique() == 5
    for adata in synth.mod.values():
        assert _is_count_matrix(adata.X)
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


# --------------------------------------------------------------------------- helpers
@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 100.0), min_size=1, max_size=60).filter(lambda w: sum(w) > 1e-3))
def test_alias_table_reproduces_the_weights(weights):
    accept, alias = alias_table(np.array(weights))
    n = len(weights)
    implied = accept.astype(np.float64).copy()
    np.add.at(implied, alias, 1.0 - accept)
    np.testing.assert_allclose(implied / n, np.array(weights) / sum(weights), atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 7), min_size=1, max_size=6), st.integers(0, 2**16))
def test_csr_builder_matches_vstack(block_rows, seed):
    rng = np.random.default_rng(seed)
    blocks = [
        sp.random(
            r,
            9,
            density=0.3,
            format="csr",
            random_state=rng,
            data_rvs=lambda k: rng.integers(1, 9, k),
        )
        for r in block_rows
    ]
    builder = CSRBuilder(n_cols=9, capacity=1)
    for block in blocks:
        builder.append_csr(block)
    out = builder.finish()
    assert (out != sp.vstack(blocks, format="csr")).nnz == 0
    assert out.shape == (sum(block_rows), 9)
