"""Batches that count: a batch covariate in the networks, translation as if measured in a
training batch, an unseen batch, and ``adapt`` to a new batch with the weights frozen."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import butterflyvi as bf
from _synthetic import dense, tiny_paired
from _tiny import QUIET

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def with_batches(n_cells=150, seed=0):
    """Tiny paired data in three batches; batch C's RNA has a third of its genes tripled."""
    mdata = tiny_paired(n_cells, seed=seed, preprocess=False)
    batch = np.array(["A", "B", "C"])[np.arange(n_cells) % 3]
    rna = dense(mdata["rna"].X)
    rna[np.ix_(batch == "C", np.arange(rna.shape[1]) % 3 == 0)] *= 3
    mdata["rna"].X = sp.csr_matrix(rna)
    mdata.obs["batch"] = batch
    for adata in mdata.mod.values():
        adata.obs["batch"] = batch
    bf.pp.preprocess_rna(mdata, mod="rna", n_top_genes=1000)
    bf.pp.preprocess_atac(mdata, mod="atac", min_cell_fraction=0.0)
    return mdata


@pytest.fixture(scope="module")
def trained():
    mdata = with_batches()
    train = mdata[mdata.obs["batch"] != "C"].copy()
    bf.ButterflyModel.setup_mudata(train, batch_key="batch")
    model = bf.ButterflyModel(train, batch_covariate=True, n_embedding=32, n_latent=16)
    model.train(max_epochs_pretrain=3, max_epochs=10, batch_size=32, **QUIET)
    return model, mdata


def test_the_networks_condition_on_the_batch(trained):
    model, mdata = trained
    assert model.batches_ == ["A", "B"] and model.module.n_batch == 2
    assert float(model.module.batch_in.abs().sum()) > 0  # trained, not left at 0
    cells = mdata["rna"][mdata.obs["batch"] == "A"].copy()
    as_a = dense(model.translate(cells, source="rna", batch="A", threshold=0).X)
    as_b = dense(model.translate(cells, source="rna", batch="B", threshold=0).X)
    own = dense(model.translate(cells, source="rna", threshold=0).X)
    np.testing.assert_allclose(own, as_a, rtol=1e-5, atol=1e-6)
    assert not np.allclose(as_a, as_b)


def test_an_unseen_batch_translates_and_bad_names_are_refused(trained):
    model, mdata = trained
    new = mdata["rna"][mdata.obs["batch"] == "C"].copy()
    prediction = model.translate(new, source="rna")
    assert prediction.shape == (new.n_obs, mdata["atac"].n_vars)
    with pytest.raises(KeyError, match=r"batch: expected one of the model's batches \['A', 'B'\]"):
        model.translate(new, source="rna", batch="Z")


def test_adapt_fits_the_new_batch_and_leaves_the_training_batches(trained, tmp_path):
    model, mdata = trained
    old = mdata["rna"][mdata.obs["batch"] == "A"].copy()
    new = mdata["rna"][mdata.obs["batch"] == "C"].copy()
    before_old = dense(model.translate(old, source="rna", threshold=0).X)
    before_new = dense(model.translate(new, source="rna", threshold=0).X)
    weights = {k: v.clone() for k, v in model.module.state_dict().items() if "batch" not in k}
    model.adapt(new, source="rna", max_epochs=30)
    assert model.batches_ == ["A", "B", "C"]
    assert model.adapt_history_[-1] < model.adapt_history_[0]
    after = model.module.state_dict()
    assert all(bool((after[k] == v).all()) for k, v in weights.items())  # frozen
    np.testing.assert_allclose(
        dense(model.translate(old, source="rna", threshold=0).X),
        before_old,
        rtol=1e-5,
        atol=1e-6,
    )
    assert not np.allclose(dense(model.translate(new, source="rna", threshold=0).X), before_new)
    with pytest.raises(ValueError, match=r"did not train on .* training batches \['A'\]"):
        model.adapt(old, source="rna")
    # the adapted batch can be fitted again on its other modality
    rna_vectors = model.module.batch_in[0, 2].clone()
    model.adapt(mdata["atac"][mdata.obs["batch"] == "C"].copy(), source="atac", max_epochs=5)
    assert model.batches_ == ["A", "B", "C"] and model.adapted_batches_ == ["C"]
    assert torch.equal(model.module.batch_in[0, 2], rna_vectors)  # rna's vectors kept
    model.save(tmp_path / "adapted", save_anndata=False)
    loaded = bf.ButterflyModel.load(tmp_path / "adapted", accelerator="cpu")
    assert loaded.batches_ == ["A", "B", "C"]
    np.testing.assert_allclose(
        dense(loaded.translate(new, source="rna", threshold=0).X),
        dense(model.translate(new, source="rna", threshold=0).X),
        rtol=1e-5,
        atol=1e-6,
    )


def test_a_covariate_needs_a_batch_key_and_adapt_needs_a_covariate():
    mdata = with_batches(60)
    bf.ButterflyModel.setup_mudata(mdata)
    with pytest.raises(KeyError, match="batch_covariate: expected a batch_key"):
        bf.ButterflyModel(mdata, batch_covariate=True)
    model = bf.ButterflyModel(mdata)
    with pytest.raises(ValueError, match="model: expected a model with batch_covariate=True"):
        model.adapt(mdata["rna"], source="rna", batch="C")
