"""Argument checks of the pairing tools: modalities, cells, obs columns, count matrices.

Every check reads its inputs and never writes to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from mudata import MuData

from .._validation import MissingKeyError, check_seed

__all__ = [
    "check_in_memory",
    "check_mod_names",
    "check_seed",
    "count_matrix",
    "paired_positions",
    "resolve_modalities",
    "resolve_obs_column",
]


def check_in_memory(adata: AnnData, *, name: str) -> None:
    """Raise a ValueError if ``adata`` is backed on disk (rows cannot be gathered lazily)."""
    if adata.isbacked:
        raise ValueError(
            f"{name}: expected data in memory (the pairing tools gather rows), found data "
            "backed on disk; load it first with `.to_memory()`."
        )


def resolve_modalities(mdata: MuData, modalities: Sequence[str] | None) -> tuple[str, str]:
    """Return the two modality names to pair.

    Parameters
    ----------
    mdata
        The paired data.
    modalities
        Two modality names of ``mdata``, or ``None`` for the two modalities of ``mdata``.

    Returns
    -------
    The two names, in the given order (or the order of ``mdata.mod``).

    Raises
    ------
    TypeError
        If ``mdata`` is not a MuData.
    ValueError
        If ``modalities`` is ``None`` and ``mdata`` does not hold exactly two modalities, or
        if it does not name two distinct modalities.
    KeyError
        If a named modality is not in ``mdata``.
    """
    if not isinstance(mdata, MuData):
        raise TypeError(f"mdata: expected a MuData, found {type(mdata).__name__}.")
    available = list(mdata.mod.keys())
    if modalities is None:
        if len(available) != 2:
            raise ValueError(
                "mdata: expected exactly two modalities when modalities is None, found "
                f"{len(available)}: {available}. Pass `modalities=(x, y)`."
            )
        return available[0], available[1]
    if isinstance(modalities, str) or len(modalities) != 2:
        raise ValueError(f"modalities: expected two modality names, found {modalities!r}.")
    mod_x, mod_y = (str(m) for m in modalities)
    if mod_x == mod_y:
        raise ValueError(f"modalities: expected two different modalities, found {modalities!r}.")
    for mod in (mod_x, mod_y):
        if mod not in mdata.mod:
            raise MissingKeyError(
                f"modalities: expected modalities of mdata ({available}), found {mod!r}."
            )
    return mod_x, mod_y


def check_mod_names(mod_names: Sequence[str]) -> tuple[str, str]:
    """Return ``mod_names`` as a tuple of two distinct, non-empty strings, or raise ValueError."""
    if isinstance(mod_names, str) or len(mod_names) != 2:
        raise ValueError(f"mod_names: expected two modality names, found {mod_names!r}.")
    first, second = (str(m) for m in mod_names)
    if not first or not second or first == second or "/" in first + second:
        raise ValueError(
            f"mod_names: expected two different non-empty names without '/', found {mod_names!r}."
        )
    return first, second


def paired_positions(
    mdata: MuData, mod_x: str, mod_y: str
) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Match the cells of two modalities by name.

    Returns
    -------
    cells
        The cells, in the row order of modality ``mod_x``.
    pos_x
        Row positions of ``cells`` in ``mdata[mod_x]`` (``0..n-1``).
    pos_y
        Row positions of ``cells`` in ``mdata[mod_y]``.

    Raises
    ------
    ValueError
        If obs_names repeat within a modality or the two modalities do not hold the same cells.
    """
    ax, ay = mdata.mod[mod_x], mdata.mod[mod_y]
    for mod, adata in ((mod_x, ax), (mod_y, ay)):
        check_in_memory(adata, name=f"mdata[{mod!r}]")
        if not adata.obs_names.is_unique:
            n_dup = int(adata.obs_names.duplicated().sum())
            raise ValueError(
                f"mdata[{mod!r}].obs_names: expected unique cell names, found {n_dup} repeated "
                "(see `AnnData.obs_names_make_unique`)."
            )
    cells = ax.obs_names
    pos_y = ay.obs_names.get_indexer(cells)
    n_missing_y = int((pos_y < 0).sum())
    n_missing_x = int((~ay.obs_names.isin(cells)).sum())
    if n_missing_y or n_missing_x:
        raise ValueError(
            f"mdata: expected modalities {mod_x!r} and {mod_y!r} to hold the same cells (paired "
            f"data), found {n_missing_y} cells of {mod_x!r} not in {mod_y!r} and {n_missing_x} "
            f"cells of {mod_y!r} not in {mod_x!r}. For unpaired data use `bf.tl.pair_unpaired`."
        )
    return cells, np.arange(ax.n_obs), pos_y.astype(np.intp)


