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


class CsrRowsWriter:
    """Rows of a CSR ``X`` (and of CSR layers) appended to a new ``.h5ad`` file; ``finish``
    adds obs, var, uns.

    The file is written under a temporary name and renamed when complete, so an interrupted
    translation never leaves a file that looks whole.
    """

    def __init__(self, path: str | Path, n_cols: int):
        self.path = Path(path)
        self.partial = self.path.with_name(f".{self.path.name}.partial")
        self.file = h5py.File(self.partial, "w")
        self.file.attrs["encoding-type"] = "anndata"
        self.file.attrs["encoding-version"] = "0.1.0"
        self.n_cols = n_cols
        self.x = _CsrRows(self.file.create_group("X"), n_cols)
        self.layers: dict[str, _CsrRows] = {}

    @property
    def n_rows(self) -> int:
        return self.x.n_rows

    def append(self, block: sp.csr_matrix) -> None:
        """Append the rows of one CSR block to ``X``."""
        self.x.append(block)

    def layer(self, name: str) -> _CsrRows:
        """A CSR layer of the same shape, filled by its own ``append``."""
        if "layers" not in self.file:
            group = self.file.create_group("layers")
            group.attrs["encoding-type"] = "dict"
            group.attrs["encoding-version"] = "0.1.0"
        self.layers[name] = _CsrRows(self.file["layers"].create_group(name), self.n_cols)
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
