"""Tests of butterflyvi.datasets: bundled demo, shared-data loaders, synthetic generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import butterflyvi.datasets as ds
from _helpers import SNARESEQ_FILE, is_count_matrix, same_cells
from butterflyvi.datasets._mudata_utils import read_h5mu


@pytest.fixture(scope="module")
def demo():
    return ds.snareseq_demo()


def test_demo_shapes_and_annotations(demo):
    assert set(demo.mod) == {"rna", "atac"}
    assert demo.n_obs == 2000
    assert demo.mod["rna"].n_vars == 1677
    assert 15_000 < demo.mod["atac"].n_vars <= 25_734
    assert same_cells(demo)
    for adata in demo.mod.values():
        assert is_count_matrix(adata.X)
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
