"""Options of the module, the training plan and the presets (issue 9 ablations).

Each option: reachable by keyword, right shapes, finite losses; and the ``"paper"`` preset
still builds exactly the published networks and schedule.
"""

from __future__ import annotations

import numpy as np
import pytest
import scvi
import torch

from _helpers import tiny_batch, tiny_module
from butterflyvi import ButterflyModel
from butterflyvi.train import ButterflyTrainingPlan


def test_plan_rejects_unknown_validation_objective():
    with pytest.raises(ValueError, match="validation_objective"):
        ButterflyTrainingPlan(tiny_module(), n_epochs_pretrain=1, validation_objective="x")
    with pytest.raises(ValueError, match="loss_balance"):
        ButterflyTrainingPlan(tiny_module(), n_epochs_pretrain=1, loss_balance="x")


def test_loss_balance_weights():
    module = tiny_module(accessibility_target="binary")
    plan = ButterflyTrainingPlan(module, n_epochs_pretrain=1, loss_balance="baseline")
    plan._baseline_losses = [torch.tensor(0.04), torch.tensor(0.08)]
    weights = plan.generator_weights()
    paper = module.reconstruction_weights
    baseline = (0.04, 0.08)
    # Same total at the trivial prediction; each modality weighted by 1 / its baseline.
    assert sum(w * b for w, b in zip(weights, baseline, strict=True)) == pytest.approx(
        sum(w * b for w, b in zip(paper, baseline, strict=True))
    )
    assert weights[0] * baseline[0] / paper[0] == pytest.approx(weights[1] * baseline[1] / paper[1])
    assert ButterflyTrainingPlan(module, n_epochs_pretrain=1).generator_weights() is None


def test_generator_loss_takes_weights():
    module = tiny_module()
    module.train()
    batch = tiny_batch()
    torch.manual_seed(0)
    inference = module.inference(**module._get_inference_input(batch))
    generative = module.generative(**module._get_generative_input(batch, inference))
    default = module.loss(batch, inference, generative)
    doubled = module.loss(batch, inference, generative, weights=(2.0, 4.0))
    rec = sum(
        module.reconstruction_weights[int(k[-1])] * v
        for k, v in default.reconstruction_loss.items()
    )
    assert torch.isclose(doubled.loss - default.loss, rec, rtol=1e-4)


def _split(n: int) -> list[np.ndarray]:
    perm = np.random.RandomState(0).permutation(n)
    return [perm[: int(0.8 * n)], perm[int(0.8 * n) :], np.array([], dtype=int)]


@pytest.mark.parametrize(
    ("preset", "kwargs", "plan_kwargs"),
    [
        ("paper", {}, {}),
        ("default", {}, {}),
        ("default", {"variational_head": "linear", "output_batch_norm": False}, {}),
        ("default", {"accessibility_target": "binary"}, {"validation_objective": "relative"}),
        (
            "default",
            {"accessibility_target": "binary"},
            {"validation_objective": "relative", "loss_balance": "baseline"},
        ),
        ("default", {"accessibility_target": "binary"}, {"validation_objective": "correlation"}),
    ],
)
def test_options_train_end_to_end(small_mdata, preset, kwargs, plan_kwargs):
    scvi.settings.seed = 0
    ButterflyModel.setup_mudata(small_mdata, modalities=("rna", "atac"))
    model = ButterflyModel(small_mdata, preset=preset, **kwargs)
    model.train(
        max_epochs_pretrain=2,
        max_epochs=3,
        batch_size=32,
        external_indexing=_split(small_mdata.n_obs),
        plan_kwargs=plan_kwargs,
        enable_progress_bar=False,
    )
    monitor = model.history["validation_translation_loss"].dropna().to_numpy(float).ravel()
    assert len(monitor) == 3 and np.isfinite(monitor).all()
    if plan_kwargs.get("validation_objective") == "relative":
        # Two directions, each relative to the trivial prediction: about 2 at the start.
        assert 0.5 < monitor[0] < 4.0
    if plan_kwargs.get("validation_objective") == "correlation":
        # 1 - mean correlation of the two directions: in [0, 2]; the best epoch is its minimum
        assert ((monitor >= 0) & (monitor <= 2)).all()
        assert model.best_epoch_ == 2 + int(np.argmin(monitor))
    pred = model.translate(small_mdata, source="rna")
    assert pred.shape == small_mdata["atac"].shape
    assert np.isfinite(pred.X.data).all()
