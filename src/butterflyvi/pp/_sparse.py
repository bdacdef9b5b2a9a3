"""Sparse helpers shared by the fit and the re-apply paths (one code path: identical values)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse


def to_csr(X: Any, *, dtype: type = np.float32) -> sparse.csr_matrix:
    """Return a canonical CSR copy of ``X`` (never a view sharing memory with the input).

    Duplicate entries are summed, explicit zeros are dropped, indices are sorted.
    """
    if sparse.issparse(X):
        out = sparse.csr_matrix(X, dtype=dtype, copy=True)
    else:
        out = sparse.csr_matrix(np.asarray(X), dtype=dtype)
    out.sum_duplicates()
    out.eliminate_zeros()
    out.sort_indices()
    return out


def is_canonical_csr(X: Any, *, dtype: type = np.float32) -> bool:
    """Whether ``X`` is already what :func:`to_csr` would make of it.

    That is a :class:`scipy.sparse.csr_matrix` of ``dtype`` with sorted, unique indices and
    no stored zero.
    """
    return (
        isinstance(X, sparse.csr_matrix)
        and X.dtype == dtype
        and X.has_canonical_format
        and not np.any(X.data == 0)
    )


def row_ids(X: sparse.csr_matrix) -> np.ndarray:
    """Row index of each stored entry of a CSR matrix."""
    return np.repeat(np.arange(X.shape[0], dtype=np.int64), np.diff(X.indptr))


def row_sums(X: sparse.csr_matrix) -> np.ndarray:
    """Row sums as float64 (exact for integer counts)."""
    return np.asarray(X.sum(axis=1, dtype=np.float64)).ravel()


def binarize(X: sparse.csr_matrix) -> sparse.csr_matrix:
    """Binarise a canonical CSR count matrix (entries > 0 become 1, float32)."""
    out = X.copy()
    out.data = (out.data > 0).astype(np.float32)
    out.eliminate_zeros()
    return out


def select_columns(
    X: sparse.csr_matrix, source: pd.Index, target: pd.Index
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Columns of ``X`` (named ``source``) reordered as ``target``; absent names give zeros.

    Returns the CSR matrix and the boolean mask of ``target`` names absent from ``source``.
    """
    idx = source.get_indexer(target)
    missing = idx < 0
    present = np.flatnonzero(~missing)
    selector = sparse.csr_matrix(
        (np.ones(present.size, dtype=X.dtype), (idx[present], present)),
        shape=(X.shape[1], len(target)),
    )
    out = sparse.csr_matrix(X @ selector)
    out.sort_indices()
    return out, missing


def make_actual(adata: AnnData) -> None:
    """Turn a view into an actual AnnData in place (like scanpy's ``view_to_actual``)."""
    if adata.is_view:
        adata._init_as_actual(adata.copy())


def warn_empty_cells(n_empty: int, n_cells: int, what: str) -> None:
    """Warn that ``n_empty`` cells have no signal (they stay all-zero)."""
    if n_empty:
        warnings.warn(
            f"{n_empty:,} of {n_cells:,} cells have {what}; their rows stay all zero.",
            UserWarning,
            stacklevel=3,
        )
