"""Options of the module, the training plan and the presets (issue 9 ablations).

Each option: reachable by keyword, right shapes, finite losses; and the ``"paper"`` preset
still builds exactly the published networks and schedule.
"""

from __future__ import annotations

import torch

from _helpers import tiny_batch, tiny_module


def test_baseline_loss_matches_mean_prediction():
    module = tiny_module(accessibility_target="binary")
    batch = tiny_batch(200)
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
