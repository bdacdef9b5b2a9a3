"""Grow a CSR matrix row block by row block without holding a dense copy."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class CSRBuilder:
    """Append row blocks (``indices``, ``data``, ``nnz per row``) into preallocated arrays.

    Parameters
    ----------
    n_cols
        Number of columns of the final matrix.
    capacity
        Expected number of stored entries; the arrays grow (in place where the allocator
        allows) when it is exceeded and are trimmed in `finish`.
    dtype
        dtype of the stored values.

    """

    def __init__(self, *, n_cols: int, capacity: int, dtype: np.dtype | type = np.float32) -> None:
        capacity = max(int(capacity), 1)
        self.n_cols = n_cols
        self.indices = np.empty(capacity, dtype=np.int32 if n_cols < 2**31 else np.int64)
        self.data = np.empty(capacity, dtype=dtype)
        self.row_nnz: list[np.ndarray] = []
        self.nnz = 0

    def append(self, indices: np.ndarray, data: np.ndarray, row_nnz: np.ndarray) -> None:
        """Append rows given by their column indices and values, row after row."""
        end = self.nnz + len(indices)
        if end > len(self.indices):
            new_size = max(end, int(len(self.indices) * 1.5))
            self.indices.resize(new_size, refcheck=False)
            self.data.resize(new_size, refcheck=False)
        self.indices[self.nnz : end] = indices
        self.data[self.nnz : end] = data
        self.row_nnz.append(np.asarray(row_nnz, dtype=np.int64))
        self.nnz = end

    def append_csr(self, block: sp.csr_matrix) -> None:
        """Append the rows of a CSR block."""
        self.append(block.indices, block.data, np.diff(block.indptr))

    def finish(self) -> sp.csr_matrix:
        """Return the CSR matrix; the builder must not be used afterwards."""
        self.indices.resize(self.nnz, refcheck=False)
        self.data.resize(self.nnz, refcheck=False)
        counts = np.concatenate(self.row_nnz) if self.row_nnz else np.zeros(0, dtype=np.int64)
        index_dtype = np.int32 if self.nnz < 2**31 and self.n_cols < 2**31 else np.int64
        indptr = np.zeros(len(counts) + 1, dtype=index_dtype)
        np.cumsum(counts, out=indptr[1:])
        matrix = sp.csr_matrix(
            (self.data, self.indices.astype(index_dtype, copy=False), indptr),
            shape=(len(counts), self.n_cols),
            copy=False,
        )
        matrix.has_sorted_indices = True
        return matrix
