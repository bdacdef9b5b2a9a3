"""Options of the module, the training plan and the presets (issue 9 ablations).

Each option: reachable by keyword, right shapes, finite losses; and the ``"paper"`` preset
still builds exactly the published networks and schedule.
"""

from __future__ import annotations

import numpy as np
import torch

from butterflyvi.module import ButterflyModule

N_RNA, N_ATAC = 30, 40
GROUPS = [np.arange(0, 15), np.arange(15, 32), np.arange(32, 40)]


def _module(**kwargs) -> ButterflyModule:
    torch.manual_seed(0)
    return ButterflyModule(
        (N_RNA, N_ATAC),
        ("expression", "accessibility"),
        layouts=(None, GROUPS),
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


def test_baseline_loss_matches_mean_prediction():
    module = _module(accessibility_target="binary")
    batch = _batch(200)
    for m in range(2):
        target = module.loss_target(batch, m)
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
    assert set(torch.unique(module.loss_target(batch, 1)).tolist()) <= {0.0, 1.0}
