"""The command line's names for the library's data preparation (``model/_setup.py``)."""

from __future__ import annotations

from collections.abc import Sequence

from mudata import MuData

from ._errors import InputError


def resolve_kinds(mdata: MuData, modalities: Sequence[str], kinds: Sequence[str] | None):
    """Each modality's kind: given, or inferred as ``setup_mudata`` infers it; an error names
    the ``--kinds`` flag.
    """
    from ..model._setup import resolve_kinds as resolve

    try:
        return list(resolve(mdata, modalities, None if kinds is None else list(kinds)))
    except ValueError as error:
        raise InputError(str(error).replace("kinds:", "--kinds:", 1)) from None
