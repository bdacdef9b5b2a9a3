"""The networks and losses, pure torch: layers, encoders and decoders, likelihoods, and the
:class:`ButterflyModule` that puts them together. Nothing here knows modality kinds: the model
resolves a kind into the builders and likelihoods it hands down.
"""

from .._constants import MODALITY_KEYS
from ._likelihoods import (
    LIKELIHOODS,
    Bernoulli,
    CrossMPNegativeBinomial,
    Likelihood,
    MeanSquaredError,
    NegativeBinomial,
    ScaledTfidfBCE,
    ZeroInflatedNegativeBinomial,
)
from ._module import ButterflyModule
from ._networks import NetworkSpec
from ._sparse import csr_tensor, row_ids, row_totals

__all__ = [
    "LIKELIHOODS",
    "MODALITY_KEYS",
    "Bernoulli",
    "ButterflyModule",
    "CrossMPNegativeBinomial",
    "Likelihood",
    "MeanSquaredError",
    "NegativeBinomial",
    "NetworkSpec",
    "ScaledTfidfBCE",
    "ZeroInflatedNegativeBinomial",
    "csr_tensor",
    "row_ids",
    "row_totals",
]
