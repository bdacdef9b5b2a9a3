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


class CsrRowsWriter:
    """Rows of a CSR ``X`` appended to a new ``.h5ad`` file; ``finish`` adds obs, var, uns.

    The file is written under a temporary name and renamed when complete, so an interrupted
    translation never leaves a file that looks whole.
    """

    def __init__(self, path: str | Path, n_cols: int):
        self.path = Path(path)
        self.partial = self.path.with_name(f".{self.path.name}.partial")
        self.file = h5py.File(self.partial, "w")
        self.file.attrs["encoding-type"] = "anndata"
        self.file.attrs["encoding-version"] = "0.1.0"
        group = self.file.create_group("X")
        group.attrs["encoding-type"] = "csr_matrix"
        group.attrs["encoding-version"] = "0.1.0"
        self.group = group
        self.data = group.create_dataset(
            "data", shape=(0,), maxshape=(None,), dtype=np.float32, chunks=(_CHUNK,)
        )
        self.indices = group.create_dataset(
            "indices", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(_CHUNK,)
        )
        self.indptr = [np.zeros(1, dtype=np.int64)]
        self.n_cols = n_cols
        self.n_rows = 0
        self.nnz = 0

    def append(self, block: sp.csr_matrix) -> None:
        """Append the rows of one CSR block."""
        n = block.nnz
        self.data.resize((self.nnz + n,))
        self.indices.resize((self.nnz + n,))
        self.data[self.nnz :] = block.data.astype(np.float32, copy=False)
        self.indices[self.nnz :] = block.indices
        self.indptr.append(block.indptr[1:].astype(np.int64) + self.nnz)
        self.nnz += n
        self.n_rows += block.shape[0]

    def finish(self, obs: pd.DataFrame, var: pd.DataFrame, uns: dict) -> Path:
        """Write the row pointers, shape, obs, var and uns; close and rename the file."""
        self.group.create_dataset("indptr", data=np.concatenate(self.indptr))
        self.group.attrs["shape"] = np.array([self.n_rows, self.n_cols])
        write_elem(self.file, "obs", obs)
        write_elem(self.file, "var", var)
        write_elem(self.file, "uns", uns)
        for key in ("obsm", "varm", "obsp", "varp", "layers"):
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
