"""scvi-hub: folder export, metadata, model card, and the offline round trip through HubModel."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import scvi

import butterflyvi as bf
from _synthetic import dense
from butterflyvi import hub
from butterflyvi.hub._describe import resolve_pairing
from butterflyvi.hub._scvi import scvi_hub
from butterflyvi.model import ButterflyModel


@pytest.fixture(scope="module")
def trained():
    """A tiny model (1 + 1 epochs) on 160 demo cells, with the raw RNA counts kept aside."""
    mdata = bf.datasets.snareseq_demo()[:160].copy()
    raw_rna = mdata["rna"].copy()
    bf.pp.preprocess_rna(mdata["rna"], n_top_genes=300)
    bf.pp.preprocess_atac(mdata["atac"], min_cell_fraction=0.05)
    mdata.update()
    scvi.settings.seed = 0
    ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = ButterflyModel(mdata)
    model.train(max_epochs_pretrain=1, max_epochs=1, batch_size=32, enable_progress_bar=False)
    return model, mdata, raw_rna


def _new_cells(raw_rna):
    """Raw-count RNA-only cells with the genes in another order."""
    cells = raw_rna[:60].copy()
    return cells[:, np.random.default_rng(2).permutation(cells.n_vars)].copy()


def test_round_trip_through_hub_model(trained, tmp_path):
    model, _, raw_rna = trained
    local_dir = hub.to_hub_dir(model, tmp_path / "hub", genome="mm10", description="Tiny test.")
    files = {p.name for p in local_dir.iterdir()}
    assert {"model.pt", "mdata.h5mu", "README.md", "_scvi_required_metadata.json"} <= files

    metadata = json.loads((local_dir / "_scvi_required_metadata.json").read_text())
    assert metadata["model_parent_module"] == "butterflyvi"
    assert metadata["model_cls_name"] == "ButterflyModel"
    assert metadata["training_data_url"] is None

    hub_model = scvi_hub().HubModel(str(local_dir))
    loaded = hub_model.model
    assert isinstance(loaded, ButterflyModel)
    new = _new_cells(raw_rna)
    expected = dense(model.translate(new, source="rna").X)
    np.testing.assert_array_equal(dense(loaded.translate(new, source="rna").X), expected)
    assert loaded.preprocessing_ == model.preprocessing_


def test_small_stored_data_without_translations(trained, tmp_path):
    model, mdata, raw_rna = trained
    model.translate(mdata, source="rna", add_to_mdata=True)  # adds "atac_from_rna"
    assert "atac_from_rna" in mdata.mod
    local_dir = hub.to_hub_dir(model, tmp_path / "hub", max_cells=20)
    loaded = hub.load_hub_dir(local_dir, accelerator="cpu")
    assert loaded.adata.n_obs == 20 and set(loaded.adata.mod) == {"rna", "atac"}
    new = _new_cells(raw_rna)
    np.testing.assert_array_equal(
        dense(loaded.translate(new, source="rna").X),
        dense(model.translate(new, source="rna").X),
    )
    assert "20 of the 160 training pairs" in (local_dir / "README.md").read_text()


def test_model_card_content_and_header(trained, tmp_path):
    from huggingface_hub import ModelCard

    model, _, _ = trained
    benchmark = {"model": {"auroc": 0.81, "pearson": float("nan")}, "baseline": {"auroc": 0.7}}
    local_dir = hub.to_hub_dir(
        model,
        tmp_path / "hub",
        training_data_url="https://example.org/snareseq.h5mu",
        genome="mm10",
        pairing="T",
        tissues=["cortex"],
        benchmark=benchmark,
    )
    card = ModelCard((local_dir / "README.md").read_text())
    tags = card.data.tags
    assert card.data.library_name == "scvi-tools" and card.data.license == "cc-by-4.0"
    assert {
        "modality:rna",
        "modality:atac",
        "model_cls_name:ButterflyModel",
        "tissue:cortex",
    } <= set(tags)
    text = card.text
    for needle in (
        "rna | expression | 300",
        "atac | accessibility",
        "Genome build: mm10",
        "scButterfly-T",
        "1 pretraining + 1 integrative",
        "preset `default`",
        "https://example.org/snareseq.h5mu",
        "| auroc | 0.810 | 0.700 |",
        'translate(new_cells, source="rna")',
    ):
        assert needle in text, needle
    metadata = json.loads((local_dir / "_scvi_required_metadata.json").read_text())
    assert metadata["training_data_url"] == "https://example.org/snareseq.h5mu"


def test_refusals(trained, tmp_path, monkeypatch):
    model, _, _ = trained
    target = tmp_path / "hub"
    hub.to_hub_dir(model, target)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        hub.to_hub_dir(model, target)
    hub.to_hub_dir(model, target, overwrite=True)
    with pytest.raises(ValueError, match="training_data_url"):
        hub.to_hub_dir(model, tmp_path / "other", training_data_url="not a url")
    with pytest.raises(ValueError, match="pairing"):
        hub.to_hub_dir(model, tmp_path / "other", pairing="Z")
    with pytest.raises(ValueError, match="max_cells"):
        hub.to_hub_dir(model, tmp_path / "other", max_cells=0)
    with pytest.raises(TypeError, match="ButterflyModel"):
        hub.to_hub_dir(object(), tmp_path / "other")
    with monkeypatch.context() as patch:
        patch.setattr(model, "is_trained_", False)
        with pytest.raises(ValueError, match="trained"):
            hub.to_hub_dir(model, tmp_path / "other")
    with pytest.raises(FileNotFoundError, match=r"model\.pt"):
        hub.load_hub_dir(tmp_path / "empty")


def test_pairing_is_read_from_the_training_data():
    def fake(record):
        return SimpleNamespace(adata=SimpleNamespace(uns={"butterflyvi_pairing": record}))

    assert resolve_pairing(fake({"method": "augment", "groupby": "cell_type"}), None) == "T"
    assert (
        resolve_pairing(fake({"method": "augment", "groupby": "butterflyvi_cluster"}), None) == "C"
    )
    assert resolve_pairing(fake({"method": "pair_unpaired"}), None) == "unpaired"
    assert resolve_pairing(fake({"method": "pair_by_ot"}), None) == "perturbation"
    assert resolve_pairing(SimpleNamespace(adata=SimpleNamespace(uns={})), None) == "B"
    assert resolve_pairing(fake({}), "C") == "C"
