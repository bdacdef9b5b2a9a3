"""Protein (ADT) preprocessing: Seurat-style centred log-ratio per cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from .._constants import PP_UNS_KEY
from .._validation import check_matrix, counts_hint, get_matrix, matrix_name
from ._mudata import on_modality
from ._sparse import make_actual, row_ids, select_columns, to_csr

__all__ = ["apply_adt", "preprocess_adt"]


def clr(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """Seurat-style CLR of each row of a canonical CSR count matrix (float32 result).

    ``log1p(x / exp(sum(log1p(x[x > 0])) / n_features))``; zeros stay zero.
    """
    n_features = counts.shape[1]
    logged = np.log1p(counts.data.astype(np.float64))
    log_sums = np.bincount(row_ids(counts), weights=logged, minlength=counts.shape[0])
    geo = np.exp(log_sums / n_features)
    out = counts.copy()
    out.data = np.log1p(counts.data.astype(np.float64) / geo[row_ids(counts)]).astype(np.float32)
    return out


@on_modality
def preprocess_adt(
    adata: AnnData,
    *,
    layer: str | None = None,
    copy: bool = False,
) -> AnnData | None:
    """Preprocess raw protein (ADT) counts with a centred log-ratio per cell.

    Seurat's ``NormalizeData(normalization.method = "CLR", margin = 2)``, as used by the
    original scButterfly: for each cell with counts ``x`` over ``n`` proteins,

    ``CLR(x) = log1p(x / exp(sum(log1p(x[x > 0])) / n))``.

    The geometric-mean-like denominator averages ``log1p`` over **all** ``n`` proteins (zeros
    contribute ``log1p(0) = 0``), and a zero count maps to ``log1p(0) = 0``: zeros stay zero,
    so the result has exactly the sparsity pattern of the counts and is never densified. A cell
    with no counts stays all zero.

    Parameters
    ----------
    adata
        Cells × proteins, with raw (integer) counts in ``adata.X`` or ``adata.layers[layer]``.
    layer
        Layer holding the raw counts; ``None`` for ``adata.X``.
    copy
        Return a preprocessed copy instead of modifying ``adata``.

    Returns
    -------
    ``None`` if ``copy=False``, else a new :class:`~anndata.AnnData`. Writes:

    - ``layers["counts"]``: the raw counts (CSR, float32),
    - ``X``: the CLR values (CSR, float32, non-negative),
    - ``uns["butterflyvi_preprocessing"]``: ``{"kind": "protein", "method": "clr",
      "source_layer": str}`` with ``source_layer`` the layer name or ``"X"``.

    Raises
    ------
    ValueError
        On an empty matrix, NaN/Inf, negative or non-integer values. ``adata`` is left
        unchanged.

    """
    X = get_matrix(adata, layer)
    check_matrix(X, name=matrix_name(layer), require_counts=True, hint=counts_hint(adata, layer))
    counts = to_csr(X)
    transformed = clr(counts)

    if copy:
        adata = adata.copy()
    make_actual(adata)
    adata.layers["counts"] = counts
    adata.X = transformed
    adata.uns[PP_UNS_KEY] = {
        "kind": "protein",
        "method": "clr",
        "source_layer": "X" if layer is None else str(layer),
    }
    return adata if copy else None


def apply_adt(
    counts: sparse.csr_matrix, source: pd.Index, var: pd.DataFrame, state: dict
) -> tuple[sparse.csr_matrix, sparse.csr_matrix, dict]:
    """Re-apply the protein preprocessing (CLR over ``var``'s proteins) to new cells."""
    if str(state["method"]) != "clr":
        raise ValueError(f"state['method']: expected 'clr', found {state['method']!r}.")
    selected, _ = select_columns(counts, source, var.index)
    return clr(selected), selected, {}
