"""Options of the module, the training plan and the presets (issue 9 ablations).

Each option: reachable by keyword, right shapes, finite losses; and the ``"paper"`` preset
still builds exactly the published networks and schedule.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from _helpers import N_ATAC, tiny_batch, tiny_module
from butterflyvi.module._layers import FCLayer
from butterflyvi.module._networks import VariationalHead


@pytest.mark.parametrize("form", ["paper", "linear"])
def test_variational_head_forms(form):
    module = tiny_module(variational_head=form)
    head = module.translator.heads[0]
    if form == "paper":
        assert isinstance(head.mean, FCLayer) and isinstance(head.log_var, FCLayer)
    else:
        assert type(head.mean) is nn.Linear and type(head.log_var) is nn.Linear
        assert isinstance(module.pretrain_heads[1].variational.mean, nn.Linear)
    batch = tiny_batch()
    module.train()
    inference, generative, out = module(batch)
    assert inference["z_0"].shape == (12, 8)
    assert generative["pre_0_1"].shape == (12, N_ATAC)
    assert torch.isfinite(out.loss)
    out.loss.backward()
    assert torch.isfinite(module.pretrain_loss(batch, kl_weight=1.0).loss)


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
        tiny_module(variational_head="nonsense")
