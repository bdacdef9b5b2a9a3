r"""Exact AUROC and average precision kernels (ties handled as scikit-learn does).

For scores :math:`s` and binary labels :math:`y` with :math:`P` positives and :math:`N`
negatives:

- AUROC is the Mann–Whitney statistic
  :math:`\frac{1}{PN}\sum_{i: y_i=1}\big(\#\{j: y_j=0, s_j<s_i\}
  + \tfrac12\#\{j: y_j=0, s_j=s_i\}\big)`, equal to the area under the ROC curve with
  ties interpolated linearly (:func:`sklearn.metrics.roc_auc_score`).
- Average precision is :math:`\mathrm{AP}=\sum_t (R_t-R_{t-1})\,P_t` over the distinct
  score thresholds :math:`t` (descending), with precision :math:`P_t = TP_t/(TP_t+FP_t)` and
  recall :math:`R_t = TP_t/P` of the rule :math:`s \ge t`
  (:func:`sklearn.metrics.average_precision_score`). Only thresholds holding a positive
  change the recall, so :math:`\mathrm{AP}=\frac1P\sum_u c_u\,TP_u/\#\{j: s_j\ge u\}`
  over the distinct positive scores :math:`u` held by :math:`c_u` positives.
"""

from __future__ import annotations

import numpy as np


def _tie_groups(s_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last position of each entry's tie group, for rows sorted along axis 1."""
    n = s_sorted.shape[1]
    positions = np.arange(n)
    differs = s_sorted[:, :-1] != s_sorted[:, 1:]
    is_start = np.ones(s_sorted.shape, dtype=bool)
    is_start[:, 1:] = differs
    is_end = np.ones(s_sorted.shape, dtype=bool)
    is_end[:, :-1] = differs
    group_start = np.maximum.accumulate(np.where(is_start, positions, 0), axis=1)
    group_end = np.where(is_end, positions, n)
    group_end = np.minimum.accumulate(group_end[:, ::-1], axis=1)[:, ::-1]
    return group_start, group_end


def rank_rows(a: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties share their mean rank) along each row of ``a``.

    Equal to ``scipy.stats.rankdata(a, axis=1, method="average")``, with one unstable
    (faster) argsort per call.
    """
    order = np.argsort(a, axis=1)
    group_start, group_end = _tie_groups(np.take_along_axis(a, order, axis=1))
    ranks = np.empty(a.shape, dtype=np.float64)
    np.put_along_axis(ranks, order, (group_start + group_end) / 2 + 1, axis=1)
    return ranks


def rowwise_auroc_ap(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and average precision of each row of a dense block.

    Parameters
    ----------
    scores
        ``(n_rows, n)`` float array (not modified).
    labels
        ``(n_rows, n)`` boolean array, the positives.

    Returns
    -------
    ``(auroc, ap)``, each of length ``n_rows``; NaN for rows whose labels hold a single class.
    The block is sorted row-wise at once (one copy); each row then goes through
    :func:`global_auroc_ap`, whose cost is dominated by its positives.

    """
    n_rows = scores.shape[0]
    auroc = np.full(n_rows, np.nan)
    ap = np.full(n_rows, np.nan)
    sorted_rows = np.sort(scores, axis=1)
    for i in range(n_rows):
        auroc[i], ap[i] = global_auroc_ap(sorted_rows[i], 0, scores[i][labels[i]])
    return auroc, ap


def global_auroc_ap(
    sorted_scores: np.ndarray, n_implicit_zeros: int, positive_scores: np.ndarray
) -> tuple[float, float]:
    """AUROC and average precision over a large multiset of scores, from counts.

    Parameters
    ----------
    sorted_scores
        The explicitly stored scores, sorted ascending.
    n_implicit_zeros
        How many further scores equal 0 (the implicit zeros of a sparse prediction).
    positive_scores
        The scores of the positive entries (a sub-multiset of all scores), in the dtype of
        ``sorted_scores``.

    Notes
    -----
    Only ``searchsorted`` on the sorted scores is needed: no argsort, no label array the
    size of all entries. The AUROC numerator is summed in integers, so the result is exact
    up to the final division.

    """
    n_total = int(sorted_scores.size) + int(n_implicit_zeros)
    n_pos = int(positive_scores.size)
    n_neg = n_total - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan"), float("nan")
    u, c = np.unique(positive_scores, return_counts=True)
    u = u.astype(sorted_scores.dtype, copy=False)
    zero = np.zeros((), dtype=u.dtype)
    all_lt = np.searchsorted(sorted_scores, u, side="left") + n_implicit_zeros * (u > zero)
    all_le = np.searchsorted(sorted_scores, u, side="right") + n_implicit_zeros * (u >= zero)
    pos_lt = np.cumsum(c) - c  # positives strictly below each distinct positive score
    neg_lt = all_lt.astype(np.int64) - pos_lt
    neg_eq = (all_le - all_lt).astype(np.int64) - c
    numerator = int(np.sum(c * (2 * neg_lt + neg_eq), dtype=np.int64))
    auroc = numerator / (2 * n_pos * n_neg)
    tp_ge = n_pos - pos_lt
    all_ge = n_total - all_lt
    ap = float(np.sum(c * (tp_ge / all_ge))) / n_pos
    return float(auroc), float(ap)
