"""ButterflyModel on real data: shapes, learning, beating the mean baseline, save/load, pairing."""

from __future__ import annotations

import numpy as np
import pytest
import scvi
import torch
from mudata import MuData

import butterflyvi as bf
from _synthetic import dense
from butterflyvi import ButterflyModel

EPOCHS = {"max_epochs_pretrain": 6, "max_epochs": 12, "enable_progress_bar": False}


def _split(n: int, seed: int = 0) -> list[np.ndarray]:
    perm = np.random.RandomState(seed).permutation(n)
    a, b = int(0.8 * n), int(0.9 * n)
    return [perm[:a], perm[a:b], perm[b:]]


@pytest.fixture(scope="module")
def demo():
    """The bundled SNARE-seq demo, raw counts kept aside, then preprocessed."""
    mdata = bf.datasets.snareseq_demo()
    raw_rna = mdata["rna"].copy()
    bf.pp.preprocess_rna(mdata["rna"])
    bf.pp.preprocess_atac(mdata["atac"])
    mdata.update()
    return mdata, raw_rna


@pytest.fixture(scope="module")
def trained(demo):
    mdata, _ = demo
    scvi.settings.seed = 0
    ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = ButterflyModel(mdata)
    split = _split(mdata.n_obs)
    model.train(external_indexing=split, **EPOCHS)
    return model, split


def test_translation_shapes_and_names(demo, trained):
    mdata, _ = demo
    model, _ = trained
    atac = model.translate(mdata, source="rna", add_to_mdata=True)
    rna = model.translate(mdata, source="atac", add_to_mdata=True)
    assert atac.shape == mdata["atac"].shape
    assert rna.shape == mdata["rna"].shape
    assert list(atac.var_names) == list(mdata["atac"].var_names)
    assert list(rna.obs_names) == list(mdata.obs_names)
    assert isinstance(atac.X, np.ndarray) and atac.X.dtype == np.float32  # probabilities
    values = dense(atac.X)
    assert values[values != 0].min() >= 1e-4  # values under the threshold were zeroed
    assert {"atac_from_rna", "rna_from_atac"} <= set(mdata.mod)
    stored = mdata["atac_from_rna"]
    assert stored.var_names[0].startswith("atac_from_rna:")
    assert list(stored.var["feature_name"]) == list(mdata["atac"].var_names)
    latent = model.get_latent_representation(mdata, modality="rna")
    assert latent.shape == (mdata.n_obs, 128) and np.isfinite(latent).all()


def test_losses_decrease(trained):
    model, _ = trained
    history = model.history
    for key in ("pretrain_reconstruction_0", "pretrain_reconstruction_1"):
        values = history[key].to_numpy().ravel()
        assert values[-1] < values[0], key
    translation = history["validation_translation_loss"].to_numpy().ravel()
    assert translation.min() < translation[0]


def test_beats_mean_baseline_on_held_out_cells(demo, trained):
    mdata, _ = demo
    model, (train, _, test) = trained
    test_names = mdata.obs_names[test]
    truth_atac = mdata["atac"][test_names]
    truth_rna = mdata["rna"][test_names]
    pred_atac = model.translate(truth_rna, source="rna")
    pred_rna = model.translate(truth_atac, source="atac")

    base_atac = bf.metrics.baseline_mean(
        mdata["atac"][mdata.obs_names[train]], len(test), obs_names=test_names
    )
    model_acc = bf.metrics.accessibility(pred_atac, truth_atac)
    base_acc = bf.metrics.accessibility(base_atac, truth_atac)
    # Across cells, the mean baseline ranks every peak the same: per-peak AUROC 0.5.
    assert base_acc["auroc_per_peak_mean"] == pytest.approx(0.5)
    assert model_acc["auroc_per_peak_mean"] > 0.52
    assert model_acc["auroc"] > base_acc["auroc"]

    # The baseline is constant across cells (Pearson per gene undefined); a translation that
    # carries cell-specific signal correlates positively with the truth gene by gene.
    model_expr = bf.metrics.expression(pred_rna, truth_rna)
    assert model_expr["pearson_per_feature_mean"] > 0.02


def test_save_load_identical(tmp_path, demo, trained):
    mdata, _ = demo
    model, _ = trained
    cells = mdata["rna"][:200].copy()
    before = dense(model.translate(cells, source="rna").X)
    model.save(tmp_path / "model", save_anndata=False)
    loaded = ButterflyModel.load(tmp_path / "model", adata=mdata)
    after = dense(loaded.translate(cells, source="rna").X)
    np.testing.assert_array_equal(before, after)
    assert loaded.preprocessing_ == model.preprocessing_


def test_new_cells_raw_counts_in_another_gene_order(demo, trained):
    mdata, raw_rna = demo
    model, _ = trained
    cells = mdata.obs_names[:100]
    expected = dense(model.translate(mdata["rna"][cells], source="rna").X)
    raw = raw_rna[cells].copy()
    shuffled = raw[:, np.random.default_rng(1).permutation(raw.n_vars)].copy()
    got = dense(model.translate(shuffled, source="rna").X)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)

    missing = raw[:, raw.var_names[10:]].copy()
    with pytest.raises(ValueError, match="missing"):
        model.translate(missing, source="rna", missing="error")


