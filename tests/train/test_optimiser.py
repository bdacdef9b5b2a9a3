"""Scale paths: fast layers, input masking, fused Adam, deferred checks, epoch logging,
translation of on-disk (backed) data, and two-process DDP training on CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from butterflyvi.train._plan import adam_options

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def shuffled_groups(n_features: int = 50, seed: int = 0) -> list[np.ndarray]:
    """Three chromosomes whose peaks are interleaved (not contiguous) in the input."""
    perm = np.random.default_rng(seed).permutation(n_features)
    return [np.sort(perm[:10]), np.sort(perm[10:13]), np.sort(perm[13:])]


def test_fused_adam_on_cpu_gives_the_default_update():
    assert adam_options([torch.nn.Parameter(torch.zeros(3))]) == {"fused": True}
    torch.manual_seed(0)
    start = [torch.randn(20, 5), torch.randn(5)]
    grads = [torch.randn_like(p) for p in start]
    results = []
    for options in ({"foreach": False}, adam_options(start)):
        params = [torch.nn.Parameter(p.clone()) for p in start]
        optimiser = torch.optim.Adam(params, lr=1e-2, **options)
        for _ in range(5):
            for p, g in zip(params, grads, strict=True):
                p.grad = g.clone()
            optimiser.step()
        results.append([p.detach() for p in params])
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
