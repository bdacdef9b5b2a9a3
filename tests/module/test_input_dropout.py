"""Scale paths: fast layers, input masking, fused Adam, deferred checks, epoch logging,
translation of on-disk (backed) data, and two-process DDP training on CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from butterflyvi.module._layers import (
    input_dropout,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def shuffled_groups(n_features: int = 50, seed: int = 0) -> list[np.ndarray]:
    """Three chromosomes whose peaks are interleaved (not contiguous) in the input."""
    perm = np.random.default_rng(seed).permutation(n_features)
    return [np.sort(perm[:10]), np.sort(perm[10:13]), np.sort(perm[13:])]


def test_input_dropout_is_inverted_dropout_of_the_non_zeros():
    x = (torch.rand(400, 300) < 0.1).float() * torch.rand(400, 300)
    torch.manual_seed(1)
    out = input_dropout(x, 0.3)
    assert torch.equal(out[x == 0], torch.zeros_like(out[x == 0]))
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / 0.7)
    n = int((x != 0).sum())
    # the fraction kept is Binomial(n, 0.7) / n: within 5 standard deviations
    assert abs(int(kept.sum()) / n - 0.7) < 5 * (0.21 / n) ** 0.5
    torch.manual_seed(1)
    assert torch.equal(input_dropout(x, 0.3), out)  # seeded: deterministic
    assert input_dropout(x, 0.3, training=False) is x
    assert input_dropout(x, 0.0) is x
    assert torch.equal(input_dropout(x, 1.0), torch.zeros_like(x))
    with pytest.raises(ValueError, match="probability"):
        input_dropout(x, 1.5)
