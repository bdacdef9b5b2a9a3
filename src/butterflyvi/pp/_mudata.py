"""One calling convention for ``butterflyvi.pp``, as scanpy's and muon's: an AnnData, or a
MuData with ``mod=`` naming the modality; in place, or a new object with ``copy=True``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TypeVar

import mudata
from anndata import AnnData
from mudata import MuData

from .._validation import invalid, missing, wrong_type

F = TypeVar("F", bound=Callable)

#: The description of ``mod``, added to the docstring of every function :func:`on_modality` wraps.
_MOD_DOC = """    mod
        With a MuData as ``adata``: the modality to work on (the MuData is updated after,
        and returned with ``copy=True``).
"""


def on_modality(function: F) -> F:
    """Let ``function(adata, ..., copy=False)`` take an AnnData, or a MuData and ``mod``.

    With a MuData, ``function`` runs in place on ``data[mod]`` (on a copy of the whole MuData
    with ``copy=True``, which is then returned), and ``MuData.update()`` follows, so changed
    features or cells show in the MuData. With an AnnData, ``function`` runs as it is.
    """

    @functools.wraps(function)
    def wrapper(adata, *args, mod: str | None = None, copy: bool = False, **kwargs):
        data = adata
        if isinstance(data, MuData):
            if mod is None or mod not in data.mod:
                raise missing("mod", f"a modality of the MuData ({list(data.mod)})", repr(mod))
            target = data.copy() if copy else data
            function(target.mod[mod], *args, copy=False, **kwargs)
            with mudata.set_options(pull_on_update=False):  # no modality columns pulled up
                target.update()
            return target if copy else None
        if not isinstance(data, AnnData):
            raise wrong_type("adata", "an AnnData, or a MuData with mod=", data)
        if mod is not None:
            raise invalid("mod", "None with an AnnData (mod= names a MuData's modality)", repr(mod))
        return function(data, *args, copy=copy, **kwargs)

    if wrapper.__doc__ and "\n    copy\n" in wrapper.__doc__:
        wrapper.__doc__ = wrapper.__doc__.replace("\n    copy\n", "\n" + _MOD_DOC + "    copy\n", 1)
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())
    first = parameters[0].replace(annotation="AnnData | MuData")
    mod = inspect.Parameter(
        "mod", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="str | None"
    )
    wrapper.__signature__ = signature.replace(parameters=[first, mod, *parameters[1:]])
    return wrapper  # type: ignore[return-value]


def replace_modalities(mdata: MuData, replacements: dict[str, AnnData]) -> None:
    """Put new AnnData objects in place of modalities of ``mdata`` and update it.

    mudata cannot update a modality whose features were renamed *and* reduced at once (e.g.
    merged peaks): it refuses, as it cannot tell the new order. So a modality with fewer,
    renamed features goes in twice: first under a prefix of its old names (a reduction
    only), then under its own names (a renaming only).
    """
    renames = {}
    for name, new in replacements.items():
        old = mdata.mod[name].var_names
        if len(new.var_names) < len(old) and not new.var_names.isin(old).all():
            renames[name] = new.var_names.copy()
            new.var_names = old[: len(new.var_names)]
        mdata.mod[name] = new
    with mudata.set_options(pull_on_update=False):
        mdata.update()
        if renames:
            for name, names in renames.items():
                mdata.mod[name].var_names = names
            mdata.update()
