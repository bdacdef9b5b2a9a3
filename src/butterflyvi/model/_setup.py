"""Checks and resolution of ``setup_mudata`` arguments: modalities, layers, kinds, pairing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from anndata import AnnData
from mudata import MuData

from .._constants import ACCESSIBILITY, EXPRESSION, KINDS, PP_UNS_KEY, PROTEIN

FEATURE_TYPE_KINDS = {
    "gene expression": EXPRESSION,
    "peaks": ACCESSIBILITY,
    "antibody capture": PROTEIN,
}
NAME_KINDS = {
    "rna": EXPRESSION,
    "gex": EXPRESSION,
    "expression": EXPRESSION,
    "atac": ACCESSIBILITY,
    "peaks": ACCESSIBILITY,
    "chromatin": ACCESSIBILITY,
    "adt": PROTEIN,
    "prot": PROTEIN,
    "protein": PROTEIN,
    "cite": PROTEIN,
}


def resolve_modalities(mdata: MuData, modalities: Sequence[str]) -> tuple[str, str]:
    """Check that ``modalities`` names two distinct modalities of ``mdata``."""
    if not isinstance(mdata, MuData):
        raise TypeError(f"mdata: expected a MuData, found {type(mdata).__name__}.")
    if isinstance(modalities, str) or len(modalities) != 2:
        raise ValueError(f"modalities: expected two modality names, found {modalities!r}.")
    modalities = tuple(modalities)
    if modalities[0] == modalities[1]:
        raise ValueError(f"modalities: expected two different names, found {modalities!r}.")
    for name in modalities:
        if name not in mdata.mod:
            raise KeyError(
                f"modalities: {name!r} is not a modality of mdata; it has {list(mdata.mod)}."
            )
    return modalities


def resolve_per_modality(
    value: str | Sequence | Mapping | None, modalities: Sequence[str], argument: str
) -> tuple:
    """Expand ``None``, one value, a pair or a ``{modality: value}`` mapping to a pair."""
    if value is None or isinstance(value, str):
        return (value, value)
    if isinstance(value, Mapping):
        unknown = set(value) - set(modalities)
        if unknown:
            raise KeyError(f"{argument}: unknown modalities {sorted(unknown)}; use {modalities}.")
        return tuple(value.get(m) for m in modalities)
    value = tuple(value)
    if len(value) != 2:
        raise ValueError(
            f"{argument}: expected one value, two values or a mapping, found {value!r}."
        )
    return value


def check_layer(adata: AnnData, layer: str | None, modality: str) -> None:
    """Refuse a layer name that the modality does not have."""
    if layer is not None and layer not in adata.layers:
        raise KeyError(
            f"layers: modality {modality!r} has no layer {layer!r}; it has "
            f"{list(adata.layers)} (use None for .X)."
        )


def infer_kind(adata: AnnData, modality: str) -> str | None:
    """Kind from the fitted preprocessing, ``var['feature_types']``, or the modality name."""
    state = adata.uns.get(PP_UNS_KEY)
    if isinstance(state, Mapping) and state.get("kind") in KINDS:
        return str(state["kind"])
    if "feature_types" in adata.var:
        types = {str(t).lower() for t in adata.var["feature_types"].unique()}
        kinds = {FEATURE_TYPE_KINDS.get(t) for t in types}
        if len(kinds) == 1 and None not in kinds:
            return kinds.pop()
    return NAME_KINDS.get(modality.lower())


def resolve_kinds(
    mdata: MuData, modalities: Sequence[str], kinds: Sequence[str] | Mapping | None
) -> tuple[str, str]:
    """Explicit kinds win; otherwise infer each modality's kind or ask for it clearly."""
    given = resolve_per_modality(kinds, modalities, "kinds")
    resolved = []
    for modality, kind in zip(modalities, given, strict=True):
        if kind is None:
            kind = infer_kind(mdata[modality], modality)
        if kind is None:
            raise ValueError(
                f"kinds: cannot tell the kind of modality {modality!r} (no fitted "
                "preprocessing, no var['feature_types'], and an unknown name). Pass "
                f"kinds={{'{modality}': one of {KINDS}}}."
            )
        if kind not in KINDS:
            raise ValueError(f"kinds: expected values in {KINDS}, found {kind!r}.")
        resolved.append(kind)
    return tuple(resolved)


def check_paired(mdata: MuData, modalities: Sequence[str]) -> None:
    """Refuse modalities that do not hold the same cells in the same order.

    scvi-tools reads every modality in its own row order, so cells that differ or come in a
    different order would be paired silently by position.
    """
    reference = mdata.obs_names
    for modality in modalities:
        names = mdata[modality].obs_names
        if names.equals(reference):
            continue
        shared = names.intersection(reference)
        if len(shared) == len(reference) == len(names):
            found = "the same cells in a different order"
        else:
            found = (
                f"{len(names)} cells, {len(shared)} of them among the {len(reference)} cells "
                "of the MuData"
            )
        raise ValueError(
            f"mdata: modality {modality!r} must hold the same cells in the same order as "
            f"mdata.obs_names, but has {found}. Pair the modalities explicitly first, e.g. "
            "`muon.pp.intersect_obs(mdata)` and then `mdata = mdata[common_cells].copy()` "
            "with one shared order, or use `butterflyvi.tl.pair_unpaired` for unpaired data."
        )
    for modality in modalities:
        if not mdata[modality].obs_names.is_unique:
            raise ValueError(
                f"mdata: modality {modality!r} has duplicate obs_names; make them unique first."
            )


def check_values(adata: AnnData, layer: str | None, modality: str) -> None:
    """Refuse empty, NaN or infinite matrices (without densifying them)."""
    matrix = adata.X if layer is None else adata.layers[layer]
    where = "X" if layer is None else f"layers[{layer!r}]"
    if matrix is None or adata.n_obs == 0 or adata.n_vars == 0:
        raise ValueError(
            f"mdata: modality {modality!r} {where} is empty ({adata.n_obs} × {adata.n_vars})."
        )
    values = matrix.data if sp.issparse(matrix) else np.asarray(matrix)
    if not np.all(np.isfinite(values)):
        n_bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
        raise ValueError(
            f"mdata: modality {modality!r} {where} holds {n_bad} NaN or infinite values; "
            "expected finite preprocessed values."
        )
