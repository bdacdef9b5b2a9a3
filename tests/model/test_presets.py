"""Options of the module, the training plan and the presets (issue 9 ablations).

Each option: reachable by keyword, right shapes, finite losses; and the ``"paper"`` preset
still builds exactly the published networks and schedule.
"""

from __future__ import annotations

import pytest

from _helpers import GROUPS, N_ATAC, N_RNA
from butterflyvi import ButterflyModel
from butterflyvi.model._parts import build_module
from butterflyvi.model._presets import PRESETS, preset_kwargs
from butterflyvi.train import ButterflyTrainingPlan
from butterflyvi.train._plan import VALIDATION_OBJECTIVES


def test_paper_preset_is_the_published_method():
    assert PRESETS["paper"] == {
        "model": {"output_init": "random", "batch_covariate": False},
        "likelihoods": {},
        "module": {},
        "plan": {},
        "train": {
            "max_epochs_pretrain": 100,
            "max_epochs": 200,
            "batch_size": 64,
            "early_stopping_patience": 50,
            "pretrain_patience": 50,  # the paper early-stops pretraining too
        },
    }
    module = build_module((N_RNA, N_ATAC), ("expression", "accessibility"), layouts=(None, GROUPS))
    assert module.mask_rates == (0.5, 0.3)
    assert module.kl_weights == pytest.approx((20 / N_RNA, 20 / N_ATAC))
    assert module.reconstruction_weights == (1.0, 2.0)
    assert [lik.name for lik in module.likelihoods] == ["mse", "bce_tfidf"]
    assert module.variational_head == "paper"
    assert module.output_batch_norm is True
    plan = ButterflyTrainingPlan(module, n_epochs_pretrain=1, **preset_kwargs("paper", "plan"))
    assert plan.lr == 1e-3 and plan.lr_discriminator == 5e-3
    assert plan.n_epochs_kl_warmup == 50 and plan.adversarial_gate == 1.35
    assert plan.validation_objective == "weighted"


@pytest.mark.parametrize(
    ("kinds", "target", "expected"),
    [
        (("expression", "accessibility"), "binary", "correlation"),
        (("expression", "accessibility"), "scaled", "weighted"),
        (("expression", "protein"), "binary", "weighted"),
        (("expression", "expression"), "binary", "weighted"),
    ],
)
def test_auto_validation_objective_follows_the_accessibility_target(kinds, target, expected):
    module = build_module(
        (N_RNA, N_ATAC),
        kinds,
        layouts=(None, GROUPS if kinds[1] == "accessibility" else None),
        accessibility_target=target,
    )
    plan = ButterflyTrainingPlan(module, n_epochs_pretrain=1, validation_objective="auto")
    assert plan.validation_objective == expected
    default = ButterflyTrainingPlan(module, n_epochs_pretrain=1, **preset_kwargs("default", "plan"))
    assert default.validation_objective == expected


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_builds(small_mdata, preset):
    ButterflyModel.setup_mudata(small_mdata, modalities=("rna", "atac"))
    model = ButterflyModel(small_mdata, preset=preset)
    assert model.preset_ == preset
    plan = ButterflyTrainingPlan(model.module, n_epochs_pretrain=1, **preset_kwargs(preset, "plan"))
    assert plan.validation_objective in set(VALIDATION_OBJECTIVES) - {"auto"}
