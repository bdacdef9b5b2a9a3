from .._constants import MODALITY_KEYS
from ._module import ButterflyModule

__all__ = ["MODALITY_KEYS", "ButterflyModule"]
