"""Encoders, decoders, translator and discriminators of scButterfly.

The encoder and decoder builders here are generic (an MLP, or chromosome-blocked layers);
each modality kind picks its builders in :mod:`butterflyvi.kinds`. :class:`NetworkSpec` holds
the sizes every builder shares.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch
from torch import nn

from ._layers import BlockLinear, ChromosomeDecoderLayer, ChromosomeEncoderLayer, FCLayer, mlp


@dataclass(frozen=True)
class NetworkSpec:
    """Sizes shared by every encoder and decoder of a module.

    Parameters
    ----------
    n_embedding
        Width of the encoder space (128 in scButterfly).
    n_hidden
        Hidden width of expression-like networks (256).
    dropout
        Dropout rate after hidden layers (0.1).
    chromosome_units
        Units per chromosome of chromosome-blocked layers (32).
    output_batch_norm
        Whether the decoder's output layer normalises over the minibatch (the paper).
    activation
        Activation of hidden layers (``"leaky_relu"``, the paper; ``"relu"``, CrossMP).
    chromosome_activation
        Activation of chromosome-blocked layers (``"leaky_relu"``; ``"prelu"``, CrossMP).
    chromosome_hidden
        ``None``: one layer per chromosome (peaks → ``chromosome_units``, the paper); a width:
        two layers (peaks → ``chromosome_hidden`` → ``chromosome_units``, CrossMP).
    """

    n_embedding: int = 128
    n_hidden: int = 256
    dropout: float = 0.1
    chromosome_units: int = 32
    output_batch_norm: bool = True
    activation: str = "leaky_relu"
    chromosome_activation: str = "leaky_relu"
    chromosome_hidden: int | None = None


#: ``build(n_features, layout, spec) -> nn.Module``: input → encoder space.
EncoderBuilder = Callable[[int, object, NetworkSpec], nn.Module]
#: ``build(n_features, layout, spec) -> (hidden, output)``: encoder space → pre-activation output.
DecoderBuilder = Callable[[int, object, NetworkSpec], tuple[nn.Module, nn.Module]]


def mlp_encoder(n_features: int, spec: NetworkSpec, *, n_hidden: int | None = None) -> nn.Module:
    """``n_features → n_hidden → n_embedding`` (``n_hidden`` defaults to ``spec.n_hidden``)."""
    hidden = spec.n_hidden if n_hidden is None else n_hidden
    return mlp(
        [n_features, hidden, spec.n_embedding], dropout=spec.dropout, activation=spec.activation
    )


def chromosome_encoder(
    n_features: int, groups: Sequence[np.ndarray], spec: NetworkSpec
) -> nn.Module:
    """Each chromosome's features → ``spec.chromosome_units``; the concatenation →
    ``n_embedding``.
    """
    width = spec.chromosome_units * len(groups)
    if spec.chromosome_hidden is None:  # the paper: one layer per chromosome
        blocks = ChromosomeEncoderLayer(
            groups,
            n_features,
            units=spec.chromosome_units,
            dropout=spec.dropout,
            activation=spec.chromosome_activation,
        )
        return nn.Sequential(
            blocks, FCLayer(width, spec.n_embedding, activation=spec.chromosome_activation)
        )
    # CrossMP: two layers per chromosome, each followed by its activation, no BatchNorm.
    first = ChromosomeEncoderLayer(
        groups,
        n_features,
        units=spec.chromosome_hidden,
        dropout=0.0,
        activation=spec.chromosome_activation,
        batch_norm=False,
    )
    second = BlockLinear(
        len(groups),
        spec.chromosome_hidden,
        spec.chromosome_units,
        activation=spec.chromosome_activation,
    )
    return nn.Sequential(
        first,
        second,
        FCLayer(width, spec.n_embedding, activation=spec.chromosome_activation, batch_norm=False),
    )


def mlp_decoder(
    n_features: int, spec: NetworkSpec, *, n_hidden: int | None = None
) -> tuple[nn.Module, nn.Module]:
    """``n_embedding → n_hidden`` and ``n_hidden → n_features`` (pre-activation output)."""
    width = spec.n_hidden if n_hidden is None else n_hidden
    hidden = FCLayer(spec.n_embedding, width, dropout=spec.dropout, activation=spec.activation)
    output = FCLayer(width, n_features, activation="identity", batch_norm=spec.output_batch_norm)
    return hidden, output


def chromosome_decoder(
    n_features: int, groups: Sequence[np.ndarray], spec: NetworkSpec
) -> tuple[nn.Module, nn.Module]:
    """``n_embedding → units · n_chrom`` and each chromosome's units → its features."""
    width = spec.chromosome_units * len(groups)
    hidden = FCLayer(
        spec.n_embedding,
        width,
        dropout=spec.dropout,
        activation=spec.chromosome_activation,
        batch_norm=spec.chromosome_hidden is None,
    )
    output = ChromosomeDecoderLayer(
        groups, n_features, units=spec.chromosome_units, batch_norm=spec.output_batch_norm
    )
    return hidden, output


class Decoder(nn.Module):
    """Decoder of one modality from its encoder space: ``hidden`` then ``output``.

    ``forward`` returns the *pre-activation* output; the modality's likelihood turns it into
    a loss and a prediction (e.g. BCE-with-logits, which equals Sigmoid + BCE but stays finite
    for saturated outputs).

    Parameters
    ----------
    hidden, output
        The two parts, as built by the kind (:attr:`butterflyvi.kinds.Kind.build_decoder`).
    output_batch_norm
        Whether ``output`` ends in a BatchNorm (``output.norm``) whose shift starts the
        output at the training mean.
    """

    def __init__(self, hidden: nn.Module, output: nn.Module, *, output_batch_norm: bool = True):
        super().__init__()
        self.hidden = hidden
        self.output = output
        self.output_batch_norm = bool(output_batch_norm)

    def forward(self, h: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """Pre-activation output of shape ``(batch, n_features)``; with ``features`` (see
        :meth:`sample_features`), of those features only.
        """
        if features is None:
            return self.output(self.hidden(h))
        return self.output(self.hidden(h), features)

    @property
    def samples_features(self) -> bool:
        """Whether the output layer can decode a sample of the features alone."""
        return isinstance(self.output, ChromosomeDecoderLayer)

    def sample_features(self, fraction: float) -> torch.Tensor:
        """A uniform sample of the output features, in the order :meth:`forward` returns them."""
        return self.output.sample_features(fraction)

    def spaced_features(self, k: int) -> torch.Tensor:
        """``k`` fixed, evenly spaced output features, in the order :meth:`forward` returns
        them.
        """
        return self.output.spaced_features(k)

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
        elif hasattr(self.output, "set_feature_bias"):
            self.output.set_feature_bias(shift)
        else:
            self.output.linear.bias.copy_(shift)


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
        variational_head: str = "paper",
    ):
        super().__init__()
        self.heads = nn.ModuleList(
            [VariationalHead(n_embedding, n_latent, variational_head) for _ in range(2)]
        )
        self.outputs = nn.ModuleList([FCLayer(n_latent, n_embedding) for _ in range(2)])

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
