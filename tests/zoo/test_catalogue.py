"""The pretrained catalogue: every model loads offline without data, is checksum-verified,
translates held-out cells better than the training-mean baseline, and has a card."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import butterflyvi as bf
from _synthetic import dense
from butterflyvi.cli import EXIT_OK, EXIT_USAGE, main

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REQUIRED = {
    "mouse-cortex-rna-atac": {"rna->atac", "atac->rna"},
    "human-pbmc-rna-protein": {"rna->prot", "prot->rna"},
    "human-pbmc-ifnb-response": {"control->stimulated"},
    "human-bmmc-rna-atac": {"rna->atac", "atac->rna"},
    "human-bmmc-rna-protein": {"rna->adt", "adt->rna"},
}

#: The card metric of each direction, higher is better; compared with the training mean.
CARD_METRIC = {"accessibility": "auroc", "default": "pearson_per_cell_mean"}


def test_available_lists_the_catalogue():
    table = bf.zoo.available()
    for column in (
        "name",
        "directions",
        "species",
        "tissue",
        "assay",
        "n_cells",
        "n_features",
        "source",
        "metrics",
        "version",
        "sha256",
    ):
        assert column in table.columns
    assert set(REQUIRED) <= set(table["name"])
    for row in table.itertuples():
        assert set(REQUIRED[row.name]) <= set(row.directions)
        assert row.n_cells > 0 and all(n > 0 for n in row.n_features.values())
        assert len(row.sha256) == 64 and row.source.startswith(("GEO", "10x"))


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_each_model_loads_offline_without_data(name):
    model = bf.zoo.load(name)
    assert model.adata is None and model.is_trained_
    record = bf.zoo.entry(name)
    assert {s.modality: s.n_features for s in model.feature_spaces} == record["n_features"]


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_each_model_beats_the_training_mean_on_its_held_out_cells(name, shared_data_dir):
    from scripts.zoo_recipes import RECIPES

    recipe = RECIPES[name]
    source = recipe.prepare(bf.datasets.load_shared(recipe.dataset, path=shared_data_dir))
    split = recipe.split(source)
    record = bf.zoo.entry(name)
    assert len(split.train) == record["n_cells"]
    model = bf.zoo.load(name)
    metrics = recipe.evaluate(model, source, split)
    for direction, methods in metrics.items():
        recorded = record["metrics"][direction]
        for metric, value in methods["model"].items():  # the card's figures are reproduced
            assert value == pytest.approx(recorded["model"][metric], abs=2e-3), metric
        if direction == "control->stimulated":
            for metric in ("r2_all", "r2_degs"):
                assert methods["model"][metric] > methods["training mean"][metric]
            continue
        target = direction.split("->")[1]
        kind = model.kinds_[model.modalities_.index(target)]
        metric = CARD_METRIC.get(kind, CARD_METRIC["default"])
        assert methods["model"][metric] > methods["training mean"][metric], (direction, metric)


def test_the_cortex_model_translates_raw_rna_counts_of_new_cells(snare_demo):
    model = bf.zoo.load("mouse-cortex-rna-atac")
    rna = snare_demo["rna"][:300].copy()
    pred = model.translate(rna, source="rna")
    assert pred.shape == (300, model.feature_spaces[1].n_features)
    overlap = pred.uns["feature_match"]
    assert overlap["n_matched"] == overlap["n_model_features"] and overlap["fraction"] == 1.0
    assert ((dense(pred.X) >= 0) & (dense(pred.X) <= 1)).all()


def test_a_tampered_model_file_is_refused(tmp_path, monkeypatch):
    name = "human-bmmc-rna-protein"
    copy = tmp_path / "catalogue" / name
    shutil.copytree(bf.zoo.model_dir(name), copy)
    data = bytearray((copy / "model.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "model.pt").write_bytes(bytes(data))
    monkeypatch.setenv("BUTTERFLYVI_ZOO", str(tmp_path / "catalogue"))
    assert bf.zoo.model_dir(name) == copy
    with pytest.raises(bf.zoo.ChecksumError, match=r"sha256: expected .*found"):
        bf.zoo.load(name)
    with pytest.raises(bf.zoo.ChecksumError):
        bf.ButterflyModel.load(copy, sha256=bf.zoo.entry(name)["sha256"])


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_card_renders_and_names_its_data_source(name):
    from huggingface_hub import ModelCard

    folder = bf.zoo.model_dir(name)
    card = ModelCard.load(folder / "README.md")
    record = bf.zoo.entry(name)
    assert "model_cls_name:ButterflyModel" in card.data.tags
    assert record["source"] in card.text
    assert "## Evaluation" in card.text and "training mean" in card.text
    metadata = json.loads((folder / "_scvi_required_metadata.json").read_text())
    assert metadata["model_parent_module"] == "butterflyvi"
    assert json.loads((folder / "metrics.json").read_text()) == record["metrics"]
    assert not (folder / "mdata.h5mu").exists()  # weights only


def test_cli_lists_models_and_translates_with_a_catalogue_name(snare_demo, tmp_path, capsys):
    assert main(["models", "list"]) == EXIT_OK
    assert "mouse-cortex-rna-atac" in capsys.readouterr().out
    data = tmp_path / "rna.h5ad"
    snare_demo["rna"][:50].copy().write_h5ad(data)
    out = tmp_path / "atac.h5ad"
    argv = ["translate", "--model", "mouse-cortex-rna-atac", "--source", "rna", str(data), str(out)]
    assert main(argv) == EXIT_OK
    import anndata as ad

    pred = ad.read_h5ad(out)
    assert pred.n_obs == 50 and np.isfinite(dense(pred.X)).all()
    assert main([*argv[:5], "atac", str(data), str(tmp_path / "x.h5ad")]) == EXIT_USAGE
