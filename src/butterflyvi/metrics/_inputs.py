"""Input handling shared by the metrics: matrices, name alignment, validation, blocks.

Every metric accepts an :class:`~anndata.AnnData`, a 2-D :class:`numpy.ndarray` or a SciPy
sparse matrix/array. Nothing here writes to its inputs: alignment and format conversions
produce new objects, and blocks handed to the metrics are fresh dense copies.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from .._validation import MissingKeyError

#: Entries per dense block (float64: 8 MiB). Per-cell and per-feature metrics densify one
#: block of rows or columns at a time, so their working memory is a small multiple of this.
BLOCK_ENTRIES = 1 << 20

Matrix = np.ndarray | sparse.spmatrix | sparse.sparray

#: A layer name, or ``None`` for ``X``.
Layer = str | None
#: A table of metric names and values.
Scores = dict[str, float | int]


@dataclass(frozen=True)
class Table:
    """A 2-D matrix with the cell and feature names it came with (``None`` for arrays)."""

    X: Matrix
    obs_names: pd.Index | None
    var_names: pd.Index | None

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_cells, n_features)``."""
        return tuple(int(n) for n in self.X.shape)  # type: ignore[return-value]


def as_table(data: Any, *, name: str, layer: str | None = None) -> Table:
    """Wrap ``data`` (AnnData, ndarray or sparse matrix) as a :class:`Table` without copying.

    Parameters
    ----------
    data
        The input.
    name
        The argument's name, used in error messages.
    layer
        For an AnnData, the layer to use instead of ``X``.

    """
    if isinstance(data, AnnData):
        if layer is None:
            X = data.X
            where = f"{name}.X"
        else:
            if layer not in data.layers:
                raise MissingKeyError(
                    f"layer: expected a layer of {name} ({list(data.layers)}), found {layer!r}."
                )
            X = data.layers[layer]
            where = f"{name}.layers[{layer!r}]"
        if X is None:
            raise ValueError(f"{where}: expected a cells × features matrix, found None.")
        X = _as_matrix(X, where=where)
        return Table(X=X, obs_names=data.obs_names, var_names=data.var_names)
    if layer is not None:
        raise ValueError(
            f"layer: expected None for {name}, a {type(data).__name__} (not an AnnData), "
            f"found {layer!r}."
        )
    return Table(X=_as_matrix(data, where=f"`{name}`"), obs_names=None, var_names=None)


def _as_matrix(X: Any, *, where: str) -> Matrix:
    if sparse.issparse(X):
        if X.ndim != 2:
            raise ValueError(f"{where}: expected 2-D (cells × features), found {X.ndim}-D.")
        return X
    if isinstance(X, np.ndarray):
        X = np.asarray(X)  # np.matrix -> ndarray (a view)
        if X.ndim != 2:
            raise ValueError(
                f"{where}: expected a 2-D cells × features matrix, found shape {X.shape}."
            )
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_):
            raise ValueError(f"{where}: expected numeric, found dtype {X.dtype}.")
        return X
    raise TypeError(
        f"{where}: expected an AnnData, a numpy array or a scipy sparse matrix, "
        f"found {type(X).__name__}."
    )


def name_indexer(
    ref: pd.Index, other: pd.Index, *, what: str, ref_name: str, other_name: str
) -> np.ndarray | None:
    """Positions in ``other`` of ``ref``'s names; ``None`` when already in the same order."""
    if len(ref) == len(other) and ref.equals(other):
        return None
    missing = ref.difference(other)
    extra = other.difference(ref)
    if len(missing) or len(extra) or len(ref) != len(other):
        example = list(missing[:3]) or list(extra[:3])
        raise ValueError(
            f"{ref_name}, {other_name}: expected the same {what}, "
            f"found {len(missing)} of {ref_name}'s missing from {other_name} and "
            f"{len(extra)} of {other_name}'s missing from {ref_name} (e.g. {example}). "
            "Subset both to the shared names, or pass arrays to compare by position."
        )
    if not (ref.is_unique and other.is_unique):
        raise ValueError(
            f"{ref_name}, {other_name}: expected unique {what} to align them, found repeated "
            "names listed in a different order; call `.obs_names_make_unique()` "
            "/ `.var_names_make_unique()` or pass arrays in matching order."
        )
    return other.get_indexer(ref)


def take(X: Matrix, *, rows: np.ndarray | None = None, cols: np.ndarray | None = None) -> Matrix:
    """Rows and/or columns of ``X`` by position (a new matrix; ``X`` itself when neither)."""
    if rows is None and cols is None:
        return X
    if sparse.issparse(X):
        X = sparse.csr_matrix(X)
        if rows is not None:
            X = X[rows]
        if cols is not None:
            X = X[:, cols]
        return X
    if rows is not None and cols is not None:
        return X[np.ix_(rows, cols)]
    if rows is not None:
        return X[rows]
    return X[:, cols]


