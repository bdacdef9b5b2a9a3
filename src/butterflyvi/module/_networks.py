"""Encoders, decoders, translator and discriminators of scButterfly.

One function per network role builds the right network for a modality *kind*; the kinds
(expression, accessibility, protein) differ only in the layers of their encoder and decoder
and in the output activation.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import torch
from torch import nn

from .._constants import ACCESSIBILITY, EXPRESSION, PROTEIN
from ._layers import ChromosomeDecoderLayer, ChromosomeEncoderLayer, FCLayer, mlp


def build_encoder(
    kind: str,
    n_features: int,
    *,
    n_embedding: int,
    n_hidden: int,
    dropout: float,
    chromosome_groups: Sequence[np.ndarray] | None = None,
    chromosome_units: int = 32,
) -> nn.Module:
    """Encoder of one modality into the ``n_embedding``-wide encoder space.

    expression: ``n_features → n_hidden → n_embedding``; protein: the same with
    ``n_hidden = n_embedding``; accessibility: each chromosome → ``chromosome_units``, the
    concatenation → ``n_embedding``.
    """
    if kind == ACCESSIBILITY:
        if chromosome_groups is None:
            raise ValueError("chromosome_groups: required for an accessibility encoder.")
        blocks = ChromosomeEncoderLayer(
            chromosome_groups, n_features, units=chromosome_units, dropout=dropout
        )
        return nn.Sequential(
            blocks, FCLayer(chromosome_units * len(chromosome_groups), n_embedding)
        )
    hidden = n_hidden if kind == EXPRESSION else n_embedding
    return mlp([n_features, hidden, n_embedding], dropout=dropout)


class Decoder(nn.Module):
    """Decoder of one modality from its encoder space.

    ``forward`` returns the *pre-activation* output; :meth:`activate` applies the output
    activation (Sigmoid for accessibility, LeakyReLU otherwise). The split lets the loss use
    BCE-with-logits, which equals Sigmoid + BCE but stays finite for saturated outputs.
    """

    def __init__(
        self,
        kind: str,
        n_features: int,
        *,
        n_embedding: int,
        n_hidden: int,
        dropout: float,
        chromosome_groups: Sequence[np.ndarray] | None = None,
        chromosome_units: int = 32,
        output_batch_norm: bool = True,
    ):
        super().__init__()
        self.kind = kind
        self.output_batch_norm = bool(output_batch_norm)
        if kind == ACCESSIBILITY:
            if chromosome_groups is None:
                raise ValueError("chromosome_groups: required for an accessibility decoder.")
            width = chromosome_units * len(chromosome_groups)
            self.hidden = FCLayer(n_embedding, width, dropout=dropout)
            self.output = ChromosomeDecoderLayer(
                chromosome_groups, n_features, units=chromosome_units, batch_norm=output_batch_norm
            )
        else:
            width = n_hidden if kind == EXPRESSION else n_embedding
            self.hidden = FCLayer(n_embedding, width, dropout=dropout)
            self.output = FCLayer(
                width, n_features, activation="identity", batch_norm=output_batch_norm
            )
        self.output_activation = nn.Sigmoid() if kind == ACCESSIBILITY else nn.LeakyReLU(0.01)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Pre-activation output of shape ``(batch, n_features)``."""
        return self.output(self.hidden(h))

    @torch.no_grad()
    def set_output_offset(self, shift: torch.Tensor, scale: torch.Tensor | None = None) -> None:
        """Start the pre-activation output at ``shift`` per feature.

        With the output BatchNorm, its shift (and, when given, its scale) are set; without it,
        the output layer's bias is set (``scale`` is then ignored: the spread comes from the
        weights).
        """
        if self.output_batch_norm:
            self.output.norm.bias.copy_(shift)
            if scale is not None:
                self.output.norm.weight.copy_(scale)
        elif isinstance(self.output, ChromosomeDecoderLayer):
            self.output.set_feature_bias(shift)
        else:
            self.output.linear.bias.copy_(shift)

    def activate(self, pre: torch.Tensor) -> torch.Tensor:
        """Apply the output activation to :meth:`forward` 's result."""
        return self.output_activation(pre)


#: Forms of the variational heads (see :class:`VariationalHead`).
VARIATIONAL_HEADS = ("paper", "linear")


