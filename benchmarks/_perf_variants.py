"""Alternative implementations compared in the performance benchmarks.

Each variant computes the same function as the package's implementation (checked by
``tests/test_scale_paths.py``); the benchmarks swap them in with :func:`variant` to compare
them interleaved in one process, which is robust to the load of a shared machine.

- ``"einsum"``: the chromosome layers as first written (advanced indexing + ``einsum``);
- ``"loop"``: a Python loop of one ``addmm`` per chromosome;
- ``"bmm"``: the package's ``index_select`` + ``baddbmm`` (current);
- masks: ``"dropout"`` (``F.dropout``, a Bernoulli draw per entry, as in ``ButterflyModule``)
  or ``"sparse"`` (:func:`butterflyvi.module._layers.input_dropout`, draws for non-zeros only);
- Adam: ``"loop"`` (torch's default on CPU: ``foreach=False``) or ``"fused"`` (current).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from butterflyvi.module import _layers, _module
from butterflyvi.module._layers import ChromosomeDecoderLayer, ChromosomeEncoderLayer
from butterflyvi.train import _plan


def encoder_einsum(self: ChromosomeEncoderLayer, x: torch.Tensor) -> torch.Tensor:
    """The first implementation: ``x[:, index]`` and ``einsum``."""
    padded = torch.cat([x, x.new_zeros(x.shape[0], 1)], dim=1)
    blocks = padded[:, self.index]
    hidden = torch.einsum("bcl,clu->bcu", blocks, self.weight) + self.bias
    hidden = hidden.reshape(x.shape[0], -1)
    return self.dropout(self.activation(self.norm(hidden)))


def decoder_einsum(self: ChromosomeDecoderLayer, h: torch.Tensor) -> torch.Tensor:
    """The first implementation: ``einsum`` and ``out[:, inverse]``."""
    blocks = h.reshape(h.shape[0], self.n_groups, self.units)
    out = torch.einsum("bcu,cul->bcl", blocks, self.weight) + self.bias
    out = out.reshape(h.shape[0], -1)[:, self.inverse]
    return self.norm(out)


def _order(layer) -> tuple[torch.Tensor, list[int]]:
    lengths = layer.lengths.tolist()
    flat = layer.index.reshape(-1)
    return flat[flat < layer.n_features], lengths


def encoder_loop(self: ChromosomeEncoderLayer, x: torch.Tensor) -> torch.Tensor:
    """One ``addmm`` per chromosome on views of the padded weight."""
    order, lengths = _order(self)
    x = x.index_select(1, order)
    weights = self.weight.unbind(0)
    outs, start = [], 0
    for c, n in enumerate(lengths):
        outs.append(torch.addmm(self.bias[c], x[:, start : start + n], weights[c][:n]))
        start += n
    return self.dropout(self.activation(self.norm(torch.cat(outs, 1))))


def decoder_loop(self: ChromosomeDecoderLayer, h: torch.Tensor) -> torch.Tensor:
    """One ``addmm`` per chromosome, concatenated, then put back in feature order."""
    _, lengths = _order(self)
    u = self.units
    weights, biases = self.weight.unbind(0), self.bias.unbind(0)
    outs = [
        torch.addmm(biases[c][:n], h[:, c * u : (c + 1) * u], weights[c][:, :n])
        for c, n in enumerate(lengths)
    ]
    order, _ = _order(self)
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(len(order))
    return self.norm(torch.cat(outs, 1).index_select(1, inverse))


LAYERS = {
    "bmm": (ChromosomeEncoderLayer.forward, ChromosomeDecoderLayer.forward),
    "einsum": (encoder_einsum, decoder_einsum),
    "loop": (encoder_loop, decoder_loop),
}


def _encode_sparse(self, x: torch.Tensor, modality: int) -> torch.Tensor:
    x = _layers.input_dropout(x, self.mask_rates[modality], self.training)
    return self.encoders[modality](x)


def _encode_dropout(self, x: torch.Tensor, modality: int) -> torch.Tensor:
    x = F.dropout(x, p=self.mask_rates[modality], training=self.training)
    return self.encoders[modality](x)


MASKS = {"dropout": _encode_dropout, "sparse": _encode_sparse}


def _adam_loop(parameters) -> dict:
    return {"foreach": False}


ADAM = {"fused": _plan.adam_options, "loop": _adam_loop}


@contextmanager
def variant(*, layers: str = "bmm", mask: str = "dropout", adam: str = "fused") -> Iterator[None]:
    """Swap in the named implementations for the duration of the block."""
    saved = (
        ChromosomeEncoderLayer.forward,
        ChromosomeDecoderLayer.forward,
        _module.ButterflyModule.encode,
        _plan.adam_options,
    )
    ChromosomeEncoderLayer.forward, ChromosomeDecoderLayer.forward = LAYERS[layers]
    _module.ButterflyModule.encode = MASKS[mask]
    _plan.adam_options = ADAM[adam]
    try:
        yield
    finally:
        (
            ChromosomeEncoderLayer.forward,
            ChromosomeDecoderLayer.forward,
            _module.ButterflyModule.encode,
            _plan.adam_options,
        ) = saved
