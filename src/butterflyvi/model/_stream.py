"""Writing a translation to an ``.h5ad`` file block by block, so memory does not grow with
the number of cells.
"""

from __future__ import annotations

import os
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata.io import write_elem

_CHUNK = 1 << 20


class _CsrRows:
    """One CSR matrix of the file, grown by appending rows."""

    def __init__(self, group: h5py.Group, n_cols: int):
        group.attrs["encoding-type"] = "csr_matrix"
        group.attrs["encoding-version"] = "0.1.0"
        self.group = group
        self.data = group.create_dataset(
            "data", shape=(0,), maxshape=(None,), dtype=np.float32, chunks=(_CHUNK,)
        )
        # Column numbers: int32 wherever they fit, as anndata writes a scipy CSR matrix.
        index_dtype = np.int32 if n_cols <= np.iinfo(np.int32).max else np.int64
        self.indices = group.create_dataset(
            "indices", shape=(0,), maxshape=(None,), dtype=index_dtype, chunks=(_CHUNK,)
        )
        self.indptr = [np.zeros(1, dtype=np.int64)]
        self.n_cols = n_cols
        self.n_rows = 0
        self.nnz = 0

    def append(self, block: sp.csr_matrix) -> None:
        n = block.nnz
        self.data.resize((self.nnz + n,))
        self.indices.resize((self.nnz + n,))
        self.data[self.nnz :] = block.data.astype(np.float32, copy=False)
        self.indices[self.nnz :] = block.indices
        self.indptr.append(block.indptr[1:].astype(np.int64) + self.nnz)
        self.nnz += n
        self.n_rows += block.shape[0]

    def rows(self, start: int, stop: int) -> sp.csr_matrix:
        """Rows ``start:stop`` written so far, read back."""
        if len(self.indptr) > 1:  # joined once, not on every read of a block
            self.indptr = [np.concatenate(self.indptr)]
        indptr = self.indptr[0]
        lo, hi = int(indptr[start]), int(indptr[stop])
        return sp.csr_matrix(
            (self.data[lo:hi], self.indices[lo:hi], indptr[start : stop + 1] - lo),
            shape=(stop - start, self.n_cols),
        )

    def close(self) -> None:
        indptr = np.concatenate(self.indptr)
        if self.nnz <= np.iinfo(np.int32).max:  # int32 where it fits, as anndata
            indptr = indptr.astype(np.int32)
        self.group.create_dataset("indptr", data=indptr)
        self.group.attrs["shape"] = np.array([self.n_rows, self.n_cols])


class _DenseRows:
    """One dense float32 matrix of the file, grown by appending rows."""

    def __init__(self, parent: h5py.Group, name: str, n_cols: int):
        rows_per_chunk = max(1, min(1024, _CHUNK // max(n_cols, 1)))
        self.data = parent.create_dataset(
            name,
            shape=(0, n_cols),
            maxshape=(None, n_cols),
            dtype=np.float32,
            chunks=(rows_per_chunk, n_cols),
        )
        self.data.attrs["encoding-type"] = "array"
        self.data.attrs["encoding-version"] = "0.2.0"
        self.n_cols = n_cols
        self.n_rows = 0

    def append(self, block) -> None:
        block = block.toarray() if sp.issparse(block) else np.asarray(block)
        n = block.shape[0]
        self.data.resize((self.n_rows + n, self.n_cols))
        self.data[self.n_rows :] = block.astype(np.float32, copy=False)
        self.n_rows += n

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` written so far, read back."""
        return self.data[start:stop]

    def close(self) -> None:
        pass


class RowsWriter:
    """Rows of ``X`` (and of layers of the same layout) appended to a new ``.h5ad`` file;
    ``finish`` adds obs, var, uns. ``dense``: dense float32 matrices, else CSR.

    The file is written under a temporary name and renamed when complete, so an interrupted
    translation never leaves a file that looks whole.
    """

    def __init__(self, path: str | Path, n_cols: int, *, dense: bool = False):
        self.path = Path(path)
        self.partial = self.path.with_name(f".{self.path.name}.partial")
        self.file = h5py.File(self.partial, "w")
        self.file.attrs["encoding-type"] = "anndata"
        self.file.attrs["encoding-version"] = "0.1.0"
        self.n_cols = n_cols
        self.dense = dense
        self.x = self._matrix(self.file, "X")
        self.layers: dict[str, _CsrRows | _DenseRows] = {}

    def _matrix(self, parent: h5py.Group, name: str) -> _CsrRows | _DenseRows:
        if self.dense:
            return _DenseRows(parent, name, self.n_cols)
        return _CsrRows(parent.create_group(name), self.n_cols)

    @property
    def n_rows(self) -> int:
        return self.x.n_rows

    def append(self, block) -> None:
        """Append the rows of one block (CSR, or dense for a dense writer) to ``X``."""
        self.x.append(block)

    def layer(self, name: str) -> _CsrRows | _DenseRows:
        """A layer of the same shape and layout, filled by its own ``append``."""
        if "layers" not in self.file:
            group = self.file.create_group("layers")
            group.attrs["encoding-type"] = "dict"
            group.attrs["encoding-version"] = "0.1.0"
        self.layers[name] = self._matrix(self.file["layers"], name)
        return self.layers[name]

    def finish(self, obs: pd.DataFrame, var: pd.DataFrame, uns: dict) -> Path:
        """Write the row pointers, shape, obs, var and uns; close and rename the file."""
        for matrix in (self.x, *self.layers.values()):
            matrix.close()
        write_elem(self.file, "obs", obs)
        write_elem(self.file, "var", var)
        write_elem(self.file, "uns", uns)
        for key in ("obsm", "varm", "obsp", "varp", "layers"):
            if key not in self.file:
                write_elem(self.file, key, {})
        self.file.close()
        os.replace(self.partial, self.path)
        return self.path

    def abort(self) -> None:
        """Close and delete the partial file."""
        try:
            self.file.close()
        finally:
            self.partial.unlink(missing_ok=True)


def open_backed(path: Path) -> ad.AnnData:
    """The written translation, opened backed (rows read on demand)."""
    return ad.read_h5ad(path, backed="r")
