"""Preprocessing the modalities of a MuData for training, by kind."""

from __future__ import annotations

from collections.abc import Sequence

from mudata import MuData

from .._constants import ACCESSIBILITY, EXPRESSION, PP_UNS_KEY, PROTEIN
from ._errors import InputError


def resolve_kinds(mdata: MuData, modalities: Sequence[str], kinds: Sequence[str] | None):
    """Each modality's kind: given, or inferred as ``setup_mudata`` infers it."""
    from ..model._setup import infer_kind

    if kinds is not None:
        return list(kinds)
    resolved = []
    for name in modalities:
        kind = infer_kind(mdata[name], name)
        if kind is None:
            raise InputError(
                f"--kinds: cannot tell the kind of modality {name!r} (no butterflyvi "
                "preprocessing record, no var['feature_types'], and an unknown name); pass "
                f"--kinds with one of {EXPRESSION}, {ACCESSIBILITY}, {PROTEIN} per modality."
            )
        resolved.append(kind)
    return resolved


def needs_preprocessing(mdata: MuData, name: str) -> bool:
    """Whether modality ``name`` holds raw counts without a butterflyvi preprocessing record."""
    from ..model._features import looks_like_counts

    adata = mdata[name]
    return PP_UNS_KEY not in adata.uns and adata.X is not None and looks_like_counts(adata.X)


def preprocess(mdata: MuData, modalities: Sequence[str], kinds: Sequence[str], mode) -> list[str]:
    """Preprocess the modalities in place (``mode``: True, False, or None for automatic).

    Returns the names of the modalities preprocessed. Calls ``mdata.update()`` afterwards.
    """
    import butterflyvi as bf

    functions = {
        EXPRESSION: bf.pp.preprocess_rna,
        ACCESSIBILITY: bf.pp.preprocess_atac,
        PROTEIN: bf.pp.preprocess_adt,
    }
    done = []
    for name, kind in zip(modalities, kinds, strict=True):
        if mode is False:
            continue
        if mode is None and not needs_preprocessing(mdata, name):
            continue
        if kind not in functions:
            raise InputError(f"--kinds: expected values in {sorted(functions)}, found {kind!r}.")
        functions[kind](mdata[name])
        done.append(name)
    if done:
        mdata.update()
    return done
