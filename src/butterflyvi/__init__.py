"""butterflyvi: single-cell cross-modality translation (scButterfly) on MuData.

The public names are loaded on first access (PEP 562), so that ``import butterflyvi`` (and the
``butterflyvi`` command's ``--help``) does not import scvi-tools, torch, Lightning or scanpy.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import datasets, hub, kinds, metrics, openproblems, pl, pp, tl, zoo
    from . import model as model  # not in __all__, but attributes of the package
    from . import module as module
    from . import train as train
    from .model import ButterflyModel

try:
    __version__ = version("butterflyvi")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ButterflyModel",
    "datasets",
    "hub",
    "kinds",
    "metrics",
    "openproblems",
    "pl",
    "pp",
    "tl",
    "zoo",
]

#: Attributes loaded on first access: name -> (module relative to the package, attribute or
#: ``None`` for the module itself). ``model``, ``module`` and ``train`` are not in ``__all__``
#: but were attributes of the package when it imported everything eagerly.
_LAZY: dict[str, tuple[str, str | None]] = {
    "ButterflyModel": (".model", "ButterflyModel"),
    "datasets": (".datasets", None),
    "hub": (".hub", None),
    "kinds": (".kinds", None),
    "metrics": (".metrics", None),
    "openproblems": (".openproblems", None),
    "pl": (".pl", None),
    "pp": (".pp", None),
    "tl": (".tl", None),
    "zoo": (".zoo", None),
    "model": (".model", None),
    "module": (".module", None),
    "train": (".train", None),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = importlib.import_module(module_name, __name__)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