def resolve_obs_column(mdata: MuData, key: str, cells: pd.Index, *, arg: str) -> pd.Series:
    """Find an obs column of a MuData, at the MuData level or in a modality.

    ``key`` is looked up, in order: as a column of ``mdata.obs``; as ``"mod:column"``, a
    column of ``mdata[mod].obs``; as a column of exactly one modality's obs (or of several,
    if they agree on every cell).

    Returns
    -------
    The column's values for ``cells``, as a Series indexed by ``cells`` (missing cells are NaN).

    Raises
    ------
    KeyError
        If the column is found nowhere (the message lists the available columns).
    ValueError
        If modalities hold different columns of that name and none is at the MuData level.
    """
    if not isinstance(key, str):
        raise TypeError(f"{arg}: expected a column name (str), found {key!r}.")
    if key in mdata.obs.columns:
        return mdata.obs[key].reindex(cells)
    if ":" in key:
        mod, column = key.split(":", 1)
        if mod in mdata.mod and column in mdata.mod[mod].obs.columns:
            return _mod_column(mdata.mod[mod], column, cells)
    found = {
        mod: _mod_column(adata, key, cells)
        for mod, adata in mdata.mod.items()
        if key in adata.obs.columns
    }
    if len(found) == 1:
        return next(iter(found.values()))
    if len(found) > 1:
        values = list(found.values())
        if all(_same_labels(values[0], other) for other in values[1:]):
            return values[0]
        raise ValueError(
            f"{arg}: expected one column named {key!r}, found columns of several modalities "
            f"({list(found)}) with different values; name one explicitly, e.g. "
            f"{next(iter(found))}:{key!r}."
        )
    available = list(mdata.obs.columns) + [
        f"{mod}:{column}" for mod, adata in mdata.mod.items() for column in adata.obs.columns
    ]
    available = list(dict.fromkeys(available))
    raise MissingKeyError(
        f"{arg}: expected an obs column of the MuData or of its modalities ({available}), "
        f"found {key!r}."
    )


def _mod_column(adata: AnnData, column: str, cells: pd.Index) -> pd.Series:
    values = adata.obs[column]
    if not adata.obs_names.is_unique:
        raise ValueError(
            "obs_names: expected unique names to look up an obs column by cell, found repeats."
        )
    return values.reindex(cells)


def _same_labels(first: pd.Series, second: pd.Series) -> bool:
    a = first.astype(object).to_numpy()
    b = second.astype(object).to_numpy()
    na_a, na_b = pd.isna(a), pd.isna(b)
    return bool(np.array_equal(na_a, na_b) and np.all(a[~na_a] == b[~na_b]))


def count_matrix(adata: AnnData, *, layer: str | None, name: str) -> tuple[Any, str]:
    """Return the raw-count matrix of ``adata`` and where it was taken from.

    ``layers[layer]`` is used if present, otherwise ``X``. The matrix is checked, not copied.

    Returns
    -------
    matrix
        The count matrix (the object held by ``adata``; do not write to it).
    source
        ``"layers['<layer>']"`` or ``"X"``.

    Raises
    ------
    ValueError
        If the matrix is missing, holds NaN/Inf, negative or non-integer values.
    """
    if layer is not None and layer in adata.layers:
        matrix, source = adata.layers[layer], f"layers[{layer!r}]"
    else:
        matrix, source = adata.X, "X"
    if matrix is None:
        raise ValueError(f"{name}: expected a count matrix, found X None and no layer {layer!r}.")
    values = matrix.data if sp.issparse(matrix) else np.asarray(matrix)
    if values.size:
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name} {source}: expected raw counts, found NaN or infinite values.")
        if values.min() < 0:
            raise ValueError(
                f"{name} {source}: expected raw counts, found negative values (min "
                f"{values.min()}); give the count layer with `layer=`."
            )
        if not np.all(np.mod(values, 1) == 0):
            raise ValueError(
                f"{name} {source}: expected raw counts, found non-integer values (it looks "
                "normalised); give the count layer with `layer=`."
            )
    return matrix, source
