"""Options of the module, the training plan and the presets (issue 9 ablations).

Each option: reachable by keyword, right shapes, finite losses; and the ``"paper"`` preset
still builds exactly the published networks and schedule.
"""

from __future__ import annotations

import numpy as np
import pytest
import scvi
import torch
from torch import nn

import butterflyvi as bf
from butterflyvi import ButterflyModel
from butterflyvi.model._presets import PRESETS, preset_kwargs
from butterflyvi.module import ButterflyModule
from butterflyvi.module._layers import ChromosomeDecoderLayer, FCLayer
from butterflyvi.module._networks import VariationalHead
from butterflyvi.train import ButterflyTrainingPlan
from butterflyvi.train._plan import VALIDATION_OBJECTIVES

N_RNA, N_ATAC = 30, 40
GROUPS = [np.arange(0, 15), np.arange(15, 32), np.arange(32, 40)]


def _module(**kwargs) -> ButterflyModule:
    torch.manual_seed(0)
    return ButterflyModule(
        (N_RNA, N_ATAC),
        ("expression", "accessibility"),
        chromosome_groups=(None, GROUPS),
        n_embedding=16,
        n_hidden=24,
        n_latent=8,
        chromosome_units=4,
        **kwargs,
    )


def _batch(n: int = 12) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    rna = torch.rand(n, N_RNA, generator=g) * (torch.rand(n, N_RNA, generator=g) < 0.4)
    atac = torch.rand(n, N_ATAC, generator=g) * (torch.rand(n, N_ATAC, generator=g) < 0.1)
    return {"mod_0": rna, "mod_1": atac}


def _phase2_loss(module: ButterflyModule, batch):
    inference, generative, out = module(batch)
    return inference, generative, out


# ------------------------------------------------------------------ variational head
@pytest.mark.parametrize("form", ["paper", "linear"])
def test_variational_head_forms(form):
    module = _module(variational_head=form)
    head = module.translator.heads[0]
    if form == "paper":
        assert isinstance(head.mean, FCLayer) and isinstance(head.log_var, FCLayer)
    else:
        assert type(head.mean) is nn.Linear and type(head.log_var) is nn.Linear
        assert isinstance(module.pretrain_heads[1].variational.mean, nn.Linear)
    batch = _batch()
    module.train()
    inference, generative, out = _phase2_loss(module, batch)
    assert inference["z_0"].shape == (12, 8)
    assert generative["pre_0_1"].shape == (12, N_ATAC)
    assert torch.isfinite(out.loss)
    out.loss.backward()
    assert torch.isfinite(module.pretrain_loss(batch, kl_scale=1.0).loss)


def test_linear_head_can_be_precise():
    """The paper's head keeps log-variance ≳ 0; the linear head can go well below."""
    torch.manual_seed(0)
    h = torch.randn(64, 16)
    paper, linear = VariationalHead(16, 8, "paper"), VariationalHead(16, 8, "linear")
    with torch.no_grad():
        for head in (paper, linear):
            layer = head.log_var.linear if isinstance(head.log_var, FCLayer) else head.log_var
            layer.bias.fill_(-6.0)
        paper.log_var.norm.bias.fill_(-6.0)
    assert paper(h)[1].min() > -0.5
    assert linear(h)[1].mean() < -3


def test_variational_head_rejects_unknown():
    with pytest.raises(ValueError, match="variational_head"):
        _module(variational_head="nonsense")


