"""Options of the module, the training plan and the presets (issue 9 ablations).

Each option: reachable by keyword, right shapes, finite losses; and the ``"paper"`` preset
still builds exactly the published networks and schedule.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from _helpers import N_ATAC, N_RNA, tiny_batch, tiny_module
from butterflyvi.module._layers import ChromosomeDecoderLayer, FCLayer


def test_no_output_batch_norm_shapes_and_mean_init():
    module = tiny_module(output_batch_norm=False)
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
        atac = module.likelihoods[1].predict(module.decoders[1](h))
    np.testing.assert_allclose(atac.numpy(), np.tile(atac_mean, (5, 1)), rtol=1e-5)
    module.train()
    out = module(tiny_batch())[2]
    assert torch.isfinite(out.loss)


def test_paper_module_keeps_output_batch_norm():
    module = tiny_module()
    for decoder in module.decoders:
        assert isinstance(decoder.output.norm, nn.BatchNorm1d)
    assert isinstance(module.translator.heads[0].mean, FCLayer)
