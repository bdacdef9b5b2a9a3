"""Kinds resolved into the parts of a :class:`~butterflyvi.module.ButterflyModule`.

The module is pure torch and knows no kinds; this is the one place where a modality's kind
becomes its encoder and decoder builders, its likelihood object, its masking rate and its KL
weight.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._validation import check_choice
from ..kinds import get_kind
from ..module import ButterflyModule

#: ``accessibility_target`` (releases up to 0.1) -> the accessibility likelihood it meant.
ACCESSIBILITY_TARGETS = {"scaled": "bce_tfidf", "binary": "bernoulli"}


def _per_modality(
    value: Any, kinds: Sequence[str], sizes: Sequence[int], default: Callable[[str, int], float]
) -> list[float]:
    """A pair of values: as given, by kind (a mapping, as presets write them), or the default
    ``default(kind, n_features)``.
    """
    if value is None:
        return [float(default(k, n)) for k, n in zip(kinds, sizes, strict=True)]
    if isinstance(value, Mapping):
        return [
            float(value[k]) if k in value else float(default(k, n))
            for k, n in zip(kinds, sizes, strict=True)
        ]
    return [float(v) for v in value]


def build_module(
    n_features: Sequence[int],
    kinds: Sequence[str],
    *,
    layouts: Sequence[object | None] = (None, None),
    likelihoods: Sequence[str | None] = (None, None),
    extras: Sequence[tuple[int, str] | None] = (None, None),
    accessibility_target: str | None = None,
    mask_rates: Sequence[float] | Mapping[str, float] | None = None,
    kl_weights: Sequence[float] | Mapping[str, float] | None = None,
    reconstruction_weights: Sequence[float] | Mapping[str, float] | None = None,
    **network_kwargs,
) -> ButterflyModule:
    """A :class:`~butterflyvi.module.ButterflyModule` for two modalities of the given kinds.

    Parameters
    ----------
    n_features
        Features of modality 0 and 1.
    kinds
        Their kinds (names registered in :mod:`butterflyvi.kinds`).
    layouts
        What each kind's networks need from the feature table (``Kind.layout``).
    likelihoods
        Likelihood name of each modality (``None``: the kind's default).
    extras
        ``None`` or ``(n_features, kind)`` of an extra input per modality.
    accessibility_target
        Older name of the accessibility likelihood (``"scaled"``: ``"bce_tfidf"``,
        ``"binary"``: ``"bernoulli"``), for accessibility modalities without one.
    mask_rates, kl_weights, reconstruction_weights
        A pair, a ``{kind: value}`` mapping, or ``None`` for each kind's value (the
        reconstruction weights: 1 and 2, or 1 and 1 when both kinds are the same).
    **network_kwargs
        The other arguments of :class:`~butterflyvi.module.ButterflyModule`.
    """
    specs = [get_kind(kind) for kind in kinds]
    names = list(likelihoods)
    if accessibility_target is not None:
        check_choice(
            accessibility_target, name="accessibility_target", choices=list(ACCESSIBILITY_TARGETS)
        )
        names = [
            ACCESSIBILITY_TARGETS[accessibility_target]
            if name is None and spec.name == "accessibility"
            else name
            for name, spec in zip(names, specs, strict=True)
        ]
    sizes = [int(n) for n in n_features]
    same_kind = len(set(kinds)) == 1
    return ButterflyModule(
        sizes,
        encoders=[spec.build_encoder for spec in specs],
        decoders=[spec.build_decoder for spec in specs],
        likelihoods=[
            spec.likelihood(name, n) for spec, name, n in zip(specs, names, sizes, strict=True)
        ],
        mask_rates=_per_modality(mask_rates, kinds, sizes, lambda k, n: get_kind(k).mask_rate),
        kl_weights=_per_modality(kl_weights, kinds, sizes, lambda k, n: get_kind(k).kl_weight(n)),
        reconstruction_weights=_per_modality(reconstruction_weights, kinds, sizes, lambda k, n: 1.0)
        if reconstruction_weights is not None
        else ([1.0, 1.0] if same_kind else [1.0, 2.0]),
        layouts=layouts,
        extras=[
            None if extra is None else (int(extra[0]), get_kind(extra[1]).build_encoder, None)
            for extra in extras
        ],
        **network_kwargs,
    )
