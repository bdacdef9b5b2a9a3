"""Bringing the data of one modality into the model's feature space, minibatch by minibatch."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .._constants import PP_UNS_KEY


def looks_like_counts(matrix, *, max_values: int = 100_000, max_rows: int = 1000) -> bool:
    """Whether the (first ``max_values``) stored values are non-negative integers.

    An on-disk matrix (of an AnnData opened backed) is judged on its first ``max_rows`` rows.
    """
    if not (sp.issparse(matrix) or isinstance(matrix, np.ndarray)):
        matrix = matrix[: min(matrix.shape[0], max_rows)]
    values = matrix.data if sp.issparse(matrix) else np.asarray(matrix).ravel()
    values = np.asarray(values[:max_values])
    if values.size == 0:
        return False
    return bool(np.all(values >= 0) and np.all(np.mod(values, 1) == 0))


def align_features(matrix, var_names: pd.Index, reference: pd.Index, *, missing: str, what: str):
    """Columns of ``matrix`` reordered to ``reference``; missing ones refused or zero-filled.

    Returns a CSR matrix (or the input untouched when the features already match).
    """
    if missing not in ("error", "zero"):
        raise ValueError(f"missing: expected 'error' or 'zero', found {missing!r}.")
    if var_names.equals(reference):
        return matrix
    if not var_names.is_unique:
        duplicated = var_names[var_names.duplicated()].unique()
        raise ValueError(
            f"{what}: var_names must be unique to match features by name, found "
            f"{len(duplicated)} repeated (e.g. {list(map(str, duplicated[:5]))}); make them "
            "unique first, e.g. with `var_names_make_unique()`."
        )
    position = var_names.get_indexer(reference)
    absent = position < 0
    if absent.any():
        examples = ", ".join(map(str, reference[absent][:5]))
        message = (
            f"{what}: {int(absent.sum())} of the model's {len(reference)} features are missing "
            f"from the data (e.g. {examples})."
        )
        if missing == "error":
            raise ValueError(
                message + " Pass missing='zero' to fill them with zeros (this lowers accuracy)."
            )
        warnings.warn(message + " They are filled with zeros.", UserWarning, stacklevel=3)
    csr = sp.csr_matrix(matrix) if not sp.issparse(matrix) else matrix.tocsr()
    # Select present columns, then place them at their reference positions.
    present = np.flatnonzero(~absent)
    selected = csr[:, position[present]].tocoo()
    return sp.csr_matrix(
        (selected.data, (selected.row, present[selected.col])),
        shape=(csr.shape[0], len(reference)),
        dtype=np.float32,
    )


def wants_preprocessing(adata: AnnData, matrix, preprocess: bool | str, has_state: bool) -> bool:
    """Decide whether the stored preprocessing must be applied to ``adata``.

    ``"auto"``: apply it when the model stores a fitted preprocessing, the data carries none
    of its own (no ``uns['butterflyvi_preprocessing']``) and its values are raw counts.
    """
    if preprocess == "auto":
        return has_state and PP_UNS_KEY not in adata.uns and looks_like_counts(matrix)
    if not isinstance(preprocess, bool):
        raise ValueError(f"preprocess: expected True, False or 'auto', found {preprocess!r}.")
    if preprocess and not has_state:
        raise ValueError(
            "preprocess: the model stores no fitted preprocessing for this modality (it was "
            "trained on data not prepared with butterflyvi.pp); preprocess the data yourself."
        )
    return preprocess


def iterate_rows(matrix, batch_size: int) -> Iterator[np.ndarray]:
    """Dense float32 row blocks of ``matrix`` (only one block is dense at a time)."""
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int | np.integer)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size: expected a positive integer, found {batch_size!r}.")
    n = matrix.shape[0]
    for start in range(0, n, batch_size):
        block = matrix[start : start + batch_size]
        block = block.toarray() if sp.issparse(block) else np.asarray(block)
        yield block.astype(np.float32, copy=False)


class RowBlocks:
    """The rows of an on-disk (backed) AnnData in the model's feature space, block by block.

    ``blocks[start:stop]`` reads only those rows from disk (``adata[start:stop].to_memory()``)
    and returns ``transform`` of that in-memory AnnData, so resident memory stays at one block
    whatever the number of cells. Every step of the transform (preprocessing, feature
    alignment, checks) works row by row, so the blocks equal the rows of the whole.

    Parameters
    ----------
    adata
        AnnData opened backed (``adata.isbacked``), e.g. a modality of
        ``mudata.read_h5mu(path, backed=True)``.
    transform
        Maps an in-memory row block (AnnData) to its matrix in the model's feature space.
    n_features
        Number of columns ``transform`` returns.
    """

    def __init__(self, adata: AnnData, transform: Callable[[AnnData], object], n_features: int):
        self.adata = adata
        self.transform = transform
        self.shape = (adata.n_obs, int(n_features))

    def __getitem__(self, rows: slice):
        """The transformed rows ``rows`` (a slice)."""
        if not isinstance(rows, slice):
            raise TypeError(f"rows: expected a slice, found {type(rows).__name__}.")
        return self.transform(self.adata[rows].to_memory())


def reference_var(info: Mapping) -> pd.DataFrame:
    """The stored feature table of one modality as a DataFrame indexed by feature name."""
    var = pd.DataFrame(index=pd.Index(info["var_names"], name=None))
    for column, values in info.get("columns", {}).items():
        var[column] = values
    return var
