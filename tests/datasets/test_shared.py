"""Tests of butterflyvi.datasets: bundled demo, shared-data loaders, synthetic generator."""

from __future__ import annotations

import pytest

import butterflyvi.datasets as ds
from _helpers import SNARESEQ_FILE, is_count_matrix, same_cells
from butterflyvi.datasets._locate import ENV_VAR
from butterflyvi.datasets._mudata_utils import read_h5mu
from butterflyvi.datasets._shared import SHARED_FILES, _locate

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
    assert same_cells(mdata)
    for adata in mdata.mod.values():
        assert is_count_matrix(adata.X), f"{name}: X must hold raw counts"
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
    with pytest.raises(ValueError, match="name: expected one of"):
        ds.load_shared("no_such_dataset")


def test_shared_data_dir_env(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert ds.shared_data_dir() == tmp_path
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing"))
    with pytest.warns(UserWarning, match=ENV_VAR):
        ds.shared_data_dir()
