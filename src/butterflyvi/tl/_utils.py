"""Helpers shared by the pairing tools: argument checks, row selection and MuData assembly.

Every helper here reads its inputs and builds new objects; none of them writes to an input.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from mudata import MuData

from .._constants import ACCESSIBILITY, EXPRESSION, PROTEIN

#: ``MuData.uns`` key holding the record of how the pairs were made.
PAIRING_UNS_KEY = "butterfly_pairing"
#: ``MuData.obs`` column telling where each pair comes from.
ORIGIN_KEY = "butterfly_origin"
#: ``MuData.obs`` column with the augmentation round (0 for measured pairs).
ROUND_KEY = "butterfly_round"
#: Prefix of the ``MuData.obs`` columns naming the source cell of each modality.
SOURCE_CELL_PREFIX = "source_cell_"

_FEATURE_TYPE_KINDS = {
    "gene expression": EXPRESSION,
    "gex": EXPRESSION,
    "rna": EXPRESSION,
    "peaks": ACCESSIBILITY,
    "atac": ACCESSIBILITY,
    "antibody capture": PROTEIN,
    "adt": PROTEIN,
    "protein": PROTEIN,
}
_NAME_KINDS = {
    "rna": EXPRESSION,
    "gex": EXPRESSION,
    "expression": EXPRESSION,
    "atac": ACCESSIBILITY,
    "peaks": ACCESSIBILITY,
    "accessibility": ACCESSIBILITY,
    "prot": PROTEIN,
    "protein": PROTEIN,
    "adt": PROTEIN,
    "cite": PROTEIN,
}


def check_seed(seed: Any, *, name: str = "seed") -> int | None:
    """Return ``seed`` after checking it is an integer or ``None``.

    Raises
    ------
    TypeError
        If ``seed`` is neither an integer nor ``None``.
    """
    if seed is None or (isinstance(seed, int | np.integer) and not isinstance(seed, bool)):
        return None if seed is None else int(seed)
    raise TypeError(f"`{name}` must be an integer or None, found {seed!r}.")


def check_in_memory(adata: AnnData, *, name: str) -> None:
    """Raise a ValueError if ``adata`` is backed on disk (rows cannot be gathered lazily)."""
    if adata.isbacked:
        raise ValueError(
            f"{name} is backed on disk; load it first with `.to_memory()` (the pairing tools "
            "gather rows of in-memory matrices)."
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
        raise TypeError(f"`mdata` must be a MuData, found {type(mdata).__name__}.")
    available = list(mdata.mod.keys())
    if modalities is None:
        if len(available) != 2:
            raise ValueError(
                f"`modalities` is None, so `mdata` must hold exactly two modalities; it holds "
                f"{len(available)}: {available}. Pass `modalities=(x, y)`."
            )
        return available[0], available[1]
    if isinstance(modalities, str) or len(modalities) != 2:
        raise ValueError(f"`modalities` must be two modality names, found {modalities!r}.")
    mod_x, mod_y = (str(m) for m in modalities)
    if mod_x == mod_y:
        raise ValueError(f"`modalities` must name two different modalities, found {modalities!r}.")
    for mod in (mod_x, mod_y):
        if mod not in mdata.mod:
            raise KeyError(f"`modalities` names {mod!r}, which is not in `mdata`: {available}.")
    return mod_x, mod_y


def check_mod_names(mod_names: Sequence[str]) -> tuple[str, str]:
    """Return ``mod_names`` as a tuple of two distinct, non-empty strings, or raise ValueError."""
    if isinstance(mod_names, str) or len(mod_names) != 2:
        raise ValueError(f"`mod_names` must be two modality names, found {mod_names!r}.")
    first, second = (str(m) for m in mod_names)
    if not first or not second or first == second or "/" in first + second:
        raise ValueError(
            f"`mod_names` must be two different non-empty names without '/', found {mod_names!r}."
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
        check_in_memory(adata, name=f"Modality {mod!r}")
        if not adata.obs_names.is_unique:
            n_dup = int(adata.obs_names.duplicated().sum())
            raise ValueError(
                f"Modality {mod!r} has {n_dup} repeated obs_names; cells must be named uniquely "
                "(see `AnnData.obs_names_make_unique`)."
            )
    cells = ax.obs_names
    pos_y = ay.obs_names.get_indexer(cells)
    n_missing_y = int((pos_y < 0).sum())
    n_missing_x = int((~ay.obs_names.isin(cells)).sum())
    if n_missing_y or n_missing_x:
        raise ValueError(
            f"Modalities {mod_x!r} and {mod_y!r} must hold the same cells (paired data): "
            f"{n_missing_y} cells of {mod_x!r} are not in {mod_y!r} and {n_missing_x} cells of "
            f"{mod_y!r} are not in {mod_x!r}. For unpaired data use `bf.tl.pair_unpaired`."
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
        raise TypeError(f"`{arg}` must be a column name (str), found {key!r}.")
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
            f"`{arg}`={key!r} is a column of several modalities ({list(found)}) with different "
            f"values; name one explicitly, e.g. {next(iter(found))}:{key!r}."
        )
    available = list(mdata.obs.columns) + [
        f"{mod}:{column}" for mod, adata in mdata.mod.items() for column in adata.obs.columns
    ]
    available = list(dict.fromkeys(available))
    raise KeyError(
        f"`{arg}`={key!r} is not an obs column of the MuData or of its modalities. "
        f"Available columns: {available}."
    )


def _mod_column(adata: AnnData, column: str, cells: pd.Index) -> pd.Series:
    values = adata.obs[column]
    if not adata.obs_names.is_unique:
        raise ValueError("obs_names must be unique to look up an obs column by cell name.")
    return values.reindex(cells)


def _same_labels(first: pd.Series, second: pd.Series) -> bool:
    a = first.astype(object).to_numpy()
    b = second.astype(object).to_numpy()
    na_a, na_b = pd.isna(a), pd.isna(b)
    return bool(np.array_equal(na_a, na_b) and np.all(a[~na_a] == b[~na_b]))


def infer_kind(name: str, adata: AnnData) -> str | None:
    """Infer a modality's kind from ``var["feature_types"]`` (most common value) or its name.

    Returns
    -------
    One of ``"expression"``, ``"accessibility"``, ``"protein"``, or ``None`` if unknown.
    """
    if "feature_types" in adata.var.columns and adata.n_vars > 0:
        counts = adata.var["feature_types"].astype(str).str.lower().value_counts()
        kind = _FEATURE_TYPE_KINDS.get(str(counts.index[0]).strip())
        if kind is not None:
            return kind
    return _NAME_KINDS.get(name.lower())


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
        raise ValueError(f"{name} has no count matrix: X is None and layer {layer!r} is absent.")
    values = matrix.data if sp.issparse(matrix) else np.asarray(matrix)
    if values.size:
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name} {source} holds NaN or Inf; raw counts are expected.")
        if values.min() < 0:
            raise ValueError(
                f"{name} {source} holds negative values (min {values.min()}); raw counts are "
                f"expected (give the count layer with `layer=`)."
            )
        if not np.all(np.mod(values, 1) == 0):
            raise ValueError(
                f"{name} {source} holds non-integer values; raw counts are expected (it looks "
                f"normalised; give the count layer with `layer=`)."
            )
    return matrix, source


def check_finite(matrix: Any, *, name: str) -> None:
    """Raise a ValueError if ``matrix`` (sparse or dense) holds NaN or Inf."""
    values = matrix.data if sp.issparse(matrix) else np.asarray(matrix)
    if values.size and not np.all(np.isfinite(values)):
        raise ValueError(f"{name} holds NaN or Inf values.")


def take_rows_matrix(matrix: Any, positions: np.ndarray) -> Any:
    """Return a new matrix holding the rows ``positions`` of ``matrix`` (repeats allowed).

    Sparse matrices are gathered in CSR form (converted once if needed; the input is not
    changed) and stay sparse; dense arrays and DataFrames are gathered with fancy indexing.

    Raises
    ------
    TypeError
        For matrix types that cannot be gathered in memory (e.g. dask or backed arrays).
    """
    if matrix is None:
        return None
    if sp.issparse(matrix):
        csr = matrix if matrix.format == "csr" else matrix.tocsr()
        return csr[positions]
    if isinstance(matrix, np.ndarray):
        return matrix[positions]
    if isinstance(matrix, pd.DataFrame):
        return matrix.iloc[positions]
    raise TypeError(
        f"Cannot gather rows of a {type(matrix).__name__}; load the data into memory "
        "(numpy or scipy.sparse) first."
    )


def take_rows(adata: AnnData, positions: np.ndarray, obs_names: Sequence[str]) -> AnnData:
    """Build a new AnnData from rows of ``adata``, named ``obs_names``.

    Returns
    -------
    A new AnnData with rows ``positions`` (repeats allowed) of X, every layer, obsm and obs
    (all columns, index replaced by ``obs_names``), copies of var, varm, varp and uns, and
    ``raw`` gathered the same way when present. ``obsp`` (cell-cell graphs) is not carried.
    """
    positions = np.asarray(positions, dtype=np.intp)
    index = pd.Index(obs_names, dtype=object)
    obs = adata.obs.iloc[positions].copy()
    obs.index = index
    obsm = {}
    for key, value in adata.obsm.items():
        rows = take_rows_matrix(value, positions)
        if isinstance(rows, pd.DataFrame):
            rows = rows.copy()
            rows.index = index
        obsm[key] = rows
    out = AnnData(
        X=take_rows_matrix(adata.X, positions),
        obs=obs,
        var=adata.var.copy(),
        uns=copy.deepcopy(dict(adata.uns)),
        obsm=obsm,
        varm={key: value.copy() for key, value in adata.varm.items()},
        varp={key: value.copy() for key, value in adata.varp.items()},
        layers={key: take_rows_matrix(value, positions) for key, value in adata.layers.items()},
    )
    if adata.raw is not None:
        out.raw = AnnData(
            X=take_rows_matrix(adata.raw.X, positions),
            obs=pd.DataFrame(index=index),
            var=adata.raw.var.copy(),
        )
    return out


def assemble_mudata(
    mods: Mapping[str, AnnData],
    *,
    obs: pd.DataFrame,
    uns: Mapping[str, Any] | None = None,
) -> MuData:
    """Assemble pairs into a MuData.

    Parameters
    ----------
    mods
        Modalities holding the same obs_names in the same order (checked).
    obs
        MuData-level columns, indexed like the modalities.
    uns
        MuData-level unstructured entries (copied).

    Returns
    -------
    A new MuData whose ``obs`` holds the columns of ``obs`` (and those mudata pulls from the
    modalities), with ``uns`` set and ``update()`` called.
    """
    names = None
    for mod, adata in mods.items():
        if names is None:
            names = adata.obs_names
        elif not adata.obs_names.equals(names):
            raise AssertionError(f"Internal error: modality {mod!r} is not aligned.")
    if names is None or not names.is_unique:
        raise ValueError(
            "The pairs do not have unique names; the input obs_names must be unique and must "
            "not themselves look like generated pair names."
        )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pull_on_update.*", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*var_names are intersecting.*")
        warnings.filterwarnings("ignore", message=".*var_names are not unique.*")
        mdata = MuData(dict(mods))
        for column in obs.columns:
            mdata.obs[column] = obs[column].reindex(mdata.obs_names).to_numpy()
            if isinstance(obs[column].dtype, pd.CategoricalDtype):
                mdata.obs[column] = pd.Categorical(
                    mdata.obs[column], categories=obs[column].cat.categories
                )
        if uns:
            mdata.uns.update(copy.deepcopy(dict(uns)))
        mdata.update()
    return mdata


def labels_to_str_keys(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    """Return ``mapping`` with string keys and plain Python ints (writable to h5mu)."""
    return {str(k): int(v) if isinstance(v, int | np.integer) else v for k, v in mapping.items()}
