"""Modality kinds and likelihoods: one registry that the whole package consults.

A *kind* (expression, accessibility, protein, or one you register) declares how its data are
recognised (10x ``feature_types``, modality names), preprocessed (fit, re-apply to new
cells), encoded and decoded, which likelihoods it supports, its masking rate and KL weight,
what a translation into it returns and which metrics score it. See ``docs/architecture.md``
for adding a kind.

- :class:`Kind`, :class:`NetworkSpec`: the declaration of a kind and the shared network sizes;
- :func:`register_kind`, :func:`get_kind`, :func:`available_kinds`, :func:`infer_kind`;
- :class:`Likelihood` (the base of a kind's likelihoods) and ``LIKELIHOODS``, the built-in
  ones by name (``"mse"``, ``"bce_tfidf"``, ``"bernoulli"``, ``"nb"``, ``"zinb"``), defined in
  :mod:`butterflyvi.module`.
"""

from ..module import LIKELIHOODS, Likelihood, NetworkSpec
from ._registry import (
    Kind,
    available_kinds,
    get_kind,
    infer_kind,
    kind_of_alias,
    kind_of_feature_type,
    register_kind,
    unregister_kind,
)

__all__ = [
    "LIKELIHOODS",
    "Kind",
    "Likelihood",
    "NetworkSpec",
    "available_kinds",
    "get_kind",
    "infer_kind",
    "kind_of_alias",
    "kind_of_feature_type",
    "register_kind",
    "unregister_kind",
]

# The built-in kinds register themselves on import (expression, accessibility, protein).
from . import _builtin  # noqa: F401
