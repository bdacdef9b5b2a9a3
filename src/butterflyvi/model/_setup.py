"""Checks and resolution of ``setup_mudata`` arguments: modalities, layers, kinds, pairing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from anndata import AnnData
from mudata import MuData

from .._validation import (
    check_same_cells,
    check_unique_names,
    invalid,
    missing,
    value_summary,
    wrong_type,
)
from ..kinds import available_kinds, get_kind, infer_kind


def resolve_modalities(mdata: MuData, modalities: Sequence[str]) -> tuple[str, str]:
    """Check that ``modalities`` names two distinct modalities of ``mdata``."""
    if not isinstance(mdata, MuData):
        raise wrong_type("mdata", "a MuData", mdata)
    if isinstance(modalities, str) or len(modalities) != 2:
        raise invalid("modalities", "two modality names", repr(modalities))
    modalities = tuple(modalities)
    if modalities[0] == modalities[1]:
        raise invalid("modalities", "two different names", repr(modalities))
    for name in modalities:
        if name not in mdata.mod:
            raise missing("modalities", f"modalities of mdata ({list(mdata.mod)})", repr(name))
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
            raise missing(
                argument, f"keys among the modalities {list(modalities)}", str(sorted(unknown))
            )
        return tuple(value.get(m) for m in modalities)
    value = tuple(value)
    if len(value) != 2:
        raise invalid(argument, "one value, two values or a mapping", repr(value))
    return value


def check_layer(adata: AnnData, layer: str | None, modality: str) -> None:
    """Refuse a layer name that the modality does not have."""
    if layer is not None and layer not in adata.layers:
        raise missing(
            "layers",
            f"a layer of modality {modality!r} ({list(adata.layers)}, or None for .X)",
            repr(layer),
        )


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
            raise invalid(
                "kinds",
                f"the kind of modality {modality!r}",
                "nothing that tells it (no fitted preprocessing, no uns['butterflyvi_kind'], "
                "no var['feature_types'], and an unknown name)",
                f"Pass kinds={{'{modality}': one of {list(available_kinds())}}}.",
            )
        get_kind(kind)  # refuses an unknown kind
        resolved.append(kind)
    return tuple(resolved)


def check_paired(mdata: MuData, modalities: Sequence[str]) -> None:
    """Refuse modalities that do not hold the same cells in the same order."""
    for modality in modalities:
        check_same_cells(
            mdata[modality].obs_names,
            mdata.obs_names,
            argument="mdata",
            what=f"modality {modality!r}",
        )


def check_values(adata: AnnData, layer: str | None, modality: str, kind: str | None = None) -> None:
    """Refuse empty or non-finite matrices and duplicate feature names; check values by kind.

    Nothing is densified (sparse matrices are checked on their stored values, dense ones in
    row blocks). What fits a kind (e.g. accessibility values in [0, 1]) is the kind's own
    check (``Kind.check_registered``).
    """
    matrix = adata.X if layer is None else adata.layers[layer]
    where = "X" if layer is None else f"layers[{layer!r}]"
    if matrix is None or adata.n_obs == 0 or adata.n_vars == 0:
        raise invalid(
            f"mdata[{modality!r}].{where}",
            "a non-empty matrix",
            f"{adata.n_obs} × {adata.n_vars}",
        )
    summary = value_summary(matrix)
    if summary["n_nonfinite"]:
        raise invalid(
            f"mdata[{modality!r}].{where}",
            "finite preprocessed values",
            f"{summary['n_nonfinite']} NaN or infinite values",
        )
    check_unique_names(adata.var_names, name=f"mdata[{modality!r}].var_names")
    check = get_kind(kind).check_registered if kind is not None else None
    if check is not None:
        check(modality, where, summary["n_negative"], summary["n_fraction"], summary["maximum"])


def check_extra_inputs(
    mdata: MuData, modalities: Sequence[str], extra_inputs: Mapping[str, str] | None
) -> dict[str, str]:
    """``{modality: extra modality}``, checked: known names, the same cells, finite values."""
    if not extra_inputs:
        return {}
    if not isinstance(extra_inputs, Mapping):
        raise wrong_type("extra_inputs", "a {modality: extra modality} mapping", extra_inputs)
    out = {}
    for modality, extra in extra_inputs.items():
        if modality not in modalities:
            raise missing(
                "extra_inputs", f"keys among the modalities {list(modalities)}", repr(modality)
            )
        if extra not in mdata.mod or extra in modalities:
            raise missing(
                "extra_inputs",
                f"another modality of mdata ({[m for m in mdata.mod if m not in modalities]})",
                repr(extra),
            )
        check_same_cells(
            mdata[extra].obs_names,
            mdata.obs_names,
            argument="extra_inputs",
            what=f"modality {extra!r}",
        )
        check_values(mdata[extra], None, extra, None)
        out[str(modality)] = str(extra)
    return out
