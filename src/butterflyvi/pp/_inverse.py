"""Post-processing of accessibility predictions: invert the scaled TF-IDF, binarise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from anndata import AnnData
from scipy import sparse

from .._validation import check_matrix, check_state
from ._atac import reference_idf
from ._sparse import row_ids, to_csr
from ._states import STATE_KEYS

__all__ = ["binarize_recovered", "estimate_totals", "inverse_tfidf", "recover_atac_counts"]


def _vector(values: Any, *, name: str, length: int, positive: bool) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.shape[0] != length:
        raise ValueError(f"{name}: expected {length:,} values, found {arr.shape[0]:,}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite values, found NaN or infinite ones.")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name}: expected positive values, found {arr[arr <= 0][0]}.")
    if not positive and np.any(arr < 0):
        raise ValueError(f"{name}: expected non-negative values, found {arr[arr < 0][0]}.")
    return arr


def inverse_tfidf(
    X: Any,
    *,
    idf: npt.ArrayLike,
    scale: float,
    totals: npt.ArrayLike,
) -> sparse.csr_matrix:
    """Invert the scaled TF-IDF of :func:`preprocess_atac`.

    ``counts[i, j] = X[i, j] × scale / idf[j] × totals[i]``. Applied to the scaled TF-IDF of
    the training cells with ``totals = obs["n_open_peaks"]``, this gives back their binarised
    peak matrix. Zeros stay zero; nothing is densified.

    Parameters
    ----------
    X
        Cells × peaks scaled TF-IDF values (sparse or dense), e.g. a prediction.
    idf
        Per-peak IDF (``var["idf"]`` of the reference), one value per column of ``X``.
    scale
        The scale ``S`` (``uns["butterflyvi_preprocessing"]["scale"]``).
    totals
        Per-cell number of open peaks (TF denominator), one value per row of ``X``.

    Returns
    -------
    The recovered matrix, CSR float32.

    """
    check_matrix(X, name="X", allow_empty=True)
    n_cells, n_peaks = X.shape
    idf_v = _vector(idf, name="idf", length=n_peaks, positive=True)
    totals_v = _vector(totals, name="totals", length=n_cells, positive=False)
    scale_v = float(scale)
    if not np.isfinite(scale_v) or scale_v <= 0:
        raise ValueError(f"scale: expected a positive number, found {scale!r}.")
    out = to_csr(X, dtype=np.float64)
    out.data *= scale_v
    out.data /= idf_v[out.indices]
    out.data *= totals_v[row_ids(out)]
    out = out.astype(np.float32)
    out.eliminate_zeros()
    return out


def binarize_recovered(X: Any) -> sparse.csr_matrix:
    """Binarise recovered accessibility: 1 where an entry exceeds its row and column means.

    Means are over all entries, zeros included. An entry becomes 1 if it is strictly greater
    than both its row mean and its column mean, else 0. ``X`` must be non-negative, so that
    means are non-negative and zero entries always stay 0 (the result is as sparse as ``X``
    or sparser).

    Parameters
    ----------
    X
        Non-negative cells × peaks matrix (sparse or dense), e.g. from :func:`inverse_tfidf`.

    Returns
    -------
    The binary matrix, CSR float32.

    """
    check_matrix(X, name="X", allow_empty=True)
    mat = to_csr(X, dtype=np.float64)
    if mat.nnz and mat.data.min() < 0:
        raise ValueError(
            f"X: expected non-negative values, found {int((mat.data < 0).sum()):,} negative."
        )
    n_cells, n_peaks = mat.shape
    if mat.nnz == 0:
        return sparse.csr_matrix(mat.shape, dtype=np.float32)
    row_mean = np.asarray(mat.sum(axis=1)).ravel() / n_peaks
    col_mean = np.asarray(mat.sum(axis=0)).ravel() / n_cells
    keep = (mat.data > row_mean[row_ids(mat)]) & (mat.data > col_mean[mat.indices])
    mat.data = keep.astype(np.float32)
    out = mat.astype(np.float32)
    out.eliminate_zeros()
    return out


def estimate_totals(X: Any, *, idf: npt.ArrayLike, scale: float) -> np.ndarray:
    """Estimate each cell's number of open peaks from its scaled TF-IDF profile.

    With ``t = X × scale / idf`` the cell's term frequencies, the estimate is the effective
    number of open peaks ``(sum t)² / sum t²`` (inverse Simpson index). For an exact TF-IDF
    profile (``t = 1 / k`` on ``k`` open peaks) this is exactly ``k``; for a smooth prediction
    it counts the peaks carrying its mass. Cells with no signal get 0.

    Parameters
    ----------
    X
        Cells × peaks scaled TF-IDF values (non-negative).
    idf
        Per-peak IDF, one value per column.
    scale
        The scale ``S`` of the fitted state.

    Returns
    -------
    One float64 value per cell.

    """
    tf = inverse_tfidf(X, idf=idf, scale=scale, totals=np.ones(X.shape[0])).astype(np.float64)
    s1 = np.asarray(tf.sum(axis=1)).ravel()
    s2 = np.asarray(tf.multiply(tf).sum(axis=1)).ravel()
    out = np.zeros_like(s1)
    ok = s2 > 0
    out[ok] = s1[ok] ** 2 / s2[ok]
    return out


def recover_atac_counts(
    pred: AnnData,
    *,
    state: Mapping[str, Any],
    var: pd.DataFrame,
    totals: npt.ArrayLike | None = None,
    binarize: bool = True,
) -> sparse.csr_matrix:
    """Recover (binarised) peak counts from predicted scaled TF-IDF values.

    Inverts the scaling and the TF-IDF with :func:`inverse_tfidf`, then (``binarize=True``)
    binarises with :func:`binarize_recovered`, as in scButterfly's post-processing.

    The inversion needs each cell's number of open peaks. A cell translated from another
    modality (e.g. RNA) has no measured ATAC total, so unless ``totals`` is given or ``pred``
    carries ``obs["n_open_peaks"]``, the total is estimated from the prediction itself with
    :func:`estimate_totals` (effective number of open peaks of the predicted profile). The
    binarisation compares each entry with its row and column means, so rescaling a cell
    changes only the column-mean comparisons.

    Parameters
    ----------
    pred
        Cells × peaks AnnData of predicted scaled TF-IDF values in ``X`` (non-negative); its
        peaks must be among ``var.index`` (any order).
    state
        The fitted accessibility state, ``reference.uns["butterflyvi_preprocessing"]``.
    var
        The reference peaks, ``reference.var`` (with ``idf``).
    totals
        Per-cell open-peak totals. ``None``: ``pred.obs["n_open_peaks"]`` if present, else
        estimated from ``pred.X``.
    binarize
        Binarise the recovered values (default) or return them as they are.

    Returns
    -------
    The recovered matrix (CSR float32, binary if ``binarize``), with ``pred``'s cells and
    peaks in ``pred``'s order, e.g. to store as ``pred.layers["recovered_counts"]``.

    """
    check_state(state, required=STATE_KEYS, kind="accessibility")
    if not isinstance(pred, AnnData):
        raise ValueError(f"pred: expected an AnnData, found {type(pred).__name__}.")
    unknown = ~pd.Index(pred.var_names).isin(var.index)
    if unknown.any():
        raise ValueError(
            f"pred: {int(unknown.sum()):,} of its {pred.n_vars:,} peaks are not in the "
            f"reference `var` (e.g. {list(pred.var_names[unknown][:5])})."
        )
    idf = reference_idf(var.loc[pred.var_names])
    scale = float(state["scale"])
    if totals is None:
        if "n_open_peaks" in pred.obs.columns:
            totals_v = pred.obs["n_open_peaks"].to_numpy(dtype=np.float64)
        else:
            totals_v = estimate_totals(pred.X, idf=idf, scale=scale)
    else:
        totals_v = np.asarray(totals, dtype=np.float64).reshape(-1)
    recovered = inverse_tfidf(pred.X, idf=idf, scale=scale, totals=totals_v)
    if binarize:
        recovered = binarize_recovered(recovered)
    return recovered
