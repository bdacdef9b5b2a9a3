"""Accessibility (scATAC-seq) preprocessing: binarise, filter peaks, TF-IDF, scale to [0, 1]."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from .._constants import PP_UNS_KEY
from .._validation import (
    check_choice,
    check_fraction,
    check_matrix,
    counts_hint,
    get_matrix,
    matrix_name,
    positive_float,
)
from ._mudata import on_modality
from ._peaks import peak_coordinates
from ._sparse import (
    binarize,
    is_canonical_csr,
    make_actual,
    select_columns,
    to_csr,
    warn_empty_cells,
)

__all__ = ["apply_atac", "preprocess_atac"]


#: Stored entries per block of rows in :func:`tfidf_scaled`: bounds its float64
#: temporaries (about 130 MB each) whatever the size of the matrix.
_TFIDF_BLOCK_ENTRIES = 1 << 24


def tfidf_scaled(
    open_peaks: sparse.csr_matrix, idf: np.ndarray, scale: float | None = None
) -> tuple[sparse.csr_matrix, np.ndarray, float]:
    """Scaled TF-IDF of the open peaks of a canonical CSR matrix.

    The stored entries of ``open_peaks`` are the open peaks (their values are not read: a
    binarised matrix and the canonical counts it came from give the same result).
    ``TF = 1 / open peaks of the row`` (rows with none stay empty), ``TF-IDF = TF × idf``;
    divided by ``scale`` (the global maximum of the TF-IDF matrix when ``None``). Returns the
    float32 CSR result (its own index arrays), the row sums and the scale.
    """
    indptr, indices = open_peaks.indptr, open_peaks.indices
    totals = np.diff(indptr).astype(np.float64)
    blocks = _row_blocks(indptr, _TFIDF_BLOCK_ENTRIES)

    def block_values(first: int, stop: int) -> np.ndarray:
        rows = np.repeat(np.arange(first, stop), np.diff(indptr[first : stop + 1]))
        values = 1.0 / totals[rows]
        values *= idf[indices[indptr[first] : indptr[stop]]]
        return values

    if scale is None:  # a first pass for the maximum: recomputing beats holding float64 values
        maxima = [block_values(*b).max() for b in blocks if indptr[b[1]] > indptr[b[0]]]
        scale = float(max(maxima)) if maxima else 1.0
    data = np.empty(open_peaks.nnz, dtype=np.float32)
    for first, stop in blocks:
        values = block_values(first, stop)
        values /= scale
        data[indptr[first] : indptr[stop]] = values
    out = sparse.csr_matrix((data, indices.copy(), indptr.copy()), shape=open_peaks.shape)
    return out, totals, scale


def _row_blocks(indptr: np.ndarray, entries: int) -> list[tuple[int, int]]:
    """Consecutive row ranges ``(first, stop)`` of about ``entries`` stored entries each."""
    n_rows = len(indptr) - 1
    blocks, first = [], 0
    while first < n_rows:
        stop = int(np.searchsorted(indptr, indptr[first] + entries, side="right")) - 1
        stop = min(max(stop, first + 1), n_rows)
        blocks.append((first, stop))
        first = stop
    return blocks


@on_modality
def preprocess_atac(
    adata: AnnData,
    *,
    min_cell_fraction: float = 0.005,
    layer: str | None = None,
    transform: Literal["tfidf", "binary"] = "tfidf",
    copy: bool = False,
) -> AnnData | None:
    """Preprocess raw peak counts as scButterfly does.

    Binarise, drop rare peaks, TF-IDF, and divide by the global maximum so that values lie in
    [0, 1]. Peaks are annotated with their coordinates. Everything stays sparse.

    With ``B`` the binarised matrix of the kept peaks (``n`` cells):

    - ``TF[i, j] = B[i, j] / sum_k B[i, k]`` (cells with no open kept peak stay 0, warned),
    - ``IDF[j] = log(1 + n / sum_i B[i, j])``,
    - ``S = max(TF × IDF)`` and ``X = TF × IDF / S``.

    Parameters
    ----------
    adata
        Cells × peaks, with raw (integer) counts in ``adata.X`` or ``adata.layers[layer]``.
        Peak names must be parseable by :func:`parse_peak_names` unless ``var`` already holds
        valid ``chrom``/``start``/``end`` columns.
    min_cell_fraction
        Peaks open in fewer than ``min_cell_fraction × n_cells`` cells are dropped (the
        threshold is ``ceil(min_cell_fraction × n_cells)`` cells); peaks open in no cell are
        always dropped.
    layer
        Layer holding the raw counts; ``None`` for ``adata.X``.
    transform
        ``"tfidf"`` (scButterfly): ``X`` is the scaled TF-IDF below. ``"binary"`` (CrossMP):
        ``X`` is the binarised matrix (the IDF is still fitted and stored, so a model can
        recover counts either way).
    copy
        Return a preprocessed copy instead of modifying ``adata``.

    Returns
    -------
    ``None`` if ``copy=False``, else a new :class:`~anndata.AnnData`. The peaks of ``adata``
    are subset in place to the kept ones (if ``adata`` is a modality of a MuData, call
    ``mdata.update()`` afterwards). Writes:

    - ``layers["counts"]``: raw counts of the kept peaks (CSR, float32),
    - ``X``: scaled TF-IDF in [0, 1] (CSR, float32),
    - ``var["idf"]`` (float64), ``var["n_cells_open"]`` (int64, cells where the peak is open),
    - ``var["chrom"]`` (str), ``var["start"]``, ``var["end"]`` (int64): see
      :func:`annotate_peaks`,
    - ``obs["n_open_peaks"]`` (int64): open kept peaks per cell, the TF denominator,
    - ``uns["butterflyvi_preprocessing"]``: ``{"kind": "accessibility", "scale": S,
      "min_cell_fraction": float, "n_cells_fit": int, "source_layer": str}`` with
      ``source_layer`` the layer name or ``"X"``; see :func:`apply_preprocessing` and
      :func:`inverse_tfidf`.

    Raises
    ------
    ValueError
        On an empty matrix, NaN/Inf, negative or non-integer values, unparseable peak names,
        or when no peak passes the filter. ``adata`` is left unchanged.

    """
    min_cell_fraction = check_fraction(min_cell_fraction, name="min_cell_fraction")
    check_choice(transform, name="transform", choices=("tfidf", "binary"))
    X = get_matrix(adata, layer)
    check_matrix(X, name=matrix_name(layer), require_counts=True, hint=counts_hint(adata, layer))
    coords = peak_coordinates(adata.var)

    n_cells = adata.n_obs
    # A canonical float32 CSR input is read as it is (no full copy: the peak memory of large
    # data); anything else is first copied into that form.
    source = X if is_canonical_csr(X) else to_csr(X)
    n_cells_open = np.bincount(source.indices, minlength=source.shape[1]).astype(np.int64)
    threshold = max(1, math.ceil(round(min_cell_fraction * n_cells, 9)))
    keep = n_cells_open >= threshold
    if not keep.any():
        raise ValueError(
            f"min_cell_fraction={min_cell_fraction}: expected at least one peak open in "
            f">= {threshold:,} of the {n_cells:,} cells, found none (the most open peak is "
            f"open in {int(n_cells_open.max()):,} cells)."
        )
    if not keep.all():
        counts = source[:, keep]
    else:
        counts = source.copy() if source is X else source
    del source
    counts.sort_indices()
    idf = np.log1p(n_cells / n_cells_open[keep].astype(np.float64))
    scaled, totals, scale = tfidf_scaled(counts, idf)
    if transform == "binary":
        scaled = binarize(counts)
    warn_empty_cells(int((totals == 0).sum()), n_cells, "no open peak among the kept peaks")

    # Everything is computed: only now touch `adata`.
    if copy:
        adata = adata.copy()
    make_actual(adata)
    for col in ("chrom", "start", "end"):
        adata.var[col] = coords[col].to_numpy()
    adata.var["n_cells_open"] = n_cells_open
    # Both are replaced below: drop them first so that the subset does not copy them.
    adata.X = None
    adata.layers.pop("counts", None)
    if not keep.all():
        adata._inplace_subset_var(keep)
    adata.X = scaled
    adata.layers["counts"] = counts
    adata.var["idf"] = idf
    adata.obs["n_open_peaks"] = totals.astype(np.int64)
    adata.uns[PP_UNS_KEY] = {
        "kind": "accessibility",
        "scale": float(scale),
        "min_cell_fraction": min_cell_fraction,
        "n_cells_fit": int(n_cells),
        "source_layer": "X" if layer is None else str(layer),
        "transform": str(transform),
    }
    return adata if copy else None


def reference_idf(var: pd.DataFrame) -> np.ndarray:
    """The ``idf`` column of a reference ``var``, validated (finite, positive)."""
    if "idf" not in var.columns:
        raise ValueError(
            "var: expected the column 'idf' written by preprocess_atac, found only "
            f"{list(var.columns)}."
        )
    idf = pd.to_numeric(var["idf"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(idf)) or np.any(idf <= 0):
        raise ValueError("var['idf']: expected finite positive values, found others.")
    return idf


def apply_atac(
    counts: sparse.csr_matrix, source: pd.Index, var: pd.DataFrame, state: dict
) -> tuple[sparse.csr_matrix, sparse.csr_matrix, dict]:
    """Re-apply a fitted accessibility state to raw counts of new cells.

    Binarise, restrict to ``var``'s peaks, ``TF = x / row sum`` over those peaks, times
    ``var["idf"]``, divided by ``state["scale"]`` (values may exceed 1 for cells unlike the
    training cells). Returns the transformed values, the counts of ``var``'s peaks and
    ``{"n_open_peaks": ...}``.
    """
    scale = positive_float(state["scale"], name="state['scale']")
    idf = reference_idf(var)
    selected, _ = select_columns(counts, source, var.index)
    binary = binarize(selected)
    transformed, totals, _ = tfidf_scaled(binary, idf, scale)
    if state.get("transform", "tfidf") == "binary":
        transformed = binary
    warn_empty_cells(int((totals == 0).sum()), counts.shape[0], "no open reference peak")
    return transformed, selected, {"n_open_peaks": totals.astype(np.int64)}
