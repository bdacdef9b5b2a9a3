"""Training faults: a non-finite loss, Ctrl+C, and continuing training after a save.

- A NaN/Inf loss stops training with :class:`NonFiniteLossError` naming the loss, the phase
  and the epoch; the failing step never updates the weights, and the best phase-2 weights
  (when a validation epoch was recorded) are restored, so the model still translates.
- ``KeyboardInterrupt``: Lightning catches it, runs the callbacks' ``on_exception`` (the
  best weights are restored), ignores further SIGINTs and calls ``sys.exit(1)``;
  ``ButterflyModel.train`` turns that back into a ``KeyboardInterrupt`` and restores the
  SIGINT handler, and the model stays usable.
- A second ``train()`` call (also after ``save``/``load``) starts from the current weights.
"""

from __future__ import annotations

import math
import signal

import lightning.pytorch as pl
import mudata as md
import numpy as np
import pytest
import torch

from _synthetic import tiny_paired
from butterflyvi.model import ButterflyModel
from butterflyvi.train import NonFiniteLossError

TRAIN = {
    "batch_size": 32,
    "accelerator": "cpu",
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "train_size": 0.8,
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def fit(model: ButterflyModel, pretrain: int, epochs: int, **kwargs) -> None:
    model.train(max_epochs_pretrain=pretrain, max_epochs=epochs, **{**TRAIN, **kwargs})


@pytest.fixture(scope="module")
def data() -> md.MuData:
    mdata = tiny_paired(60)
    ButterflyModel.setup_mudata(mdata)
    return mdata


def state_of(model: ButterflyModel) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.module.state_dict().items()}


def all_finite(model: ButterflyModel) -> bool:
    return all(
        torch.isfinite(v).all() for v in model.module.state_dict().values() if v.is_floating_point()
    )


def translates(model: ButterflyModel, mdata: md.MuData) -> bool:
    pred = model.translate(mdata, source="rna")
    return pred.shape == (mdata.n_obs, mdata["atac"].n_vars) and bool(
        np.isfinite(pred.X.data).all()
    )


class PoisonAt(pl.Callback):
    """At the start of ``epoch``, make the module's ``method`` return a NaN loss.

    With ``weights=True`` a parameter is also set to NaN first (diverged weights).
    """

    def __init__(self, epoch: int, method: str, *, weights: bool = False):
        self.epoch, self.method, self.weights = epoch, method, weights

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch != self.epoch:
            return
        module = pl_module.module
        if self.weights:
            with torch.no_grad():
                next(module.parameters()).fill_(math.nan)
        original = getattr(module, self.method)

        def poisoned(*args, **kwargs):
            out = original(*args, **kwargs)
            out.loss = out.loss * math.nan
            return out

        setattr(module, self.method, poisoned)


class InterruptAt(pl.Callback):
    """Raise ``KeyboardInterrupt`` at the end of ``epoch`` (as Ctrl+C would)."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            raise KeyboardInterrupt


class RecordStart(pl.Callback):
    """Record the module's weights when fitting starts."""

    def on_train_start(self, trainer, pl_module):
        self.state = {k: v.detach().cpu().clone() for k, v in pl_module.module.state_dict().items()}


def test_nan_loss_in_phase_2_stops_and_restores_the_best_weights(data):
    model = ButterflyModel(data)
    poison = PoisonAt(3, "loss", weights=True)
    with pytest.raises(
        NonFiniteLossError,
        match=r"The (discriminator|generator) loss became nan in phase 2 \(integrative "
        r"training\) at epoch 3",
    ):
        fit(model, 1, 3, callbacks=[poison])
    assert model.best_epoch_ in (1, 2)
    assert all_finite(model)  # the NaN weights were replaced by the best epoch's
    assert translates(model, data)
    assert "validation_translation_loss" in model.history


def test_nan_loss_in_phase_1_leaves_the_last_finite_weights(data):
    model = ButterflyModel(data)
    before = state_of(model)
    with pytest.raises(
        NonFiniteLossError,
        match=r"The pretraining loss became nan in phase 1 \(pretraining\) at epoch 0",
    ):
        fit(model, 2, 1, callbacks=[PoisonAt(0, "pretrain_loss")])
    assert model.best_epoch_ is None
    after = state_of(model)
    # the failing step updated no weight (only BatchNorm statistics saw the forward pass)
    statistics = ("running_mean", "running_var", "num_batches_tracked")
    assert all(torch.equal(before[k], after[k]) for k in before if not k.endswith(statistics))
    assert all_finite(model) and translates(model, data)


def test_keyboard_interrupt_leaves_a_usable_model(data):
    model = ButterflyModel(data)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(
        KeyboardInterrupt, match=r"interrupted in phase 2 \(integrative training\) at epoch 2"
    ):
        fit(model, 1, 3, callbacks=[InterruptAt(2)])
    # Lightning sets SIGINT to "ignore" while shutting down; train() puts the handler back.
    assert signal.getsignal(signal.SIGINT) is handler
    assert model.best_epoch_ in (1, 2)
    assert all_finite(model) and translates(model, data)
    assert "train_loss" in model.history  # scvi keeps the history of the interrupted run


def test_second_train_call_continues_from_current_weights(data, tmp_path):
    model = ButterflyModel(data)
    fit(model, 1, 1)
    model.save(tmp_path / "model", save_anndata=False)
    loaded = ButterflyModel.load(tmp_path / "model", adata=data)
    start = state_of(loaded)
    record = RecordStart()
    fit(loaded, 0, 2, callbacks=[record])
    # nothing is re-initialised: training resumes from the loaded weights (phase 2 only)
    assert all(torch.equal(start[k], record.state[k]) for k in start)
    assert not all(torch.equal(start[k], v) for k, v in state_of(loaded).items())
    assert len(loaded.history["train_loss"]) == 1 + 2  # the history is continued
    assert loaded.is_trained_ and translates(loaded, data)
