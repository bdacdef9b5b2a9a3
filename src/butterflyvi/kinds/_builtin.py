"""The built-in kinds: expression (scRNA-seq), accessibility (scATAC-seq), protein (ADT).

Registered when :mod:`butterflyvi.kinds` is imported. Every number is the scButterfly default (DESIGN §1).
"""

from __future__ import annotations

import warnings

import pandas as pd

from .. import pp
from .._validation import invalid
from ..module._likelihoods import (
    Bernoulli,
    CrossMPNegativeBinomial,
    MeanSquaredError,
    NegativeBinomial,
    ScaledTfidfBCE,
    ZeroInflatedNegativeBinomial,
)
from ..module._networks import (
    chromosome_decoder,
    chromosome_encoder,
    mlp_decoder,
    mlp_encoder,
)
from ..pp._states import STATES
from ._registry import Kind, register_kind


def _paper_kl_weight(n_features: int) -> float:
    """ScButterfly's ``w_ELBO = 20 / I_m``."""
    return 20.0 / n_features


def _warn_if_counts(function: str):
    """A ``check_registered`` that warns when preprocessed values look like raw counts."""

    def check(modality: str, where: str, n_negative: int, n_fraction: int, maximum: float):
        if n_negative == 0 and n_fraction == 0 and maximum > 1:
            warnings.warn(
                f"mdata: modality {modality!r} {where} looks like raw counts (non-negative "
                f"integers up to {maximum:g}); the model expects preprocessed values. Run "
                f"butterflyvi.pp.{function}(mdata[{modality!r}]) and mdata.update() first, or "
                "pass the layer holding the preprocessed values.",
                UserWarning,
                stacklevel=4,
            )

    return check


def _check_accessibility(modality: str, where: str, n_negative: int, n_fraction: int, maximum):
    """Accessibility values must lie in [0, 1]: the decoder ends in a sigmoid with a BCE."""
    if n_negative:
        raise invalid(
            f"mdata[{modality!r}].{where}",
            "accessibility values in [0, 1] (scaled TF-IDF)",
            f"{n_negative} negative values",
        )
    if n_fraction == 0 and maximum > 1:
        raise invalid(
            f"mdata[{modality!r}].{where}",
            "accessibility values in [0, 1]",
            f"what looks like raw counts (non-negative integers up to {maximum:g})",
            f"Run butterflyvi.pp.preprocess_atac(mdata[{modality!r}]) and mdata.update() first.",
        )
    if maximum > 1:
        warnings.warn(
            f"mdata: modality {modality!r} {where} holds values above 1 (max {maximum:g}); "
            "the accessibility decoder ends in a sigmoid and its binary cross-entropy "
            "expects values in [0, 1] (as written by butterflyvi.pp.preprocess_atac).",
            UserWarning,
            stacklevel=4,
        )


def _chromosome_layout(var: pd.DataFrame):
    """Peak positions per chromosome (from ``var["chrom"]``, written by ``preprocess_atac``)."""
    if "chrom" not in var:
        raise invalid(
            "mdata",
            "an accessibility modality with var['chrom']",
            "none",
            "Run butterflyvi.pp.preprocess_atac or butterflyvi.pp.annotate_peaks on it to "
            "group the peaks by chromosome.",
        )
    return [group for _, group in pp.chromosome_groups(var)]


def _recover_accessibility(prediction, state, likelihood):
    """Binarised counts from a translation: a probability needs only the binarisation."""
    if likelihood.binarised:
        return pp.binarize_recovered(prediction.X)
    return pp.recover_atac_counts(prediction, state=state, var=prediction.var, binarize=True)


def _expression_metric(prediction, truth, **kwargs):
    from .. import metrics

    return metrics.expression(prediction, truth, **kwargs)


def _accessibility_metric(prediction, truth, **kwargs):
    from .. import metrics

    return metrics.accessibility(prediction, truth, **kwargs)


def _builtin(name: str, **fields) -> Kind:
    """Register a kind whose preprocessing is ``butterflyvi.pp``'s (its fitted state and
    re-application come from ``pp``'s table); the KL weight defaults to the paper's.
    """
    state = STATES[name]
    fields.setdefault("kl_weight", _paper_kl_weight)
    return register_kind(Kind(name=name, state_keys=state.keys, apply=state.apply, **fields))


EXPRESSION = _builtin(
    "expression",
    description="gene expression (scRNA-seq, or any counts per gene)",
    feature_types=("gene expression", "gex", "rna"),
    names=("rna", "gex", "expression", "gene_expression", "scrna"),
    preprocess=pp.preprocess_rna,
    build_encoder=lambda n, layout, spec: mlp_encoder(n, spec),
    build_decoder=lambda n, layout, spec: mlp_decoder(n, spec),
    likelihoods={
        "mse": MeanSquaredError,
        "nb": NegativeBinomial,
        "zinb": ZeroInflatedNegativeBinomial,
        "nb_crossmp": CrossMPNegativeBinomial,
    },
    default_likelihood="mse",
    mask_rate=0.5,
    check_registered=_warn_if_counts("preprocess_rna"),
    metric=_expression_metric,
    metric_family="correlation",
    headline_metric="pearson_per_feature_mean",
)

ACCESSIBILITY = _builtin(
    "accessibility",
    description="chromatin accessibility (scATAC-seq peaks)",
    feature_types=("peaks", "atac", "chromatin accessibility"),
    names=("atac", "peaks", "accessibility", "chromatin", "scatac"),
    preprocess=pp.preprocess_atac,
    build_encoder=lambda n, layout, spec: chromosome_encoder(n, layout, spec),
    build_decoder=lambda n, layout, spec: chromosome_decoder(n, layout, spec),
    likelihoods={"bce_tfidf": ScaledTfidfBCE, "bernoulli": Bernoulli},
    default_likelihood="bce_tfidf",
    mask_rate=0.3,
    layout=_chromosome_layout,
    check_registered=_check_accessibility,
    metric=_accessibility_metric,
    metric_family="ranking",
    headline_metric="auroc_per_peak_mean",
    joint_embedding="multivi",
    recover=_recover_accessibility,
)

PROTEIN = _builtin(
    "protein",
    description="surface protein (CITE-seq antibody-derived tags)",
    feature_types=("antibody capture", "adt", "protein"),
    names=("adt", "prot", "protein", "cite", "antibody"),
    preprocess=pp.preprocess_adt,
    # The paper's protein networks keep the embedding width in their hidden layer.
    build_encoder=lambda n, layout, spec: mlp_encoder(n, spec, n_hidden=spec.n_embedding),
    build_decoder=lambda n, layout, spec: mlp_decoder(n, spec, n_hidden=spec.n_embedding),
    likelihoods={"mse": MeanSquaredError, "nb": NegativeBinomial},
    default_likelihood="mse",
    mask_rate=0.0,
    kl_weight=lambda n_features: 1.0 / 150.0,
    check_registered=_warn_if_counts("preprocess_adt"),
    metric=_expression_metric,
    metric_family="correlation",
    headline_metric="pearson_per_feature_mean",
    joint_embedding="totalvi",
)
