"""``bf.openproblems.predict_modality``: the harness's contract, every direction, and a score
above the task's own baselines on cells it never saw."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import butterflyvi as bf
from _tasks import synthetic_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def check_contract(prediction, files):
    layer = prediction.layers["normalized"]
    assert sp.issparse(layer) and layer.format == "csc" and layer.dtype == np.float32
    assert prediction.X is None
    assert list(prediction.obs_names) == list(files["test_mod1"].obs_names)
    assert list(prediction.var_names) == list(files["train_mod2"].var_names)
    assert prediction.uns["dataset_id"] == files["test_mod1"].uns["dataset_id"]
    assert prediction.uns["method_id"] == "butterflyvi"
    assert np.isfinite(layer.data).all()


@pytest.mark.parametrize(
    ("mod1", "mod2", "sizes"),
    [
        ("GEX", "ADT", {"n_proteins": 49}),  # few target features
        ("ADT", "GEX", {"n_proteins": 49}),  # few input features
        ("GEX", "ATAC", {}),
        ("ATAC", "GEX", {"n_peaks": 50_000}),  # all peaks as input
    ],
)
def test_every_direction_applies(mod1, mod2, sizes):
    files = synthetic_task(mod1, mod2, n_cells=160, **sizes)
    assert files["train_mod1"].X is None  # the harness's files hold layers only
    prediction = bf.openproblems.predict_modality(
        files["train_mod1"], files["train_mod2"], files["test_mod1"], seed=0, max_epochs=4
    )
    check_contract(prediction, files)


def test_it_beats_the_task_baselines_on_unseen_cells(gex_to_atac):
    files = gex_to_atac
    prediction = bf.openproblems.predict_modality(
        files["train_mod1"], files["train_mod2"], files["test_mod1"], seed=0, max_epochs=30
    )
    check_contract(prediction, files)
    truth = files["test_mod2"].layers["normalized"]
    train = files["train_mod2"].layers["normalized"]
    mean = np.tile(np.asarray(train.mean(axis=0)).ravel(), (truth.shape[0], 1))
    rows = np.random.default_rng(0).integers(0, train.shape[0], truth.shape[0])
    scores = {
        "butterflyvi": bf.metrics.predict_modality(prediction.layers["normalized"], truth),
        "zeros": bf.metrics.predict_modality(np.zeros(truth.shape), truth),
        "mean_per_gene": bf.metrics.predict_modality(mean, truth),
        "random_predict": bf.metrics.predict_modality(sp.csr_matrix(train)[rows], truth),
        "solution": bf.metrics.predict_modality(truth, truth),
    }
    scaled = bf.metrics.scaled_scores(scores)
    best_control = max(scaled[c]["mean"] for c in ("zeros", "mean_per_gene", "random_predict"))
    assert scaled["butterflyvi"]["mean"] > best_control + 0.05


def test_the_files_can_be_paths(gex_to_atac, tmp_path):
    paths = {}
    for name in ("train_mod1", "train_mod2", "test_mod1"):
        paths[name] = tmp_path / f"{name}.h5ad"
        gex_to_atac[name].write_h5ad(paths[name])
    prediction = bf.openproblems.predict_modality(
        paths["train_mod1"], paths["train_mod2"], paths["test_mod1"], max_epochs=2
    )
    check_contract(prediction, gex_to_atac)


def test_an_unknown_modality_is_not_applicable(gex_to_atac):
    files = {k: v.copy() for k, v in gex_to_atac.items()}
    files["train_mod2"].uns["modality"] = "HiC"
    with pytest.raises(bf.openproblems.NotApplicable, match="HiC"):
        bf.openproblems.predict_modality(
            files["train_mod1"], files["train_mod2"], files["test_mod1"], max_epochs=1
        )


def test_mismatched_files_are_named(gex_to_atac):
    files = {k: v.copy() for k, v in gex_to_atac.items()}
    with pytest.raises(ValueError, match="input_test_mod1: expected the features"):
        bf.openproblems.predict_modality(
            files["train_mod1"], files["train_mod2"], files["test_mod1"][:, ::-1].copy()
        )
    del files["train_mod2"].layers["normalized"]
    with pytest.raises(KeyError, match=r"input_train_mod2: expected layers\['normalized'\]"):
        bf.openproblems.predict_modality(
            files["train_mod1"], files["train_mod2"], files["test_mod1"], max_epochs=1
        )
