"""Likelihoods: what a decoder's output means, the loss it is trained with, what it predicts.

A likelihood turns the decoder's *pre-activation* output of one modality into a loss against
the observed values and into the prediction :meth:`~butterflyvi.ButterflyModel.translate`
returns. Each modality kind lists the likelihoods it supports (see
:mod:`butterflyvi.kinds`); the model picks one per modality (``likelihoods={"rna": "nb"}``).
The count likelihoods evaluate scvi-tools' distributions (:mod:`scvi.distributions`).

A likelihood is a :class:`torch.nn.Module`, so parameters it owns (e.g. a gene-wise
dispersion) are trained, saved and moved with the rest of the module.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from scvi.distributions import NegativeBinomial as NegativeBinomialDistribution
from scvi.distributions import ZeroInflatedNegativeBinomial as ZINBDistribution
from torch import nn


class Likelihood(nn.Module):
    """Base class: the loss and prediction of one modality's decoder.

    Subclasses set :attr:`name` and override :meth:`loss` and :meth:`predict` (and, where
    they differ from the defaults, :meth:`target`, :meth:`baseline`, :meth:`output_offset`).

    Parameters
    ----------
    n_features
        Width of the modality.
    """

    #: Name users pass (``likelihoods={"rna": name}``).
    name: ClassVar[str] = ""
    #: Whether the loss is fitted to the raw counts (``layers["counts"]``) rather than the
    #: preprocessed values the encoder reads.
    uses_counts: ClassVar[bool] = False
    #: Whether the prediction is the probability that a feature is non-zero (fitted to the
    #: binarised values).
    binarised: ClassVar[bool] = False
    #: What :meth:`predict` returns, for documentation and model cards.
    prediction: ClassVar[str] = ""
    #: Decoder outputs per feature (2 where the decoder also predicts a per-cell dispersion).
    outputs_per_feature: ClassVar[int] = 1

    def __init__(self, n_features: int):
        super().__init__()
        self.n_features = int(n_features)

    def target(self, x: torch.Tensor, counts: torch.Tensor | None = None) -> torch.Tensor:
        """What the decoder is fitted to, from the preprocessed input ``x`` (and raw counts)."""
        return x

    def observed(self, x: torch.Tensor, counts: torch.Tensor | None = None) -> torch.Tensor:
        """The measured values on the scale of :meth:`predict` (for correlation objectives)."""
        return self.target(x, counts)

    def loss(self, pre: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss over all entries of the minibatch."""
        raise NotImplementedError

    def predict(self, pre: torch.Tensor, library: torch.Tensor | None = None) -> torch.Tensor:
        """The prediction ``translate`` returns for decoder output ``pre``."""
        raise NotImplementedError

    def baseline(self, mean: torch.Tensor, mean_square: torch.Tensor) -> torch.Tensor:
        """Loss of predicting every cell as the per-feature training mean of :meth:`target`.

        ``mean`` and ``mean_square`` are the per-feature moments of the target.
        """
        raise NotImplementedError(
            f"likelihood {self.name!r} has no trivial-prediction loss; use "
            "validation_objective='weighted' or 'correlation' and loss_balance='paper'."
        )

    def output_offset(
        self, mean: torch.Tensor, std: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Pre-activation shift (and scale) that start the decoder at the training mean."""
        return mean, std.clamp_min(1e-3)

    def extra_repr(self) -> str:
        return f"n_features={self.n_features}"


class MeanSquaredError(Likelihood):
    """Squared error of a LeakyReLU output against the preprocessed values (scButterfly)."""

    name = "mse"
    prediction = "values on the preprocessed scale (e.g. log-normalised expression, CLR)"

    def predict(self, pre, library=None):
        return F.leaky_relu(pre, 0.01)

    def loss(self, pre, target):
        return F.mse_loss(self.predict(pre), target)

    def baseline(self, mean, mean_square):
        return (mean_square - mean.pow(2)).clamp_min(0).mean()


class _BinaryCrossEntropy(Likelihood):
    """Sigmoid output, binary cross-entropy (on the logits, stable when saturated)."""

    def predict(self, pre, library=None):
        return torch.sigmoid(pre)

    def loss(self, pre, target):
        return F.binary_cross_entropy_with_logits(pre, target)

    def baseline(self, mean, mean_square, eps: float = 1e-6):
        # The BCE is linear in the target, so mean_j H(m_j) is exact also for values in (0, 1).
        m = mean.clamp(eps, 1 - eps)
        return -(m * m.log() + (1 - m) * (1 - m).log()).mean()

    def output_offset(self, mean, std, eps: float = 1e-6):
        return torch.logit(mean.clamp(eps, 1 - eps)), None


class ScaledTfidfBCE(_BinaryCrossEntropy):
    """BCE against the scaled TF-IDF values in [0, 1] (scButterfly)."""

    name = "bce_tfidf"
    prediction = "scaled TF-IDF values in [0, 1]"


class Bernoulli(_BinaryCrossEntropy):
    """BCE against whether each feature is non-zero: the prediction is P(open)."""

    name = "bernoulli"
    binarised = True
    prediction = "the probability that each peak is open"

    def target(self, x, counts=None):
        return (x > 0).to(x.dtype)


class _Counts(Likelihood):
    """Shared part of the count likelihoods: fitted to the raw counts (``layers["counts"]``),
    compared on ``log1p`` of counts per median training library.
    """

    uses_counts = True

    def __init__(self, n_features: int):
        super().__init__(n_features)
        self.register_buffer("median_library", torch.tensor(1.0))

    def target(self, x, counts=None):
        if counts is None:
            raise ValueError(
                f"likelihood {self.name!r}: expected the raw counts of the modality "
                "(layers['counts']), found none registered."
            )
        return counts

    def observed(self, x, counts=None):
        counts = self.target(x, counts)
        library = counts.sum(1, keepdim=True).clamp_min(1.0)
        return torch.log1p(counts / library * self.median_library)


class NegativeBinomial(_Counts):
    """Negative binomial on raw counts with the observed library size (as scVI).

    The decoder's output is a softmax over features (the expected proportions ``ρ``); the mean
    of cell ``i`` is ``μ_i = ρ_i · l_i`` with ``l_i`` its observed total count over the
    model's features; the inverse dispersion ``θ`` is one parameter per feature. The
    prediction is ``log1p(ρ · L)`` with ``L`` the median training library size (log of
    counts per median library, the scale users compare with); with ``library`` given, the
    expected counts ``ρ · library``.
    """

    name = "nb"
    prediction = "log1p of the expected counts per median training library (or expected counts)"

    def __init__(self, n_features: int):
        super().__init__(n_features)
        self.log_theta = nn.Parameter(torch.zeros(n_features))

    def proportions(self, pre: torch.Tensor) -> torch.Tensor:
        """Expected share ``ρ`` of each feature in a cell's counts."""
        return torch.softmax(pre, dim=-1)

    def predict(self, pre, library=None):
        rho = self.proportions(pre)
        if library is not None:
            return rho * library.reshape(-1, 1).to(rho.dtype)
        return torch.log1p(rho * self.median_library)

    def mean(self, pre: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """Expected counts ``ρ · l`` of each cell, ``l`` its observed library size."""
        library = counts.sum(1, keepdim=True).clamp_min(1.0)
        return self.proportions(pre) * library

    def distribution(self, pre: torch.Tensor, counts: torch.Tensor):
        """The scvi-tools distribution of the counts given decoder output ``pre``."""
        return NegativeBinomialDistribution(mu=self.mean(pre, counts), theta=self.log_theta.exp())

    def loss(self, pre, target):
        return -self.distribution(pre, target).log_prob(target).mean()

    def output_offset(self, mean, std, eps: float = 1e-8):
        share = mean / mean.sum().clamp_min(eps)
        return share.clamp_min(eps).log(), None


class ZeroInflatedNegativeBinomial(NegativeBinomial):
    """Negative binomial with a gene-wise zero-inflation probability ``π`` (as scVI's ZINB).

    The prediction is the mean of the non-inflated component (the expression level), as in
    scVI's normalised expression.
    """

    name = "zinb"

    def __init__(self, n_features: int):
        super().__init__(n_features)
        self.zero_logit = nn.Parameter(torch.full((n_features,), -2.0))

    def distribution(self, pre: torch.Tensor, counts: torch.Tensor):
        """The scvi-tools zero-inflated distribution (``zi_logits``: the gene-wise logit of π)."""
        mu = self.mean(pre, counts)
        return ZINBDistribution(
            mu=mu, theta=self.log_theta.exp(), zi_logits=self.zero_logit.expand_as(mu)
        )


class CrossMPNegativeBinomial(_Counts):
    """CrossMP's negative binomial (Lyu et al., *Genes* 2024; the authors' code:
    ``autoencoders.py`` ``Decoder``, ``activations.py`` ``Exp``/``ClippedSoftplus``,
    ``loss_functions.py`` ``negative_binom_loss``).

    The decoder has two outputs per gene: the rate ``clamp(exp(a), 1e-5, 1e6)`` and the
    inverse dispersion ``θ = clamp(softplus(b), 1e-4, 1e3)``, both predicted for every cell
    (where :class:`NegativeBinomial` has a softmax over genes and one ``θ`` per gene). The
    mean of cell ``i`` is the rate times its size factor ``l_i / L`` (its library over the
    median training library ``L``, CrossMP's optional size factors). The prediction is
    ``log1p`` of the rate (counts at the median library); with ``library``, the expected
    counts ``rate · library / L``.
    """

    name = "nb_crossmp"
    outputs_per_feature = 2
    prediction = "log1p of the expected counts at the median training library (or expected counts)"

    def heads(self, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The rate and the inverse dispersion of decoder output ``pre`` (2 per gene)."""
        n = self.n_features
        rate = torch.exp(pre[:, :n]).clamp(1e-5, 1e6)
        theta = F.softplus(pre[:, n:]).clamp(1e-4, 1e3)
        return rate, theta

    def loss(self, pre, target):
        rate, theta = self.heads(pre)
        size = target.sum(1, keepdim=True).clamp_min(1.0) / self.median_library
        distribution = NegativeBinomialDistribution(mu=rate * size, theta=theta)
        return -distribution.log_prob(target).mean()

    def predict(self, pre, library=None):
        rate, _ = self.heads(pre)
        if library is not None:
            return rate * (library.reshape(-1, 1).to(rate.dtype) / self.median_library)
        return torch.log1p(rate)

    def output_offset(self, mean, std, eps: float = 1e-5):
        # counts of a median-library cell start at the gene's mean share of that library;
        # θ starts at 1 (softplus(b) = 1)
        share = mean / mean.sum().clamp_min(eps)
        rate = (share * self.median_library).clamp_min(eps)
        start_theta = torch.full_like(mean, math.log(math.e - 1.0))
        return torch.cat([rate.log(), start_theta]), None


#: The likelihoods butterflyvi defines, by name.
LIKELIHOODS: dict[str, type[Likelihood]] = {
    cls.name: cls
    for cls in (
        MeanSquaredError,
        ScaledTfidfBCE,
        Bernoulli,
        NegativeBinomial,
        ZeroInflatedNegativeBinomial,
        CrossMPNegativeBinomial,
    )
}
