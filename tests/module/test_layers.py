"""Scale paths: fast layers, input masking, fused Adam, deferred checks, epoch logging,
translation of on-disk (backed) data, and two-process DDP training on CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks import _perf_variants
from butterflyvi.module._layers import (
    ChromosomeDecoderLayer,
    ChromosomeEncoderLayer,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def shuffled_groups(n_features: int = 50, seed: int = 0) -> list[np.ndarray]:
    """Three chromosomes whose peaks are interleaved (not contiguous) in the input."""
    perm = np.random.default_rng(seed).permutation(n_features)
    return [np.sort(perm[:10]), np.sort(perm[10:13]), np.sort(perm[13:])]


def test_chromosome_layers_equal_one_linear_per_chromosome():
    torch.manual_seed(0)
    groups = shuffled_groups()
    enc = ChromosomeEncoderLayer(groups, 50, units=4).eval()
    dec = ChromosomeDecoderLayer(groups, 50, units=4, batch_norm=False)
    enc.norm, enc.activation = torch.nn.Identity(), torch.nn.Identity()
    x = torch.rand(7, 50)
    expected = torch.cat(
        [x[:, g] @ enc.weight[i, : len(g)] + enc.bias[i] for i, g in enumerate(groups)], 1
    )
    torch.testing.assert_close(enc(x), expected)
    h = torch.randn(7, 12)
    expected = torch.zeros(7, 50)
    for i, g in enumerate(groups):
        expected[:, g] = (
            h[:, 4 * i : 4 * i + 4] @ dec.weight[i, :, : len(g)] + dec.bias[i, : len(g)]
        )
    torch.testing.assert_close(dec(h), expected)


def test_padded_weights_get_no_gradient_and_never_change():
    groups = shuffled_groups()
    enc = ChromosomeEncoderLayer(groups, 50, units=4)
    dec = ChromosomeDecoderLayer(groups, 50, units=4)
    padding = torch.arange(enc.weight.shape[1])[None, :] >= enc.lengths[:, None]
    dec_padding = dec.weight.detach().transpose(1, 2)[padding].clone()
    optimiser = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=0.1)
    for _ in range(3):
        optimiser.zero_grad()
        dec(enc(torch.rand(8, 50))).pow(2).sum().backward()
        assert enc.weight.grad[padding].abs().max() == 0
        assert dec.weight.grad.transpose(1, 2)[padding].abs().max() == 0
        optimiser.step()
    assert enc.weight[padding].abs().max() == 0  # the encoder's padding starts and stays at 0
    # the decoder's padded outputs are dropped: their weights keep their initial values
    assert torch.equal(dec.weight.detach().transpose(1, 2)[padding], dec_padding)


@pytest.mark.parametrize("name", ["einsum", "loop"])
def test_benchmarked_layer_variants_compute_the_same_function(name):
    torch.manual_seed(0)
    groups = shuffled_groups()
    enc = ChromosomeEncoderLayer(groups, 50, units=4).eval()
    dec = ChromosomeDecoderLayer(groups, 50, units=4).eval()
    x, h = torch.rand(9, 50), torch.randn(9, 12)
    encoder, decoder = _perf_variants.LAYERS[name]
    torch.testing.assert_close(encoder(enc, x), enc(x))
    torch.testing.assert_close(decoder(dec, h), dec(h))
