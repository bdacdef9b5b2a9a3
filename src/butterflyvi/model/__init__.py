from ._features import FeatureSpace
from ._model import ButterflyModel
from ._presets import PRESETS

__all__ = ["PRESETS", "ButterflyModel", "FeatureSpace"]