def test_unknown_source_is_refused(demo, trained):
    mdata, _ = demo
    model, _ = trained
    with pytest.raises(KeyError, match="source"):
        model.translate(mdata, source="protein")


def _tiny_mudata(n: int = 160, seed: int = 0) -> MuData:
    demo_data = bf.datasets.snareseq_demo()[:n].copy()
    bf.pp.preprocess_rna(demo_data["rna"], n_top_genes=300)
    bf.pp.preprocess_atac(demo_data["atac"], min_cell_fraction=0.05)
    demo_data.update()
    return demo_data


def _train_tiny(mdata: MuData, seed: int, **kwargs) -> ButterflyModel:
    scvi.settings.seed = seed
    ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = ButterflyModel(mdata)
    model.train(
        max_epochs_pretrain=kwargs.pop("pretrain", 2),
        max_epochs=kwargs.pop("integrative", 2),
        batch_size=32,
        enable_progress_bar=False,
        **kwargs,
    )
    return model


def test_deterministic_for_a_seed():
    mdata = _tiny_mudata()
    first = _train_tiny(mdata.copy(), seed=3).translate(mdata["rna"], source="rna").X
    second = _train_tiny(mdata.copy(), seed=3).translate(mdata["rna"], source="rna").X
    np.testing.assert_array_equal(dense(first), dense(second))


def test_phase_one_leaves_discriminators_alone():
    mdata = _tiny_mudata()
    scvi.settings.seed = 0
    ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = ButterflyModel(mdata)
    before = [p.detach().clone() for p in model.module.discriminator_parameters()]
    translator = [p.detach().clone() for p in model.module.translator.parameters()]
    model.train(max_epochs_pretrain=2, max_epochs=0, batch_size=32, enable_progress_bar=False)
    for old, new in zip(before, model.module.discriminator_parameters(), strict=True):
        assert torch.equal(old, new.detach().cpu())
    for old, new in zip(translator, model.module.translator.parameters(), strict=True):
        assert torch.equal(old, new.detach().cpu())
    assert "train_discriminator_loss" not in model.history


def test_phase_two_steps_discriminators_first(monkeypatch):
    calls: list[str] = []
    original_sgd, original_adam = torch.optim.SGD.step, torch.optim.Adam.step

    def sgd_step(self, *args, **kwargs):
        calls.append("discriminator")
        return original_sgd(self, *args, **kwargs)

    def adam_step(self, *args, **kwargs):
        calls.append("adam")
        return original_adam(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", sgd_step)
    monkeypatch.setattr(torch.optim.Adam, "step", adam_step)
    mdata = _tiny_mudata()
    model = _train_tiny(mdata, seed=0, pretrain=0, integrative=1, train_size=1.0)
    n_steps = len(calls) // 2
    assert n_steps >= 2
    assert calls == ["discriminator", "adam"] * n_steps
    assert "train_discriminator_loss" in model.history


def test_mispaired_modalities_are_refused():
    mdata = _tiny_mudata(60)
    order = np.random.default_rng(0).permutation(mdata.n_obs)
    shuffled = MuData({"rna": mdata["rna"].copy(), "atac": mdata["atac"][order].copy()})
    with pytest.raises(ValueError, match="same cells in the same order"):
        ButterflyModel.setup_mudata(shuffled, modalities=("rna", "atac"))
    fewer = MuData({"rna": mdata["rna"].copy(), "atac": mdata["atac"][:50].copy()})
    with pytest.raises(ValueError, match="same cells"):
        ButterflyModel.setup_mudata(fewer, modalities=("rna", "atac"))


def test_setup_anndata_is_refused():
    with pytest.raises(NotImplementedError, match="setup_mudata"):
        ButterflyModel.setup_anndata(None)


def test_rna_to_protein_on_cite_seq(shared_file):
    import anndata as ad

    rna = ad.read_h5ad(shared_file("bmmc_cite_starter_rna.h5ad"))
    adt = ad.read_h5ad(shared_file("bmmc_cite_starter_adt.h5ad"))
    mdata = MuData({"rna": rna, "adt": adt})
    bf.pp.preprocess_rna(mdata["rna"], layer="counts", n_top_genes=500)
    bf.pp.preprocess_adt(mdata["adt"], layer="counts")
    mdata.update()
    scvi.settings.seed = 0
    ButterflyModel.setup_mudata(mdata, modalities=("rna", "adt"))
    model = ButterflyModel(mdata)
    assert model.kinds_ == ["expression", "protein"]
    train, _, test = _split(mdata.n_obs)
    model.train(external_indexing=[train, _, test], **EPOCHS)
    names = mdata.obs_names[test]
    pred = model.translate(mdata["rna"][names], source="rna")
    truth = mdata["adt"][names]
    assert pred.shape == truth.shape
    scores = bf.metrics.expression(pred, truth)
    baseline = bf.metrics.expression(
        bf.metrics.baseline_mean(mdata["adt"][mdata.obs_names[train]], len(test), obs_names=names),
        truth,
    )
    assert scores["pearson_per_feature_mean"] > 0.1
    assert scores["pearson_per_cell_mean"] > baseline["pearson_per_cell_mean"]
