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
import pandas as pd
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


def test_metrics_refuse_missing_labels_and_mismatched_inputs(mdata):
    rna = mdata["rna"].copy()
    rna.obs["label"] = rna.obs["cell_type"].astype(object)
    rna.obs.iloc[0, rna.obs.columns.get_loc("label")] = np.nan
    with pytest.raises(ValueError, match=r"found 1 missing labels \(NaN/None\) of 80"):
        bf.metrics.clustering(rna, label_key="label")
    with pytest.raises(
        ValueError, match=r"label_key: expected a column of adata.obs .*found 'nope'"
    ):
        bf.metrics.clustering(rna, label_key="nope")
    with pytest.raises(ValueError, match=r"expected the same var_names"):
        bf.metrics.expression(rna, rna[:, 1:].copy())
    with pytest.raises(ValueError, match=r"expected finite values, found 1 NaN"):
        bf.metrics.expression(np.array([[np.nan, 1.0], [1.0, 2.0]]), np.ones((2, 2)))


def test_metrics_annotation_refuses_nan_in_a_list():
    with pytest.raises(ValueError, match=r"true: expected a label for every cell, found 1 missing"):
        bf.metrics.annotation([np.nan, "a"], ["a", "a"])


def test_metrics_annotation_refuses_nan_in_a_series():
    with pytest.raises(ValueError, match=r"true: expected a label for every cell, found 1 missing"):
        bf.metrics.annotation(pd.Series([np.nan, "a"]), ["a", "a"])


def test_metrics_annotation_with_a_single_class():
    # Cohen's kappa is 0/0 when both label vectors hold one class: NaN, not an error.
    same = bf.metrics.annotation(["a"] * 5, ["a"] * 5)
    assert same["accuracy"] == 1.0 and same["f1_macro"] == 1.0 and same["n_labels"] == 1
    assert np.isnan(same["kappa"])
