"""butterflyvi: single-cell cross-modality translation (scButterfly) on MuData."""

from importlib.metadata import PackageNotFoundError, version

from . import datasets, hub, metrics, pl, pp, tl
from .model import ButterflyModel

try:
    __version__ = version("butterflyvi")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["ButterflyModel", "datasets", "hub", "metrics", "pl", "pp", "tl"]