class VariationalHead(nn.Module):
    """Mean and log-variance heads.

    Parameters
    ----------
    n_in
        Input width.
    n_latent
        Latent width.
    form
        ``"paper"``: Linear → BatchNorm → LeakyReLU for each head, as in the original. The
        LeakyReLU (slope 0.01) keeps the log-variance above about ``-0.01 × |BatchNorm
        output|``, so the posterior standard deviation cannot fall far below 1 and the mean is
        almost non-negative. ``"linear"``: a plain Linear layer for each (the usual VAE), so
        the posterior can become as precise as the data allow.
    """

    def __init__(self, n_in: int, n_latent: int, form: str = "paper"):
        super().__init__()
        if form not in VARIATIONAL_HEADS:
            raise ValueError(
                f"variational_head: expected one of {VARIATIONAL_HEADS}, found {form!r}."
            )
        if form == "paper":
            self.mean = FCLayer(n_in, n_latent)
            self.log_var = FCLayer(n_in, n_latent)
        else:
            self.mean = nn.Linear(n_in, n_latent)
            self.log_var = nn.Linear(n_in, n_latent)
            for layer in (self.mean, self.log_var):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(mean, log_variance)``."""
        return self.mean(h), self.log_var(h)


def reparameterize(mean: torch.Tensor, log_var: torch.Tensor, sample: bool) -> torch.Tensor:
    """``mean + exp(log_var / 2) · ε`` when sampling, else the mean."""
    if not sample:
        return mean
    return mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)


class SingleModalityHead(nn.Module):
    """Phase-1 VAE head of one modality: encoder space → latent → encoder space."""

    def __init__(self, n_embedding: int, n_latent: int, variational_head: str = "paper"):
        super().__init__()
        self.variational = VariationalHead(n_embedding, n_latent, variational_head)
        self.output = FCLayer(n_latent, n_embedding)

    def forward(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return ``mean``, ``log_var``, ``z`` and the mapped embedding ``out``."""
        mean, log_var = self.variational(h)
        z = reparameterize(mean, log_var, self.training)
        return {"mean": mean, "log_var": log_var, "z": z, "out": self.output(z)}


class JointTranslator(nn.Module):
    """The shared latent space: one variational head per input modality, and two output heads
    (to the encoder space of modality 0 and of modality 1) shared by both inputs.
    """

    def __init__(
        self,
        n_embedding: int,
        n_latent: int,
        n_modalities: int = 2,
        variational_head: str = "paper",
    ):
        super().__init__()
        self.heads = nn.ModuleList(
            [VariationalHead(n_embedding, n_latent, variational_head) for _ in range(n_modalities)]
        )
        self.outputs = nn.ModuleList([FCLayer(n_latent, n_embedding) for _ in range(n_modalities)])

    def encode(self, h: torch.Tensor, source: int) -> dict[str, torch.Tensor]:
        """Posterior of the latent for input modality ``source``."""
        mean, log_var = self.heads[source](h)
        return {"mean": mean, "log_var": log_var, "z": reparameterize(mean, log_var, self.training)}

    def decode(self, z: torch.Tensor, target: int) -> torch.Tensor:
        """Latent → encoder space of modality ``target``."""
        return self.outputs[target](z)


class Discriminator(nn.Module):
    """Linear(n_embedding → 1) → Sigmoid; ``forward`` returns the logit."""

    def __init__(self, n_embedding: int, hidden: Sequence[int] = ()):
        super().__init__()
        dims = [n_embedding, *hidden]
        layers: list[nn.Module] = [FCLayer(a, b) for a, b in pairwise(dims)]
        final = nn.Linear(dims[-1], 1)
        nn.init.xavier_uniform_(final.weight)
        layers.append(final)
        self.net = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Logit of "this embedding came from the modality's own encoder"."""
        return self.net(h).squeeze(-1)


KIND_DEFAULTS = {
    # masking rate of the input during training, and the phase-1 KL weight (times 1 / I_m
    # for expression and accessibility: w_ELBO = 20 / I_m; a constant for protein).
    EXPRESSION: {"mask_rate": 0.5, "kl_numerator": 20.0, "kl_constant": None},
    ACCESSIBILITY: {"mask_rate": 0.3, "kl_numerator": 20.0, "kl_constant": None},
    PROTEIN: {"mask_rate": 0.0, "kl_numerator": None, "kl_constant": 1.0 / 150.0},
}


def default_kl_weight(kind: str, n_features: int) -> float:
    """Phase-1 KL weight of the paper: ``20 / I_m`` (``1 / 150`` for protein)."""
    spec = KIND_DEFAULTS[kind]
    if spec["kl_constant"] is not None:
        return float(spec["kl_constant"])
    return float(spec["kl_numerator"]) / n_features
