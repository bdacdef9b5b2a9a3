"""Options of the module, the training plan and the presets (issue 9 ablations).

Each option: reachable by keyword, right shapes, finite losses; and the ``"paper"`` preset
still builds exactly the published networks and schedule.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from butterflyvi.module import ButterflyModule
from butterflyvi.module._layers import ChromosomeDecoderLayer, FCLayer

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
        atac = module.likelihoods[1].predict(module.decoders[1](h))
    np.testing.assert_allclose(atac.numpy(), np.tile(atac_mean, (5, 1)), rtol=1e-5)
    module.train()
    out = _phase2_loss(module, _batch())[2]
    assert torch.isfinite(out.loss)


def test_paper_module_keeps_output_batch_norm():
    module = _module()
    for decoder in module.decoders:
        assert isinstance(decoder.output.norm, nn.BatchNorm1d)
    assert isinstance(module.translator.heads[0].mean, FCLayer)
