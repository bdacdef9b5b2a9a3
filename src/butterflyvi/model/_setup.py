"""Reading, checking and preparing data for a model: the ``setup_mudata`` arguments
(modalities, layers, kinds, pairing, fields) and the preprocessing the command line and the
portal share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from anndata import AnnData
from mudata import MuData
from scvi import REGISTRY_KEYS
from scvi.data import fields

from .._constants import COUNTS_KEYS, EXTRA_KEYS, MODALITY_KEYS, PP_UNS_KEY
from .._validation import (
    check_same_cells,
    check_unique_names,
    invalid,
    looks_like_counts,
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


@dataclass(frozen=True)
class RegisteredSetup:
    """What :meth:`~butterflyvi.ButterflyModel.setup_mudata` resolved and checked."""

    modalities: tuple[str, str]
    layers: tuple[str | None, str | None]
    kinds: tuple[str, str]
    with_counts: tuple[bool, bool]
    counts_layer: str | None
    extras: dict[str, str]
    batch_key: str | None

    def record(self) -> dict:
        """Resolved names stored in the registry, so that loading never re-infers them."""
        return {
            "modalities": list(self.modalities),
            "kinds": list(self.kinds),
            "counts_registered": list(self.with_counts),
            "extra_inputs": dict(self.extras),
        }

    def fields(self) -> list:
        """The scvi-tools MuData fields: both modalities, their raw counts where present,
        extra inputs and the batch column.
        """
        layer_fields = [(MODALITY_KEYS[i], self.layers[i], self.modalities[i]) for i in range(2)]
        layer_fields += [
            (COUNTS_KEYS[i], self.counts_layer, self.modalities[i])
            for i in range(2)
            if self.with_counts[i]
        ]
        layer_fields += [
            (EXTRA_KEYS[i], None, self.extras[self.modalities[i]])
            for i in range(2)
            if self.modalities[i] in self.extras
        ]
        out: list = [
            fields.MuDataLayerField(key, layer, mod_key=mod, is_count_data=False, mod_required=True)
            for key, layer, mod in layer_fields
        ]
        if self.batch_key is not None:
            out.append(
                fields.MuDataCategoricalObsField(
                    REGISTRY_KEYS.BATCH_KEY, self.batch_key, mod_key=None
                )
            )
        return out


def resolve_setup(
    mdata: MuData,
    modalities: Sequence[str],
    layers,
    kinds,
    batch_key: str | None,
    counts_layer: str | None,
    extra_inputs: Mapping[str, str] | None,
) -> RegisteredSetup:
    """Check the arguments of ``setup_mudata`` against ``mdata`` and resolve them."""
    modalities = resolve_modalities(mdata, modalities)
    layer_pair = resolve_per_modality(layers, modalities, "layers")
    kinds = resolve_kinds(mdata, modalities, kinds)
    check_paired(mdata, modalities)
    for modality, layer, kind in zip(modalities, layer_pair, kinds, strict=True):
        adata = mdata[modality]
        check_layer(adata, layer, modality)
        check_values(adata, layer, modality, kind)
        get_kind(kind).layout(adata.var)  # refuses what the kind's networks cannot use
    if batch_key is not None and batch_key not in mdata.obs:
        raise missing("batch_key", "a column of mdata.obs", repr(batch_key))
    with_counts = tuple(
        counts_layer is not None and counts_layer in mdata[m].layers and counts_layer != layer
        for m, layer in zip(modalities, layer_pair, strict=True)
    )
    return RegisteredSetup(
        modalities=modalities,
        layers=tuple(layer_pair),
        kinds=kinds,
        with_counts=with_counts,
        counts_layer=counts_layer,
        extras=check_extra_inputs(mdata, modalities, extra_inputs),
        batch_key=batch_key,
    )


# ---------------------------------------------------------------------------- preparation
def needs_preprocessing(adata: AnnData) -> bool:
    """Whether a modality holds raw counts without a butterflyvi preprocessing record."""
    return PP_UNS_KEY not in adata.uns and adata.X is not None and looks_like_counts(adata.X)


def prepare_modalities(
    mdata: MuData,
    modalities: Sequence[str],
    kinds: Sequence[str],
    *,
    preprocess: bool | None = None,
) -> list[str]:
    """Preprocess the modalities of ``mdata`` in place with their kind's ``pp`` function.

    The one preparation the command line (``butterflyvi train``) and the portal's training
    jobs share.

    Parameters
    ----------
    mdata
        The paired data.
    modalities, kinds
        The modalities to prepare and their kinds (see :func:`resolve_kinds`).
    preprocess
        ``True``: every modality; ``False``: none; ``None``: those holding raw counts without
        a butterflyvi preprocessing record.

    Returns
    -------
    The names of the modalities preprocessed (``mdata.update()`` has run when there are any).
    """
    done = []
    for name, kind in zip(modalities, kinds, strict=True):
        if preprocess is False or (preprocess is None and not needs_preprocessing(mdata[name])):
            continue
        get_kind(kind).preprocess(mdata[name])
        done.append(name)
    if done:
        mdata.update()
    return done
