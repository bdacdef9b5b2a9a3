"""``ButterflyModule``: the scButterfly networks and losses as a scvi-tools module (pure torch)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scvi.module.base import BaseModuleClass, LossOutput, auto_move_data
from torch import nn

from .._constants import ACCESSIBILITY, KINDS
from ._layers import input_dropout
from ._networks import (
    KIND_DEFAULTS,
    Decoder,
    Discriminator,
    JointTranslator,
    SingleModalityHead,
    build_encoder,
    default_kl_weight,
)

#: Registry keys of the two modalities' matrices in a minibatch.
MODALITY_KEYS = ("mod_0", "mod_1")


def kl_to_standard_normal(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) ‖ N(0, I)), averaged over all elements."""
    return -0.5 * torch.mean(1.0 + log_var - mean.pow(2) - log_var.exp())


class ButterflyModule(BaseModuleClass):
    """Dual-aligned VAEs with a shared translator and two discriminators.

    Parameters
    ----------
    n_features
        Number of features of modality 0 and modality 1.
    kinds
        Kind of each modality: ``"expression"``, ``"accessibility"`` or ``"protein"``.
    chromosome_groups
        For each modality, the per-chromosome feature positions (accessibility only; ``None``
        for the other kinds).
    n_embedding
        Width of the encoder space (128 in the paper).
    n_hidden
        Hidden width of expression encoders/decoders (256).
    n_latent
        Width of the translator's latent space (128).
    chromosome_units
        Hidden units per chromosome of accessibility encoders/decoders (32).
    dropout
        Dropout after hidden layers (0.1).
    mask_rates
        Input masking rate of each modality during training (inverted dropout); defaults by
        kind: expression 0.5, accessibility 0.3, protein 0.
    kl_weights
        Phase-1 KL weight of each modality; defaults by kind: ``20 / I_m`` (protein 1/150).
        Phase 2 uses their sum.
    reconstruction_weights
        ``(w_0, w_1)`` weights of the losses of outputs in modality 0 and 1; default ``(1, 2)``,
        or ``(1, 1)`` when both modalities have the same kind.
    adversarial_weight
        ``w_dis`` of the adversarial term (1).
    discriminator_hidden
        Hidden widths of the discriminators (none: Linear → Sigmoid, as in the paper).
    accessibility_target
        ``"scaled"``: the accessibility decoder fits the scaled TF-IDF values with BCE (the
        paper); ``"binary"``: it fits whether each peak is open (the input still is TF-IDF), so
        its output is the probability that the peak is open.
    variational_head
        Form of the mean and log-variance heads of the latent posteriors (phase-1 heads and
        translator): ``"paper"`` (Linear → BatchNorm → LeakyReLU, which keeps the posterior
        standard deviation near 1 or above) or ``"linear"`` (plain Linear layers, the usual
        VAE). See :class:`~butterflyvi.module._networks.VariationalHead`.
    output_batch_norm
        Keep the BatchNorm right before each decoder's output activation (the paper). With
        ``False`` the output is the last linear map, whose bias :meth:`initialize_outputs` sets
        to the inverse activation of the training mean.
    """

    def __init__(
        self,
        n_features: Sequence[int],
        kinds: Sequence[str],
        *,
        chromosome_groups: Sequence[Sequence[np.ndarray] | None] = (None, None),
        n_embedding: int = 128,
        n_hidden: int = 256,
        n_latent: int = 128,
        chromosome_units: int = 32,
        dropout: float = 0.1,
        mask_rates: Sequence[float] | None = None,
        kl_weights: Sequence[float] | None = None,
        reconstruction_weights: Sequence[float] | None = None,
        adversarial_weight: float = 1.0,
        discriminator_hidden: Sequence[int] = (),
        accessibility_target: str = "scaled",
        variational_head: str = "paper",
        output_batch_norm: bool = True,
    ):
        super().__init__()
        if accessibility_target not in ("scaled", "binary"):
            raise ValueError(
                "accessibility_target: expected 'scaled' or 'binary', found "
                f"{accessibility_target!r}."
            )
        self.accessibility_target = accessibility_target
        if len(n_features) != 2 or len(kinds) != 2:
            raise ValueError(
                f"n_features, kinds: expected two modalities, found {len(n_features)} and "
                f"{len(kinds)}."
            )
        for kind in kinds:
            if kind not in KINDS:
                raise ValueError(f"kinds: expected values in {KINDS}, found {kind!r}.")
        self.kinds = tuple(kinds)
        self.n_features = tuple(int(n) for n in n_features)
        self.mask_rates = tuple(
            mask_rates
            if mask_rates is not None
            else (KIND_DEFAULTS[k]["mask_rate"] for k in self.kinds)
        )
        self.kl_weights = tuple(
            kl_weights
            if kl_weights is not None
            else (default_kl_weight(k, n) for k, n in zip(self.kinds, self.n_features, strict=True))
        )
        if reconstruction_weights is None:
            reconstruction_weights = (1.0, 1.0) if kinds[0] == kinds[1] else (1.0, 2.0)
        self.reconstruction_weights = tuple(float(w) for w in reconstruction_weights)
        self.adversarial_weight = float(adversarial_weight)

        net_kwargs = {
            "n_embedding": n_embedding,
            "n_hidden": n_hidden,
            "dropout": dropout,
            "chromosome_units": chromosome_units,
        }
        self.encoders = nn.ModuleList(
            [
                build_encoder(k, n, chromosome_groups=g, **net_kwargs)
                for k, n, g in zip(self.kinds, self.n_features, chromosome_groups, strict=True)
            ]
        )
        self.decoders = nn.ModuleList(
            [
                Decoder(
                    k, n, chromosome_groups=g, output_batch_norm=output_batch_norm, **net_kwargs
                )
                for k, n, g in zip(self.kinds, self.n_features, chromosome_groups, strict=True)
            ]
        )
        self.variational_head = variational_head
        self.output_batch_norm = bool(output_batch_norm)
        self.pretrain_heads = nn.ModuleList(
            [SingleModalityHead(n_embedding, n_latent, variational_head) for _ in range(2)]
        )
        self.translator = JointTranslator(n_embedding, n_latent, variational_head=variational_head)
        self.discriminators = nn.ModuleList(
            [Discriminator(n_embedding, discriminator_hidden) for _ in range(2)]
        )

    @torch.no_grad()
    def initialize_outputs(
        self, means: Sequence[np.ndarray], stds: Sequence[np.ndarray], *, eps: float = 1e-6
    ) -> None:
        """Start every decoder at the training data's per-feature mean.

        The paper's decoders end in BatchNorm → activation, so at initialisation every output
        sits at ``activation(N(0, 1))`` — around 0.5 for a Sigmoid, far from peaks open in a
        few percent of cells — and the BatchNorm shift must travel there at the learning rate.
        Here the shift is set to the inverse activation of each feature's mean (the logit for
        accessibility) and, for expression and protein, the scale to the feature's standard
        deviation, so training starts from the trivial mean prediction. Without the output
        BatchNorm (``output_batch_norm=False``) the output layer's bias is set instead.
        """
        for m, (mean, std) in enumerate(zip(means, stds, strict=True)):
            mean = torch.as_tensor(np.asarray(mean, dtype=np.float32))
            std = torch.as_tensor(np.asarray(std, dtype=np.float32))
            if self.kinds[m] == ACCESSIBILITY:
                self.decoders[m].set_output_offset(torch.logit(mean.clamp(eps, 1 - eps)))
            else:
                self.decoders[m].set_output_offset(mean, std.clamp_min(1e-3))

    # ------------------------------------------------------------------ parameter groups
    def pretrain_parameters(self) -> list[nn.Parameter]:
        """Parameters trained in phase 1: encoders, single-modality heads, decoders."""
        modules = [self.encoders, self.pretrain_heads, self.decoders]
        return [p for m in modules for p in m.parameters()]

    def generator_parameters(self) -> list[nn.Parameter]:
        """Parameters trained by the phase-2 generator step: encoders, translator, decoders."""
        modules = [self.encoders, self.translator, self.decoders]
        return [p for m in modules for p in m.parameters()]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """Parameters of the two discriminators."""
        return list(self.discriminators.parameters())

    # ------------------------------------------------------------------ pieces
    def encode(self, x: torch.Tensor, modality: int) -> torch.Tensor:
        """Encoder space of ``x``; the input is masked (inverted dropout) in training only."""
        x = input_dropout(x, self.mask_rates[modality], self.training)
        return self.encoders[modality](x)

    def fits_binarised(self, modality: int) -> bool:
        """Whether the decoder of ``modality`` fits whether each peak is open (an accessibility
        modality with ``accessibility_target="binary"``); its output is then a probability.
        """
        return self.kinds[modality] == ACCESSIBILITY and self.accessibility_target == "binary"

    def loss_target(self, x: torch.Tensor, modality: int) -> torch.Tensor:
        """What the decoder of ``modality`` fits for input ``x``: ``x`` itself, or whether each
        peak is open (:meth:`fits_binarised`).
        """
        if self.fits_binarised(modality):
            return (x > 0).to(x.dtype)
        return x

    def reconstruction_loss(
        self, pre: torch.Tensor, target: torch.Tensor, modality: int
    ) -> torch.Tensor:
        """BCE for accessibility, MSE otherwise; both averaged over all entries."""
        decoder = self.decoders[modality]
        target = self.loss_target(target, modality)
        if self.kinds[modality] == ACCESSIBILITY:
            return F.binary_cross_entropy_with_logits(pre, target)
        return F.mse_loss(decoder.activate(pre), target)

    def baseline_loss(
        self, mean: torch.Tensor, mean_square: torch.Tensor, modality: int, *, eps: float = 1e-6
    ) -> torch.Tensor:
        """Loss of the trivial prediction "every cell is the per-feature mean".

        ``mean`` and ``mean_square`` are per-feature moments of :meth:`loss_target` over the
        training cells. For BCE, ``mean_j H(m_j)`` with ``H`` the binary entropy (exact also
        for non-binary targets in [0, 1], the BCE being linear in the target); for MSE, the
        mean per-feature variance.
        """
        if self.kinds[modality] == ACCESSIBILITY:
            m = mean.clamp(eps, 1 - eps)
            return -(m * m.log() + (1 - m) * (1 - m).log()).mean()
        return (mean_square - mean.pow(2)).clamp_min(0).mean()

    # ------------------------------------------------------------------ phase 1
    def pretrain_loss(self, tensors: dict[str, torch.Tensor], kl_scale: float) -> LossOutput:
        """Phase-1 loss: each modality's autoencoder alone, ``L_rec + kl_scale · w_m · KL``.

        Both modalities are trained in the same minibatch; their parameters do not overlap,
        so this equals training them one after the other.
        """
        total = 0.0
        rec, kl = {}, {}
        for m, key in enumerate(MODALITY_KEYS):
            x = tensors[key]
            head = self.pretrain_heads[m](self.encode(x, m))
            rec[m] = self.reconstruction_loss(self.decoders[m](head["out"]), x, m)
            kl[m] = kl_to_standard_normal(head["mean"], head["log_var"])
            total = total + rec[m] + kl_scale * self.kl_weights[m] * kl[m]
        return LossOutput(
            loss=total,
            reconstruction_loss={f"reconstruction_{m}": rec[m] for m in rec},
            kl_local={f"kl_{m}": kl[m] for m in kl},
            n_obs_minibatch=tensors[MODALITY_KEYS[0]].shape[0],
        )

    # ------------------------------------------------------------------ phase 2 (scvi contract)
    def _get_inference_input(self, tensors: dict[str, torch.Tensor], **kwargs):
        return {"x_0": tensors[MODALITY_KEYS[0]], "x_1": tensors[MODALITY_KEYS[1]]}

    @auto_move_data
    def inference(self, x_0: torch.Tensor, x_1: torch.Tensor) -> dict[str, torch.Tensor]:
        """Encoder embeddings ``h_m`` and latent posteriors ``mean_m``, ``log_var_m``, ``z_m``."""
        out = {}
        for m, x in enumerate((x_0, x_1)):
            h = self.encode(x, m)
            post = self.translator.encode(h, m)
            out[f"h_{m}"] = h
            out[f"mean_{m}"] = post["mean"]
            out[f"log_var_{m}"] = post["log_var"]
            out[f"z_{m}"] = post["z"]
        return out

    def _get_generative_input(self, tensors, inference_outputs, **kwargs):
        return {"z_0": inference_outputs["z_0"], "z_1": inference_outputs["z_1"]}

    @auto_move_data
    def generative(self, z_0: torch.Tensor, z_1: torch.Tensor) -> dict[str, torch.Tensor]:
        """For every source ``s`` and target ``t``: translated embedding ``emb_s_t`` and the
        decoder's pre-activation output ``pre_s_t`` (s = t: reconstruction).
        """
        out = {}
        for s, z in enumerate((z_0, z_1)):
            for t in range(2):
                emb = self.translator.decode(z, t)
                out[f"emb_{s}_{t}"] = emb
                out[f"pre_{s}_{t}"] = self.decoders[t](emb)
        return out

    def discriminator_loss(
        self,
        inference_outputs: dict[str, torch.Tensor],
        generative_outputs: dict[str, torch.Tensor],
        *,
        detach: bool,
    ) -> torch.Tensor:
        """``L_Dis``: for each modality t, BCE of Dis_t telling its encoder's embeddings
        (soft label ~ U[0.8, 1]) from embeddings translated from the other modality
        (~ U[0, 0.2]), averaged over the real + fake batch; summed over both modalities.
        """
        total = 0.0
        for t in range(2):
            real = inference_outputs[f"h_{t}"]
            fake = generative_outputs[f"emb_{1 - t}_{t}"]
            if detach:
                real, fake = real.detach(), fake.detach()
            logits = self.discriminators[t](torch.cat([real, fake], dim=0))
            labels = torch.cat(
                [
                    0.8 + 0.2 * torch.rand(real.shape[0], device=real.device),
                    0.2 * torch.rand(fake.shape[0], device=fake.device),
                ]
            )
            total = total + F.binary_cross_entropy_with_logits(logits, labels)
        return total

    def loss(
        self,
        tensors: dict[str, torch.Tensor],
        inference_outputs: dict[str, torch.Tensor],
        generative_outputs: dict[str, torch.Tensor],
        kl_scale: float = 1.0,
        adversarial_term: torch.Tensor | None = None,
        weights: Sequence[float | torch.Tensor] | None = None,
    ) -> LossOutput:
        """Phase-2 generator loss.

        ``Σ_t w_t (L_t(t→t) + L_t(s→t)) + kl_scale · (w_0 + w_1)_KL · (KL_0 + KL_1)
        − w_dis · adversarial_term`` (the last only when ``adversarial_term`` is given).
        ``weights`` replaces the ``w_t`` (default: ``reconstruction_weights``); the training
        plan's ``loss_balance="baseline"`` passes weights that put both modalities on the
        scale of their trivial-prediction loss.
        """
        if weights is None:
            weights = self.reconstruction_weights
        terms = {}
        total = 0.0
        for t, key in enumerate(MODALITY_KEYS):
            target = tensors[key]
            for s in range(2):
                value = self.reconstruction_loss(generative_outputs[f"pre_{s}_{t}"], target, t)
                name = "reconstruction" if s == t else "translation"
                terms[f"{name}_{s}_to_{t}"] = value
                total = total + weights[t] * value
        kl = {
            f"kl_{m}": kl_to_standard_normal(
                inference_outputs[f"mean_{m}"], inference_outputs[f"log_var_{m}"]
            )
            for m in range(2)
        }
        total = total + kl_scale * sum(self.kl_weights) * (kl["kl_0"] + kl["kl_1"])
        if adversarial_term is not None:
            total = total - self.adversarial_weight * adversarial_term
        return LossOutput(
            loss=total,
            reconstruction_loss=terms,
            kl_local=kl,
            n_obs_minibatch=tensors[MODALITY_KEYS[0]].shape[0],
        )

    def translation_objective(self, loss_output: LossOutput) -> torch.Tensor:
        """Weighted reconstruction + translation loss (the early-stopping criterion)."""
        total = 0.0
        for name, value in loss_output.reconstruction_loss.items():
            total = total + self.reconstruction_weights[int(name[-1])] * value.mean()
        return total

    # ------------------------------------------------------------------ inference
    @torch.inference_mode()
    def translate(self, x: torch.Tensor, source: int, target: int) -> torch.Tensor:
        """Predicted profile in modality ``target`` (activated output) from ``x`` of ``source``.

        Uses the latent mean (no sampling) and no input masking when the module is in eval
        mode.
        """
        z = self.translator.encode(self.encode(x, source), source)["z"]
        decoder = self.decoders[target]
        return decoder.activate(decoder(self.translator.decode(z, target)))

    @torch.inference_mode()
    def latent_mean(self, x: torch.Tensor, source: int) -> torch.Tensor:
        """Mean of the shared latent posterior of ``x`` from modality ``source``."""
        return self.translator.encode(self.encode(x, source), source)["mean"]

    @torch.inference_mode()
    def sample(self, n_samples: int, target: int) -> torch.Tensor:
        """Decode ``n_samples`` draws of the N(0, I) prior into modality ``target``."""
        n_latent = self.translator.outputs[target].linear.in_features
        device = next(self.parameters()).device
        z = torch.randn(n_samples, n_latent, device=device)
        decoder = self.decoders[target]
        return decoder.activate(decoder(self.translator.decode(z, target)))