def align_pair(
    pred: Any,
    truth: Any,
    *,
    pred_name: str = "pred",
    truth_name: str = "truth",
    pred_layer: str | None = None,
    truth_layer: str | None = None,
) -> tuple[Matrix, Matrix]:
    """Return the matrices of ``pred`` and ``truth``, cell- and feature-aligned and validated.

    When both are AnnData, ``truth`` is reordered to ``pred``'s ``obs_names`` and
    ``var_names`` (a copy of ``truth``); differing name sets are refused. Otherwise the
    shapes must match and rows/columns are compared by position. Both must be finite.
    """
    p = as_table(pred, name=pred_name, layer=pred_layer)
    t = as_table(truth, name=truth_name, layer=truth_layer)
    X_truth = t.X
    if p.obs_names is not None and t.obs_names is not None:
        rows = name_indexer(
            p.obs_names, t.obs_names, what="obs_names", ref_name=pred_name, other_name=truth_name
        )
        cols = name_indexer(
            p.var_names, t.var_names, what="var_names", ref_name=pred_name, other_name=truth_name
        )
        X_truth = take(X_truth, rows=rows, cols=cols)
    if p.X.shape != X_truth.shape:
        raise ValueError(
            f"{pred_name}, {truth_name}: expected the same shape (cells × features), "
            f"found {tuple(p.X.shape)} and {tuple(X_truth.shape)}."
        )
    n_obs, n_vars = p.X.shape
    if n_obs == 0 or n_vars == 0:
        raise ValueError(
            f"{pred_name}: expected at least one cell and one feature, found shape "
            f"{tuple(p.X.shape)}."
        )
    check_finite(p.X, name=pred_name)
    check_finite(X_truth, name=truth_name)
    return p.X, X_truth


def check_finite(X: Matrix, *, name: str) -> None:
    """Raise a ValueError when ``X`` holds NaN or infinite values (checked block by block)."""
    n_nan = 0
    n_inf = 0
    if sparse.issparse(X):
        data = X.tocsr().data if X.format not in ("csr", "csc", "coo") else X.data
        if np.issubdtype(data.dtype, np.floating):
            n_nan = int(np.isnan(data).sum())
            n_inf = int(np.isinf(data).sum())
    elif np.issubdtype(X.dtype, np.floating):
        step = max(1, BLOCK_ENTRIES // max(1, X.shape[1]))
        for start in range(0, X.shape[0], step):
            block = X[start : start + step]
            n_nan += int(np.isnan(block).sum())
            n_inf += int(np.isinf(block).sum())
    if n_nan or n_inf:
        raise ValueError(
            f"{name}: expected finite values, found {n_nan} NaN and {n_inf} infinite values."
        )


def row_blocks(X: Matrix, *, dtype: Any = np.float64) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(rows, dense block)`` over ``X``, about :data:`BLOCK_ENTRIES` entries each."""
    yield from _blocks(X, axis=0, dtype=dtype)


def col_blocks(X: Matrix, *, dtype: Any = np.float64) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(columns, dense block transposed)``: each block is features × cells."""
    for cols, block in _blocks(X, axis=1, dtype=dtype):
        yield cols, np.ascontiguousarray(block.T)


def _blocks(X: Matrix, *, axis: int, dtype: Any) -> Iterator[tuple[slice, np.ndarray]]:
    """Dense slices of ``X`` along ``axis`` (0 rows, 1 columns), about
    :data:`BLOCK_ENTRIES` entries each (CSR for rows, CSC for columns).
    """
    if sparse.issparse(X):
        X = sparse.csr_matrix(X) if axis == 0 else sparse.csc_matrix(X)
    n, other = X.shape[axis], X.shape[1 - axis]
    step = max(1, BLOCK_ENTRIES // max(1, other))
    for start in range(0, n, step):
        part = slice(start, min(start + step, n))
        yield part, dense(X[part] if axis == 0 else X[:, part], dtype=dtype)


def dense(X: Matrix, *, dtype: Any = np.float64) -> np.ndarray:
    """Return a dense copy of a (small) matrix in ``dtype`` (``None``: keep the dtype)."""
    if sparse.issparse(X):
        out = X.toarray()
        return out if dtype is None else out.astype(dtype, copy=False)
    return np.array(X, dtype=dtype, copy=True)


def summary(values: np.ndarray) -> tuple[float, float, int]:
    """``(mean, median, n_undefined)`` of the non-NaN ``values`` (NaN when none is defined)."""
    defined = values[~np.isnan(values)]
    n_undefined = int(values.size - defined.size)
    if defined.size == 0:
        return float("nan"), float("nan"), n_undefined
    return float(defined.mean()), float(np.median(defined)), n_undefined


def labels_of(values: Any, *, name: str) -> np.ndarray:
    """Return labels as a 1-D object array; refuse missing values (NaN/None)."""
    # dtype=object keeps NaN a float: a plain str array would turn it into the label "nan".
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected 1-D (one label per cell), found shape {arr.shape}.")
    n_missing = int(pd.isna(arr).sum())
    if n_missing:
        raise ValueError(
            f"{name}: expected a label for every cell, found {n_missing} missing labels "
            f"(NaN/None) of {arr.size}. Drop or fill those cells first."
        )
    return arr


def obs_labels(adata: Any, label_key: str, *, name: str) -> np.ndarray:
    """The labels in ``adata.obs[label_key]`` (``name``: the argument, e.g. ``"reference"``),
    refused unless ``adata`` is an AnnData with that column and no label is missing.
    """
    from anndata import AnnData

    if not isinstance(adata, AnnData):
        raise TypeError(
            f"{name}: expected an AnnData with labels in `.obs`, found {type(adata).__name__}."
        )
    if label_key not in adata.obs.columns:
        raise MissingKeyError(
            f"label_key: expected a column of {name}.obs ({list(adata.obs.columns)}), found "
            f"{label_key!r}."
        )
    return labels_of(adata.obs[label_key], name=f"{name}.obs[{label_key!r}]")


def summarise(out: dict, unit: str, scores: dict[str, np.ndarray]) -> None:
    """Add ``{name}_per_{unit}_mean`` / ``_median`` of each score array to ``out``, and
    ``n_{unit}s_skipped`` (units without a defined score, counted on the first).
    """
    for i, (name, values) in enumerate(scores.items()):
        mean, median, n_skipped = summary(values)
        out[f"{name}_per_{unit}_mean"] = mean
        out[f"{name}_per_{unit}_median"] = median
        if i == 0:
            out[f"n_{unit}s_skipped"] = n_skipped
