"""Models load from their file alone (no training data) and translate as before saving;
files written by release 0.1.0 still load."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pytest

import butterflyvi as bf
from _synthetic import assert_float32_close, dense, tiny_paired

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SAVED_BY_0_1_0 = Path(__file__).resolve().parents[1] / "data" / "saved_by_0.1.0"

TRAIN = {"batch_size": 16, "accelerator": "cpu", "enable_progress_bar": False}


@pytest.fixture(scope="module")
def trained():
    mdata = tiny_paired(80, n_genes=30, n_peaks=80)
    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = bf.ButterflyModel(mdata, n_hidden=16, n_embedding=16, n_latent=8, chromosome_units=4)
    model.train(max_epochs_pretrain=2, max_epochs=2, **TRAIN)
    return model


def new_cells(n: int = 25) -> ad.AnnData:
    return tiny_paired(n, n_genes=30, n_peaks=80, seed=7, preprocess=False)["rna"]


def test_saved_without_data_loads_from_its_file_alone(trained, tmp_path):
    counts = new_cells()
    expected = trained.translate(counts, source="rna", threshold=0)
    trained.save(tmp_path / "m", save_anndata=False)
    assert not (tmp_path / "m" / "mdata.h5mu").exists()

    loaded = bf.ButterflyModel.load(tmp_path / "m")
    assert loaded.adata is None and loaded.is_trained_
    assert loaded.modalities_ == ["rna", "atac"] and loaded.kinds_ == trained.kinds_
    got = loaded.translate(counts, source="rna", threshold=0)
    np.testing.assert_array_equal(got.var_names, expected.var_names)
    assert_float32_close(dense(got.X), dense(expected.X))
    assert_float32_close(
        loaded.get_latent_representation(counts, modality="rna"),
        trained.get_latent_representation(counts, modality="rna"),
    )
    # the other direction, from preprocessed values of the training modality
    atac = trained.adata["atac"]
    assert_float32_close(
        dense(loaded.translate(atac, source="atac", threshold=0).X),
        dense(trained.translate(atac, source="atac", threshold=0).X),
    )
    # a model loaded without data saves (again without data) and loads again
    loaded.save(tmp_path / "again")
    again = bf.ButterflyModel.load(tmp_path / "again")
    assert_float32_close(
        dense(again.translate(counts, source="rna", threshold=0).X), dense(expected.X)
    )


def test_a_model_without_data_refuses_to_train_or_guess_its_cells(trained, tmp_path):
    trained.save(tmp_path / "m")
    loaded = bf.ButterflyModel.load(tmp_path / "m")
    with pytest.raises(ValueError, match="model: expected a model with training data"):
        loaded.train(max_epochs_pretrain=1, max_epochs=1)
    with pytest.raises(ValueError, match="data: expected cells to translate, found None"):
        loaded.translate(source="rna")


def test_false_ignores_saved_data(trained, tmp_path):
    trained.save(tmp_path / "m", save_anndata=True)
    assert bf.ButterflyModel.load(tmp_path / "m").adata is not None
    assert bf.ButterflyModel.load(tmp_path / "m", adata=False).adata is None


@pytest.mark.parametrize("folder", ["model_without_data", "model_with_data"])
def test_files_of_release_0_1_0_load_and_translate_as_they_did(folder):
    # Written by butterflyvi 0.1.0 (commit b8eddd3) with its translation of the same cells.
    new = ad.read_h5ad(SAVED_BY_0_1_0 / "new_rna_counts.h5ad")
    expected = np.load(SAVED_BY_0_1_0 / "expected_atac_from_rna.npy")
    model = bf.ButterflyModel.load(SAVED_BY_0_1_0 / folder)
    assert (model.adata is None) == (folder == "model_without_data")
    assert [lik.name for lik in model.module.likelihoods] == ["mse", "bernoulli"]
    assert_float32_close(dense(model.translate(new, source="rna").X), expected)


def test_train_takes_keyword_arguments_only(trained):
    with pytest.raises(TypeError, match="positional argument"):
        trained.train(200)
