"""Tiny synthetic data and a tiny trained model, for the tests of bad input (``*_errors.py``).

Import what a test file needs; the fixtures ``raw``, ``mdata`` and ``trained`` work once
imported into the test module.
"""

from __future__ import annotations

import warnings

import anndata as ad
import mudata as md
import pytest

import butterflyvi as bf
from _synthetic import tiny_paired
from butterflyvi.model import ButterflyModel

#: Training keywords that keep a test's output quiet and on the CPU.
QUIET = {"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False}
TRAIN = {"batch_size": 32, **QUIET}


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
    """A MuData of the given modalities (mudata's warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return md.MuData(mods)


@pytest.fixture(scope="module")
def raw() -> md.MuData:
    """Raw paired counts (module-wide; take copies)."""
    return make_raw()


@pytest.fixture
def mdata(raw) -> md.MuData:
    """Preprocessed paired data, a private copy."""
    return preprocess(raw.copy())


@pytest.fixture(scope="module")
def trained(raw):
    """A model trained for one epoch of each phase, and its data."""
    mdata = preprocess(raw.copy())
    ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = ButterflyModel(mdata)
    fit(model)
    return model, mdata
