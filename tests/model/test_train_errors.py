"""Bad input gets a clear error naming the argument, what was expected and what was found.

Covers ``ButterflyModel.setup_mudata``, ``train``, ``translate`` / ``get_latent_representation``
on new data (feature alignment), and the input checks of ``pp``, ``tl`` and ``metrics`` that
the other test files do not already cover. Everything runs on tiny synthetic data.
"""

from __future__ import annotations

import warnings

import anndata as ad
import mudata as md
import numpy as np
import pytest

import butterflyvi as bf
from _synthetic import tiny_paired
from butterflyvi.model import ButterflyModel

TRAIN = {
    "batch_size": 32,
    "accelerator": "cpu",
    "enable_progress_bar": False,
    "enable_model_summary": False,
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def fit(model: ButterflyModel, pretrain: int = 1, epochs: int = 1, **kwargs) -> None:
    """Train a tiny model (on one thread: see the ``one_torch_thread`` fixture)."""
    model.train(max_epochs_pretrain=pretrain, max_epochs=epochs, **{**TRAIN, **kwargs})


def make_raw(n_cells: int = 80, seed: int = 0) -> md.MuData:
    """Raw paired counts: 30 genes, ~80 peaks on 2 chromosomes, 3 cell types."""
    return tiny_paired(n_cells, seed=seed, preprocess=False)


def preprocess(mdata: md.MuData) -> md.MuData:
    """Preprocess both modalities in place (all genes kept, all open peaks kept)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        bf.pp.preprocess_rna(mdata["rna"], n_top_genes=1000)
        bf.pp.preprocess_atac(mdata["atac"], min_cell_fraction=0.0)
        mdata.update()
    return mdata


def mudata_of(**mods: ad.AnnData) -> md.MuData:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return md.MuData(mods)


@pytest.fixture(scope="module")
def raw() -> md.MuData:
    return make_raw()


@pytest.fixture
def mdata(raw) -> md.MuData:
    return preprocess(raw.copy())


@pytest.fixture(scope="module")
def trained(raw):
    mdata = preprocess(raw.copy())
    ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = ButterflyModel(mdata)
    fit(model)
    return model, mdata


def test_train_refuses_bad_arguments(mdata):
    ButterflyModel.setup_mudata(mdata)
    model = ButterflyModel(mdata)
    with pytest.raises(ValueError, match=r"batch_size: expected an integer of at least 2"):
        model.train(max_epochs_pretrain=1, max_epochs=1, batch_size=1)
    with pytest.raises(ValueError, match=r"batch_size: expected an integer of at least 2"):
        model.train(max_epochs_pretrain=1, max_epochs=1, batch_size=2.5)
    with pytest.raises(ValueError, match=r"max_epochs_pretrain: expected a non-negative integer"):
        model.train(max_epochs_pretrain=-1, max_epochs=1)
    with pytest.raises(ValueError, match=r"positive sum"):
        model.train(max_epochs_pretrain=0, max_epochs=0)


def test_train_refuses_a_single_training_cell(raw):
    tiny = preprocess(raw[:2].copy())
    ButterflyModel.setup_mudata(tiny)
    model = ButterflyModel(tiny)
    with pytest.raises(ValueError, match=r"at least 2 training cells, found 1"):
        fit(model, train_size=0.5)


def test_train_handles_a_last_batch_of_one_cell(raw):
    # 33 training cells with batch_size 32: the last minibatch would hold one cell, which
    # BatchNorm refuses in training mode; train drops it instead of failing.
    small = preprocess(raw[:37].copy())
    ButterflyModel.setup_mudata(small)
    model = ButterflyModel(small)
    idx = [np.arange(33), np.arange(33, 37), np.array([], dtype=int)]
    fit(model, external_indexing=idx)
    assert model.is_trained_


def test_train_with_all_zero_cells(raw):
    # Cells with no counts preprocess to all-zero rows (warned), and train without NaN.
    data = raw[:40].copy()
    for mod in ("rna", "atac"):
        X = data[mod].X.tolil()
        X[:3] = 0
        data[mod].X = X.tocsr()
    with pytest.warns(UserWarning, match="3 of 40 cells have a total count of 0"):
        bf.pp.preprocess_rna(data["rna"], n_top_genes=1000)
    with pytest.warns(UserWarning, match="3 of 40 cells have no open peak"):
        bf.pp.preprocess_atac(data["atac"], min_cell_fraction=0.0)
    data.update()
    ButterflyModel.setup_mudata(data)
    model = ButterflyModel(data)
    fit(model)
    pred = model.translate(data, source="rna", add_to_mdata=False)
    assert np.isfinite(pred.X.data).all()