# ------------------------------------------------------------------ output BatchNorm
def test_no_output_batch_norm_shapes_and_mean_init():
    module = _module(output_batch_norm=False)
    for decoder in module.decoders:
        assert isinstance(decoder.output.norm, nn.Identity)
    rna_mean = np.linspace(0.1, 2.0, N_RNA)
    atac_mean = np.linspace(0.01, 0.2, N_ATAC)
    module.initialize_outputs((rna_mean, atac_mean), (np.ones(N_RNA), np.ones(N_ATAC)))
    # The bias of every feature (in input order) is the inverse activation of its mean.
    layer = module.decoders[1].output
    assert isinstance(layer, ChromosomeDecoderLayer)
    bias = layer.bias.detach().view(-1)[layer.inverse]
    np.testing.assert_allclose(torch.sigmoid(bias).numpy(), atac_mean, rtol=1e-5)
    np.testing.assert_allclose(
        module.decoders[0].output.linear.bias.detach().numpy(), rna_mean, rtol=1e-6
    )
    # Starting from zero weights, the decoders predict exactly the mean.
    with torch.no_grad():
        module.decoders[1].output.weight.zero_()
        module.decoders[0].output.linear.weight.zero_()
    module.eval()
    h = torch.randn(5, 16)
    with torch.no_grad():
        atac = module.decoders[1].activate(module.decoders[1](h))
    np.testing.assert_allclose(atac.numpy(), np.tile(atac_mean, (5, 1)), rtol=1e-5)
    module.train()
    out = _phase2_loss(module, _batch())[2]
    assert torch.isfinite(out.loss)


def test_paper_module_keeps_output_batch_norm():
    module = _module()
    for decoder in module.decoders:
        assert isinstance(decoder.output.norm, nn.BatchNorm1d)
    assert isinstance(module.translator.heads[0].mean, FCLayer)


# ------------------------------------------------------------------ baseline loss
def test_baseline_loss_matches_mean_prediction():
    module = _module(accessibility_target="binary")
    batch = _batch(200)
    for m, key in enumerate(("mod_0", "mod_1")):
        target = module.loss_target(batch[key], m)
        mean = target.mean(0)
        expected = (
            torch.nn.functional.binary_cross_entropy(
                mean.clamp(1e-6, 1 - 1e-6).expand_as(target), target
            )
            if m == 1
            else torch.nn.functional.mse_loss(mean.expand_as(target), target)
        )
        got = module.baseline_loss(mean, target.pow(2).mean(0), m)
        assert torch.isclose(got, expected, rtol=1e-4)
    assert set(torch.unique(module.loss_target(batch["mod_1"], 1)).tolist()) <= {0.0, 1.0}


# ------------------------------------------------------------------ training plan
def test_plan_rejects_unknown_validation_objective():
    with pytest.raises(ValueError, match="validation_objective"):
        ButterflyTrainingPlan(_module(), n_epochs_pretrain=1, validation_objective="x")
    with pytest.raises(ValueError, match="loss_balance"):
        ButterflyTrainingPlan(_module(), n_epochs_pretrain=1, loss_balance="x")


def test_loss_balance_weights():
    module = _module(accessibility_target="binary")
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
    module = _module()
    module.train()
    batch = _batch()
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


@pytest.fixture(scope="module")
def small_mdata():
    mdata = bf.datasets.synthetic_paired(120, n_genes=60, n_peaks=300, n_cell_types=3, seed=0)
    bf.pp.preprocess_rna(mdata["rna"])
    bf.pp.preprocess_atac(mdata["atac"], min_cell_fraction=0.0)
    mdata.update()
    return mdata


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
    pred = model.translate(small_mdata, source="rna", add_to_mdata=False)
    assert pred.shape == small_mdata["atac"].shape
    assert np.isfinite(pred.X.data).all()


# ------------------------------------------------------------------ presets
def test_paper_preset_is_the_published_method():
    assert PRESETS["paper"] == {"model": {"output_init": "random"}, "module": {}, "plan": {}}
    module = ButterflyModule(
        (N_RNA, N_ATAC), ("expression", "accessibility"), chromosome_groups=(None, GROUPS)
    )
    assert module.mask_rates == (0.5, 0.3)
    assert module.kl_weights == pytest.approx((20 / N_RNA, 20 / N_ATAC))
    assert module.reconstruction_weights == (1.0, 2.0)
    assert module.accessibility_target == "scaled"
    assert module.variational_head == "paper"
    assert module.output_batch_norm is True
    plan = ButterflyTrainingPlan(module, n_epochs_pretrain=1, **preset_kwargs("paper", "plan"))
    assert plan.lr == 1e-3 and plan.lr_discriminator == 5e-3
    assert plan.kl_warmup_epochs == 50 and plan.adversarial_gate == 1.35
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
    module = ButterflyModule(
        (N_RNA, N_ATAC),
        kinds,
        chromosome_groups=(None, GROUPS if kinds[1] == "accessibility" else None),
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
