"""Accessibility (ATAC) translation metrics: AUROC and AUPR against binarised truth."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from ._inputs import Layer, Matrix, Scores, align_pair, col_blocks, row_blocks, summarise
from ._ranking import global_auroc_ap, rowwise_auroc_ap


def accessibility(
    pred: Any, truth: Any, *, pred_layer: Layer = None, truth_layer: Layer = None
) -> Scores:
    r"""AUROC and AUPR of predicted accessibility against the binarised measured profile.

    The truth is binarised as :math:`y_{ij} = [x_{ij} > 0]` (counts, binary or TF-IDF values
    alike); the prediction :math:`s_{ij}` is any real score (probabilities, TF-IDF scale).
    With :math:`P` positives and :math:`N` negatives in a set of entries,

    .. math::

        \mathrm{AUROC} = \frac{1}{PN}\sum_{i:y_i=1}\Big(\#\{j:y_j=0,\,s_j<s_i\}
            + \tfrac12\,\#\{j:y_j=0,\,s_j=s_i\}\Big),\qquad
        \mathrm{AUPR} = \sum_t (R_t - R_{t-1})\,P_t,

    the latter being scikit-learn's average precision (precision :math:`P_t` and recall
    :math:`R_t` of the rule :math:`s \ge t` over the distinct thresholds :math:`t`). Both are
    exact, with ties handled as :func:`sklearn.metrics.roc_auc_score` and
    :func:`sklearn.metrics.average_precision_score` do. They are computed

    - over all entries of the cells × peaks matrix (``auroc``, ``aupr``);
    - per cell, across peaks (``*_per_cell_*``);
    - per peak, across cells (``*_per_peak_*``).

    A cell or peak whose truth holds a single class has no AUROC/AUPR: it is skipped and
    counted in ``n_cells_skipped`` / ``n_peaks_skipped``. A prediction that is the same for
    every cell (e.g. :func:`baseline_mean`) has per-peak AUROC 0.5.

    Parameters
    ----------
    pred
        Predicted accessibility, cells × peaks: AnnData, numpy array or scipy sparse matrix.
    truth
        Measured accessibility, same cells and peaks. When ``pred`` and ``truth`` are both
        AnnData, ``truth`` is aligned to ``pred`` by ``obs_names`` and ``var_names``
        (differing names are refused); otherwise rows and columns match by position.
    pred_layer, truth_layer
        Layers to use instead of ``X`` (AnnData only).

    Returns
    -------
    dict
        ``auroc``, ``aupr`` (all entries); ``rmse`` of the score against the binarised truth
        (the NeurIPS 2021 competition's GEX→ATAC metric; meaningful for probabilities);
        ``auroc_per_cell_mean``/``_median``,
        ``aupr_per_cell_mean``/``_median``, ``n_cells_skipped``; ``auroc_per_peak_mean``/
        ``_median``, ``aupr_per_peak_mean``/``_median``, ``n_peaks_skipped``; ``n_cells``,
        ``n_peaks``, and ``positive_fraction`` :math:`P/(P+N)` (the AUPR of a random score).
        Means and medians are over the defined values (NaN when none is).

    Raises
    ------
    ValueError
        On mismatched shapes or names, NaN/infinite values, or a truth without both open
        and closed entries.

    Notes
    -----
    Memory: per-cell and per-peak values are computed on dense blocks of about 2^20 entries
    (a few such blocks at a time, tens of MB); for the per-peak pass a sparse input is
    converted once to CSC (a copy of its non-zeros). The all-entries values sort one copy of
    the stored predictions (for a dense prediction, all ``n_cells × n_peaks`` values in their
    own dtype, e.g. 0.4 GB per 10^8 float32 entries; for a sparse prediction only its
    non-zeros, the implicit zeros being counted) and keep the scores of the truth's open
    entries; no argsort and no label array over all entries is built. Time: about 10 s per
    5·10^7 entries on two CPU cores, dominated by row-wise sorts.

    """
    X_pred, X_truth = align_pair(pred, truth, pred_layer=pred_layer, truth_layer=truth_layer)
    n_cells, n_peaks = X_pred.shape

    # Per cell (row blocks), collecting the scores of the truth's positives as we go.
    cell_auroc = np.empty(n_cells)
    cell_ap = np.empty(n_cells)
    positive_scores = []
    squared_error = 0.0
    truth_blocks = row_blocks(X_truth, dtype=None)
    for (rows, s_block), (_, t_block) in zip(
        row_blocks(X_pred, dtype=None), truth_blocks, strict=True
    ):
        y_block = t_block > 0
        positive_scores.append(s_block[y_block])
        squared_error += float(np.sum((s_block.astype(np.float64) - y_block) ** 2))
        cell_auroc[rows], cell_ap[rows] = rowwise_auroc_ap(s_block, y_block)

    # All entries.
    sorted_scores, n_implicit = _sorted_scores(X_pred)
    auroc, aupr = global_auroc_ap(
        sorted_scores,
        n_implicit,
        np.concatenate(positive_scores).astype(sorted_scores.dtype, copy=False),
    )
    del sorted_scores
    if np.isnan(auroc):
        n_pos = sum(int(p.size) for p in positive_scores)
        raise ValueError(
            "truth: expected both open (> 0) and closed entries to compute AUROC/AUPR, "
            f"found {n_pos} open of {n_cells * n_peaks}."
        )
    positive_fraction = sum(int(p.size) for p in positive_scores) / (n_cells * n_peaks)
    del positive_scores

    # Per peak (column blocks, transposed to peaks × cells).
    peak_auroc = np.empty(n_peaks)
    peak_ap = np.empty(n_peaks)
    for (cols, s_block), (_, t_block) in zip(
        col_blocks(X_pred, dtype=None), col_blocks(X_truth, dtype=None), strict=True
    ):
        peak_auroc[cols], peak_ap[cols] = rowwise_auroc_ap(s_block, t_block > 0)

    out: dict[str, float | int] = {"auroc": auroc, "aupr": aupr}
    out["rmse"] = float(np.sqrt(squared_error / (n_cells * n_peaks)))
    summarise(out, "cell", {"auroc": cell_auroc, "aupr": cell_ap})
    summarise(out, "peak", {"auroc": peak_auroc, "aupr": peak_ap})
    out.update(
        n_cells=int(n_cells), n_peaks=int(n_peaks), positive_fraction=float(positive_fraction)
    )
    return out


def _sorted_scores(X: Matrix) -> tuple[np.ndarray, int]:
    """Sorted copy of the stored scores and the number of implicit zeros."""
    if sparse.issparse(X):
        X = sparse.csr_matrix(X)
        if not X.has_canonical_format:  # duplicate entries would count twice
            X = X.copy()
            X.sum_duplicates()
        data = np.sort(X.data)
        return data, int(X.shape[0] * X.shape[1] - data.size)
    flat = X.reshape(-1)
    if np.shares_memory(flat, X):
        flat = flat.copy()
    flat.sort()
    return flat, 0
