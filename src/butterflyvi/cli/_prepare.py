"""Preprocessing the modalities of a MuData for training, by kind."""

from __future__ import annotations

from collections.abc import Sequence

from mudata import MuData

from .._constants import PP_UNS_KEY
from ._errors import InputError


def resolve_kinds(mdata: MuData, modalities: Sequence[str], kinds: Sequence[str] | None):
    """Each modality's kind: given, or inferred as ``setup_mudata`` infers it."""
    from ..model._setup import resolve_kinds as resolve

    try:
        return list(resolve(mdata, modalities, None if kinds is None else list(kinds)))
    except ValueError as error:
        raise InputError(str(error).replace("kinds:", "--kinds:", 1)) from None


def needs_preprocessing(mdata: MuData, name: str) -> bool:
    """Whether modality ``name`` holds raw counts without a butterflyvi preprocessing record."""
    from .._validation import looks_like_counts

    adata = mdata[name]
    return PP_UNS_KEY not in adata.uns and adata.X is not None and looks_like_counts(adata.X)


def preprocess(mdata: MuData, modalities: Sequence[str], kinds: Sequence[str], mode) -> list[str]:
    """Preprocess the modalities in place (``mode``: True, False, or None for automatic).

    Returns the names of the modalities preprocessed. Calls ``mdata.update()`` afterwards.
    """
    from ..kinds import get_kind

    done = []
    for name, kind in zip(modalities, kinds, strict=True):
        if mode is False:
            continue
        if mode is None and not needs_preprocessing(mdata, name):
            continue
        get_kind(kind).preprocess(mdata[name])
        done.append(name)
    if done:
        mdata.update()
    return done
