"""Plots: each function draws, returns its axes when not shown, and saves to a file."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import anndata as ad
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import butterflyvi as bf

PHASE1 = ("loss", "reconstruction_0", "reconstruction_1", "kl_0", "kl_1")
PHASE2 = ("loss", "reconstruction_0_to_0", "translation_1_to_0", "translation_0_to_1", "kl_0")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _frame(key, epochs, rng):
    return pd.DataFrame({key: rng.random(len(epochs))}, index=pd.Index(epochs, name="epoch"))


@pytest.fixture
def fake_model():
    """An object with a history shaped like ButterflyModel.history (3 + 4 epochs)."""
    rng = np.random.default_rng(0)
    history = {}
    for term in PHASE1:
        for prefix in ("pretrain_", "validation_pretrain_"):
            history[prefix + term] = _frame(prefix + term, range(3), rng)
    for term in PHASE2:
        for prefix in ("train_", "validation_"):
            history[prefix + term] = _frame(prefix + term, range(3, 7), rng)
    history["train_discriminator_loss"] = _frame("train_discriminator_loss", range(3, 7), rng)
    history["validation_translation_loss"] = _frame("validation_translation_loss", range(3, 7), rng)
    return SimpleNamespace(history=history, modalities_=["rna", "atac"])


@pytest.fixture
def paired():
    """Measured and 'translated' profiles of 90 cells in 3 types, plus accessibility data."""
    rng = np.random.default_rng(1)
    types = np.repeat(["A", "B", "C"], 30)
    centres = rng.normal(size=(3, 40)) * 3
    codes = pd.factorize(types)[0]
    measured = centres[codes] + rng.normal(size=(90, 40))
    obs = pd.DataFrame({"cell_type": pd.Categorical(types)}, index=[f"c{i}" for i in range(90)])
    var = pd.DataFrame(index=[f"g{j}" for j in range(40)])
    truth = ad.AnnData(measured.astype(np.float32), obs=obs, var=var)
    pred = ad.AnnData(
        (measured + rng.normal(size=measured.shape)).astype(np.float32), obs=obs.copy(), var=var
    )
    pred.uns["butterflyvi_translation"] = {"source": "atac", "target": "rna"}
    opened = rng.random((90, 30)) < 0.2
    acc_truth = ad.AnnData(sp.csr_matrix(opened.astype(np.float32)), obs=obs.copy())
    acc_pred = ad.AnnData(
        (0.3 * opened + 0.7 * rng.random((90, 30))).astype(np.float32), obs=obs.copy()
    )
    acc_pred.var_names = acc_truth.var_names
    return truth, pred, acc_truth, acc_pred


def test_training_history(fake_model, tmp_path):
    axes = bf.pl.training_history(fake_model, show=False)
    titles = [a.get_title() for a in axes]
    assert "loss" in titles and "translation rna→atac" in titles and "kl (rna)" in titles
    loss_axis = axes[titles.index("loss")]
    assert len(loss_axis.lines) == 5  # train and validation, each phase, plus the boundary
    assert any(tuple(line.get_xdata()) == (2.5, 2.5) for line in loss_axis.lines)

    out = tmp_path / "history.png"
    assert (
        bf.pl.training_history(fake_model, keys=["loss", "train_discriminator_loss"], save=out)
        is None
    )
    assert out.stat().st_size > 0

    with pytest.raises(ValueError, match="keys"):
        bf.pl.training_history(fake_model, keys=["nope"], show=False)
    with pytest.raises(ValueError, match="history"):
        bf.pl.training_history(SimpleNamespace(history=None), show=False)


def test_training_history_into_given_axes(fake_model):
    _, axes = plt.subplots(1, 2)
    got = bf.pl.training_history(fake_model, keys=["loss", "kl_0"], ax=axes, show=False)
    assert list(got) == list(axes)
    with pytest.raises(ValueError, match="ax"):
        bf.pl.training_history(fake_model, ax=axes, show=False)


def test_translated_embedding(paired, tmp_path):
    truth, pred, _, _ = paired
    before = truth.X.copy()
    axes = bf.pl.translated_embedding(truth, pred, show=False)
    assert [a.get_title() for a in axes] == ["rna (measured)", "rna from atac"]
    assert np.array_equal(truth.X, before) and "X_umap" not in truth.obsm  # inputs untouched
    legend = axes[1].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["A", "B", "C"]

    out = tmp_path / "embedding.pdf"
    bf.pl.translated_embedding(truth, pred, basis="pca", save=out)
    assert out.stat().st_size > 0

    del pred.obs["cell_type"]  # taken from the measured cells by name
    bf.pl.translated_embedding(truth, pred, basis="pca", show=False)
    truth.obs["score"] = np.arange(truth.n_obs, dtype=float)
    bf.pl.translated_embedding(truth, pred, color="score", basis="pca", show=False)
    with pytest.raises(KeyError, match="color"):
        bf.pl.translated_embedding(truth, pred, color="missing", show=False)
    with pytest.raises(ValueError, match="basis"):
        bf.pl.translated_embedding(truth, pred, basis="diffmap", show=False)


def test_feature_accuracy(paired, tmp_path):
    truth, pred, acc_truth, acc_pred = paired
    ax = bf.pl.feature_accuracy(acc_pred, acc_truth, show=False)
    assert ax.get_ylabel() == "AUROC across cells" and "mean" in ax.get_title()
    ax = bf.pl.feature_accuracy(pred, truth, kind="expression", show=False)
    assert ax.get_ylabel() == "Pearson r across cells"
    assert len(ax.collections[0].get_offsets()) == truth.n_vars

    out = tmp_path / "accuracy.png"
    bf.pl.feature_accuracy(acc_pred, acc_truth, kind="accessibility", save=out)
    assert out.stat().st_size > 0
    with pytest.raises(ValueError, match="kind"):
        bf.pl.feature_accuracy(pred, truth, kind="methylation", show=False)


def test_metric_table(tmp_path):
    results = {
        "model": {"auroc": 0.81, "rmse": 0.2, "n_cells": 10, "aupr": float("nan")},
        "baseline": {"auroc": 0.7, "rmse": 0.3, "n_cells": 10},
    }
    ax = bf.pl.metric_table(results, show=False)
    table = ax.tables[0]
    assert table[0, 0].get_text().get_text() == "auroc"
    assert table[1, 0].get_text().get_text() == "0.810"
    assert table[1, 0].get_text().get_fontweight() == "bold"  # higher AUROC is better
    assert table[1, 1].get_text().get_fontweight() == "bold"  # lower RMSE is better
    assert table[1, 2].get_text().get_text() == "—"
    labels = [table[0, j].get_text().get_text() for j in range(3)]
    assert "n cells" not in labels

    out = tmp_path / "table.svg"
    bf.pl.metric_table(results, metrics=["auroc"], save=out)
    assert out.stat().st_size > 0
    with pytest.raises(KeyError, match="metrics"):
        bf.pl.metric_table(results, metrics=["f1"], show=False)
    with pytest.raises(ValueError, match="results"):
        bf.pl.metric_table({}, show=False)


def test_show_returns_none(fake_model, monkeypatch):
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(True))
    assert bf.pl.training_history(fake_model, keys=["loss"]) is None
    assert shown == [True]


def test_save_closes_unless_show_is_false(fake_model, tmp_path):
    plt.close("all")
    bf.pl.training_history(fake_model, keys=["loss"], save=tmp_path / "a.png")
    assert plt.get_fignums() == []
    axes = bf.pl.training_history(fake_model, keys=["loss"], save=tmp_path / "b.png", show=False)
    assert len(axes) == 1 and plt.get_fignums() == [axes[0].figure.number]
    with pytest.raises(ValueError, match="suffix"):
        bf.pl.training_history(fake_model, keys=["loss"], save=tmp_path / "noext", show=False)


def test_reliability_diagram_and_reference_map(tmp_path, trained):
    import matplotlib

    matplotlib.use("Agg")
    rng = np.random.default_rng(0)
    probability = rng.uniform(size=(50, 40))
    truth = rng.uniform(size=(50, 40)) < probability
    axis = bf.pl.reliability(probability, truth, show=False)
    assert "ECE" in axis.get_title()
    model, mdata = trained
    model.build_reference(label_key="cell_type")
    rna = mdata["rna"].copy()
    model.annotate(rna, source="rna")
    path = tmp_path / "map.png"
    bf.pl.reference_map(rna, model, save=path, show=False)
    assert path.stat().st_size > 1000
    with pytest.raises(KeyError, match="color: expected a column"):
        bf.pl.reference_map(rna, model, color="nothing", show=False)
