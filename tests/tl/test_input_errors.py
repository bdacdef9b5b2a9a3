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


def test_tl_labels_with_nan_and_a_single_class(mdata):
    labels = mdata["rna"].obs["cell_type"].astype(object).copy()
    labels.iloc[:5] = np.nan
    mdata.obs["label"] = labels.to_numpy()
    with pytest.warns(UserWarning, match=r"5 of 80 cells have no 'label' label \(NaN\)"):
        out = bf.tl.augment(mdata, groupby="label", rounds=1)
    assert out.n_obs == 80 + 75
    mdata.obs["one"] = "a"
    assert bf.tl.augment(mdata, groupby="one", rounds=1).n_obs == 160
    with pytest.raises(KeyError, match=r"groupby: expected an obs column .*found 'nope'"):
        bf.tl.augment(mdata, groupby="nope")
    with pytest.raises(KeyError, match=r"modalities: expected modalities of mdata .*found 'adt'"):
        bf.tl.augment(mdata, groupby="one", modalities=("rna", "adt"))
    shuffled = mudata_of(rna=mdata["rna"].copy(), atac=mdata["atac"][5:].copy())
    shuffled.obs["one"] = "a"
    with pytest.raises(
        ValueError, match=r"to hold the same cells.*found 5 cells of 'rna' not in 'atac'"
    ):
        bf.tl.augment(shuffled, groupby="one")


def test_tl_pair_unpaired_nan_labels_and_no_shared_type(raw):
    x, y = raw["rna"].copy(), raw["atac"].copy()
    y.obs_names = [f"y{i}" for i in range(y.n_obs)]
    x.obs["cell_type"] = x.obs["cell_type"].astype(object)
    x.obs.iloc[:4, x.obs.columns.get_loc("cell_type")] = np.nan
    out = bf.tl.pair_unpaired(x, y, groupby="cell_type")
    assert out.uns["butterflyvi_pairing"]["n_unlabelled"]["rna"] == 4
    y.obs["cell_type"] = "elsewhere"
    with pytest.raises(ValueError, match=r"expected shared 'cell_type' labels, found none"):
        bf.tl.pair_unpaired(x, y, groupby="cell_type")


def test_tl_cluster_refuses_non_count_data(mdata):
    with pytest.raises(
        ValueError, match=r"mdata\['rna'\] X: expected raw counts, found non-integer values"
    ):
        bf.tl.cluster_for_augmentation(mdata, layer=None, max_epochs=1)
