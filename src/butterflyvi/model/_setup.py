"""Checks and resolution of ``setup_mudata`` arguments: modalities, layers, kinds, pairing."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from anndata import AnnData
from mudata import MuData

from .._constants import ACCESSIBILITY, EXPRESSION, KINDS, PP_UNS_KEY, PROTEIN
from ..pp._checks import _stored_values

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
        names = mdata[modality].obs_names
        if not names.is_unique:
            duplicated = names[names.duplicated()].unique()
            raise ValueError(
                f"mdata: modality {modality!r} has duplicate obs_names ({len(duplicated)} "
                f"repeated, e.g. {list(duplicated[:5])}); expected one row per cell. Make them "
                "unique first, e.g. with `obs_names_make_unique()` on each modality and "
                "`mdata.update()`."
            )


def check_values(adata: AnnData, layer: str | None, modality: str, kind: str | None = None) -> None:
    """Refuse empty or non-finite matrices and duplicate feature names; check values by kind.

    Nothing is densified (sparse matrices are checked on their stored values, dense ones in
    row blocks). Accessibility values must lie in ``[0, 1]`` (the decoder ends in a sigmoid
    and its loss is a binary cross-entropy): negative values and raw counts are refused,
    values above 1 are warned about. Expression and protein values that look like raw counts
    are warned about (the model expects preprocessed values).
    """
    matrix = adata.X if layer is None else adata.layers[layer]
    where = "X" if layer is None else f"layers[{layer!r}]"
    if matrix is None or adata.n_obs == 0 or adata.n_vars == 0:
        raise ValueError(
            f"mdata: modality {modality!r} {where} is empty ({adata.n_obs} × {adata.n_vars})."
        )
    n_bad = n_negative = n_fraction = 0
    maximum = -np.inf
    for block in _stored_values(matrix):
        if block.size == 0:
            continue
        if not np.issubdtype(block.dtype, np.floating):
            block = block.astype(np.float64)
        finite = np.isfinite(block)
        n_bad += int(block.size - np.count_nonzero(finite))
        if n_bad:
            continue
        n_negative += int(np.count_nonzero(block < 0))
        n_fraction += int(np.count_nonzero(block != np.round(block)))
        maximum = max(maximum, float(block.max()))
    if n_bad:
        raise ValueError(
            f"mdata: modality {modality!r} {where} holds {n_bad} NaN or infinite values; "
            "expected finite preprocessed values."
        )
    if not adata.var_names.is_unique:
        duplicated = adata.var_names[adata.var_names.duplicated()].unique()
        raise ValueError(
            f"mdata: modality {modality!r} has {len(duplicated)} duplicated var_names (e.g. "
            f"{list(duplicated[:5])}); expected unique feature names, since the model matches "
            f"features by name on new data. Make them unique first, e.g. "
            f"`mdata[{modality!r}].var_names_make_unique(); mdata.update()`."
        )
    # Stored entries only: a sparse matrix's implicit zeros do not change the checks below.
    looks_like_counts = n_negative == 0 and n_fraction == 0 and maximum > 1
    if kind == ACCESSIBILITY:
        if n_negative:
            raise ValueError(
                f"mdata: modality {modality!r} {where}: expected accessibility values in "
                f"[0, 1] (scaled TF-IDF), found {n_negative} negative values."
            )
        if looks_like_counts:
            raise ValueError(
                f"mdata: modality {modality!r} {where} looks like raw counts (non-negative "
                f"integers up to {maximum:g}); expected accessibility values in [0, 1]. Run "
                f"butterflyvi.pp.preprocess_atac(mdata[{modality!r}]) and mdata.update() first."
            )
        if maximum > 1:
            warnings.warn(
                f"mdata: modality {modality!r} {where} holds values above 1 (max {maximum:g}); "
                "the accessibility decoder ends in a sigmoid and its binary cross-entropy "
                "expects values in [0, 1] (as written by butterflyvi.pp.preprocess_atac).",
                UserWarning,
                stacklevel=3,
            )
    elif kind in (EXPRESSION, PROTEIN) and looks_like_counts:
        function = "preprocess_rna" if kind == EXPRESSION else "preprocess_adt"
        warnings.warn(
            f"mdata: modality {modality!r} {where} looks like raw counts (non-negative integers "
            f"up to {maximum:g}); the model expects preprocessed {kind} values. Run "
            f"butterflyvi.pp.{function}(mdata[{modality!r}]) and mdata.update() first, or pass "
            "the layer holding the preprocessed values.",
            UserWarning,
            stacklevel=3,
        )
