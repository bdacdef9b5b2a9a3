"""Scale paths: fast layers, input masking, fused Adam, deferred checks, epoch logging,
translation of on-disk (backed) data, and two-process DDP training on CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import scvi
import torch

import butterflyvi as bf
from _helpers import tiny_mdata
from _tiny import QUIET
from butterflyvi.train import ButterflyTrainingPlan
from butterflyvi.train._plan import NonFiniteLossError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_deferred_nonfinite_flag_is_raised_at_the_check():
    mdata = tiny_mdata()
    bf.ButterflyModel.setup_mudata(mdata)
    plan = ButterflyTrainingPlan(bf.ButterflyModel(mdata).module, n_epochs_pretrain=1)
    plan._nonfinite = torch.tensor(False)
    plan.on_train_epoch_end()  # a finite flag passes and is reset
    assert plan._nonfinite is None
    plan._nonfinite = torch.tensor(True)
    plan.on_train_batch_end(None, None, batch_idx=plan.finite_check_interval - 2)  # not due
    with pytest.raises(NonFiniteLossError, match="checked every 50 steps"):
        plan.on_train_batch_end(None, None, batch_idx=plan.finite_check_interval - 1)


def test_epoch_logging_gives_the_per_step_logging_history(monkeypatch):
    """The training values summed on the device and logged once per epoch give the history
    Lightning's per-step ``self.log`` gave (same seed, same training)."""

    def per_step(self, values, n, *, on_step):
        for name, value in values.items():
            self.log(name, value.detach(), batch_size=n, on_step=on_step, on_epoch=True)

    histories = []
    for patch in (False, True):
        if patch:
            monkeypatch.setattr(ButterflyTrainingPlan, "_log_values", per_step)
        mdata = tiny_mdata()
        scvi.settings.seed = 0
        bf.ButterflyModel.setup_mudata(mdata)
        model = bf.ButterflyModel(mdata)
        model.train(
            max_epochs_pretrain=1,
            max_epochs=2,
            batch_size=32,
            **QUIET,
        )
        histories.append(model.history)
    new, old = histories
    assert set(new) == set(old)
    assert {"train_loss", "pretrain_loss", "train_adversarial_applied"} <= set(new)
    for key in old:
        np.testing.assert_allclose(
            new[key].to_numpy(float), old[key].to_numpy(float), rtol=1e-5, err_msg=key
        )
