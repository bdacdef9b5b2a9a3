from ._module import MODALITY_KEYS, ButterflyModule

__all__ = ["MODALITY_KEYS", "ButterflyModule"]
