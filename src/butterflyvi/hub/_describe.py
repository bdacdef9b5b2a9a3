"""What a model card says about a trained ButterflyModel, collected from the model itself."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .._constants import CLUSTER_KEY, LEGACY_KEYS, PAIRING_UNS_KEY, read_key

#: Pairing strategies (``pairing`` argument of :func:`~butterflyvi.hub.to_hub_dir`).
PAIRINGS: dict[str, str] = {
    "B": "scButterfly-B: the measured pairs only",
    "T": "scButterfly-T: the measured pairs plus pairs re-drawn within cell types",
    "C": (
        "scButterfly-C: the measured pairs plus pairs re-drawn within clusters of a "
        "MULTIVI/TOTALVI embedding"
    ),
    "unpaired": "pseudo-pairs of unpaired cells of shared cell types",
    "perturbation": "control/stimulated pairs matched by optimal transport",
}

#: ``uns["butterflyvi_pairing"]["method"]`` written by :mod:`butterflyvi.tl`, to a strategy.
_METHOD_PAIRING = {"pair_unpaired": "unpaired", "pair_by_ot": "perturbation"}


def package_version(name: str) -> str:
    """Installed version of distribution ``name`` (``"unknown"`` when not installed)."""
    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def pairing_record(model) -> dict[str, Any]:
    """The pairing record of the training data (``uns["butterflyvi_pairing"]``), or ``{}``."""
    record = read_key(getattr(model.adata, "uns", {}), PAIRING_UNS_KEY, {})
    return dict(record) if isinstance(record, Mapping) else {}


def resolve_pairing(model, pairing: str | None) -> str:
    """``pairing`` checked, or read from the training data's pairing record (else ``"B"``)."""
    if pairing is None:
        record = pairing_record(model)
        method = record.get("method")
        if method == "augment":
            clusters = (CLUSTER_KEY, LEGACY_KEYS[CLUSTER_KEY])
            return "C" if record.get("groupby") in clusters else "T"
        return _METHOD_PAIRING.get(method, "B")
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing: expected one of {sorted(PAIRINGS)}, found {pairing!r}.")
    return pairing


def epochs_run(model) -> tuple[int, int]:
    """Pretraining and integrative epochs recorded in ``model.history`` (0 when absent)."""
    history = model.history or {}
    return tuple(
        0 if history.get(key) is None else len(history[key])
        for key in ("pretrain_loss", "train_loss")
    )


def _count(indices) -> int | None:
    return None if indices is None else len(indices)


def describe(model) -> dict[str, Any]:
    """A plain summary of ``model``: modalities, features, preprocessing, training, versions."""
    modalities = []
    for name, kind in zip(model.modalities_, model.kinds_, strict=True):
        state = model.preprocessing_.get(name) or {}
        modalities.append(
            {
                "name": name,
                "kind": kind,
                "n_features": len(model.features_[name]["var_names"]),
                "preprocessing": dict(state),
            }
        )
    init = model.init_params_
    params = {
        **init.get("non_kwargs", {}),
        **{k: v for group in init.get("kwargs", {}).values() for k, v in group.items()},
    }
    pretrain, integrative = epochs_run(model)
    return {
        "model_cls_name": type(model).__name__,
        "preset": getattr(model, "preset_", None),
        "init_params": params,
        "modalities": modalities,
        "n_cells": int(model.adata.n_obs),
        "n_train": _count(getattr(model, "train_indices", None)),
        "n_validation": _count(getattr(model, "validation_indices", None)),
        "epochs_pretrain": pretrain,
        "epochs_integrative": integrative,
        "best_epoch": getattr(model, "best_epoch_", None),
        "versions": {
            name: package_version(name)
            for name in ("butterflyvi", "scvi-tools", "anndata", "mudata", "torch")
        },
    }
