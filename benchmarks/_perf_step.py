"""A training step of either phase without Lightning, for profiling and FLOP counting.

It performs what ``ButterflyTrainingPlan.training_step`` does (same module calls, same
optimisers from ``configure_optimizers``), minus Lightning's bookkeeping and logging, so the
difference to a Lightning epoch is the framework's per-step cost.
"""

from __future__ import annotations

import torch
from torch import nn

from butterflyvi._constants import MODALITY_KEYS
from butterflyvi.module import ButterflyModule
from butterflyvi.module._layers import ChromosomeDecoderLayer, ChromosomeEncoderLayer
from butterflyvi.train import ButterflyTrainingPlan


class RawSteps:
    """Phase-1 and phase-2 steps of ``module`` on a fixed minibatch ``tensors``."""

    def __init__(self, module: ButterflyModule, tensors: dict[str, torch.Tensor]):
        self.module = module
        self.tensors = tensors
        plan = ButterflyTrainingPlan(module, n_epochs_pretrain=1)
        self.pretrain, self.generator, self.discriminator = plan.configure_optimizers()
        module.train()

    def phase1(self) -> None:
        """One phase-1 step (KL scale 0.5)."""
        out = self.module.pretrain_loss(self.tensors, kl_weight=0.5)
        self.pretrain.zero_grad()
        out.loss.backward()
        self.pretrain.step()

    def phase2(self) -> None:
        """One phase-2 step: discriminator, then generator (KL scale 0.5, gate 1.35)."""
        m = self.module
        inference = m.inference(**m._get_inference_input(self.tensors))
        generative = m.generative(**m._get_generative_input(self.tensors, inference))
        d_loss = m.discriminator_loss(inference, generative, detach=True)
        self.discriminator.zero_grad()
        d_loss.backward()
        self.discriminator.step()
        frozen = m.discriminator_parameters()
        for p in frozen:
            p.requires_grad_(False)
        adv = m.discriminator_loss(inference, generative, detach=False)
        applied = (adv.detach() < 1.35).float()
        out = m.loss(
            self.tensors, inference, generative, kl_weight=0.5, adversarial_term=adv * applied
        )
        self.generator.zero_grad()
        out.loss.backward()
        self.generator.step()
        for p in frozen:
            p.requires_grad_(True)


def minibatch(mdata, modalities, rows) -> dict[str, torch.Tensor]:
    """Dense float32 tensors of ``rows`` of the two registered modalities."""
    out = {}
    for key, mod in zip(MODALITY_KEYS, modalities, strict=True):
        x = mdata[mod].X[rows]
        out[key] = torch.from_numpy(x.toarray() if hasattr(x, "toarray") else x).float()
    return out


class FlopCounter:
    """Forward FLOPs of every ``nn.Linear`` and chromosome-blocked layer (hooks).

    Both the executed FLOPs (padded chromosome blocks) and the useful ones (real peaks only)
    are counted; matrix products only (element-wise work is not counted).
    """

    def __init__(self, module: nn.Module):
        self.executed = 0
        self.useful = 0
        self.handles = []
        for sub in module.modules():
            if isinstance(sub, nn.Linear):
                self.handles.append(sub.register_forward_hook(self._linear))
            elif isinstance(sub, ChromosomeEncoderLayer | ChromosomeDecoderLayer):
                self.handles.append(sub.register_forward_hook(self._blocks))

    def _linear(self, layer: nn.Linear, inputs, output) -> None:
        flops = 2 * inputs[0].shape[0] * layer.in_features * layer.out_features
        self.executed += flops
        self.useful += flops

    def _blocks(self, layer, inputs, output) -> None:
        batch = inputs[0].shape[0]
        self.executed += 2 * batch * layer.index.numel() * layer.units
        self.useful += 2 * batch * layer.n_features * layer.units

    def remove(self) -> None:
        """Remove the hooks."""
        for h in self.handles:
            h.remove()
