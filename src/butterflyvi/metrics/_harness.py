"""The metrics of the OpenProblems ``predict_modality`` task, and its scaled score.

The task scores a prediction of the target modality's normalised values with RMSE, MAE
(its ``mse`` metric component) and Pearson / Spearman correlations per cell, per feature and
over all entries (its ``correlation`` component); a constant row, column or matrix scores 0.
A leaderboard compares methods by each metric scaled between the *control* methods of the
same run (0 = the worst control, 1 = the best, usually the solution itself), averaged over
the metrics.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import sparse
from scipy.stats import rankdata

from ._inputs import Scores

#: The task's metrics, in its order.
HARNESS_METRICS = (
    "rmse",
    "mae",
    "mean_pearson_per_cell",
    "mean_spearman_per_cell",
    "mean_pearson_per_gene",
    "mean_spearman_per_gene",
    "overall_pearson",
    "overall_spearman",
)
#: Metrics where lower is better.
LOWER_IS_BETTER = frozenset({"rmse", "mae"})
#: The task's control methods (scored in every run to scale the others).
CONTROLS = ("zeros", "mean_per_gene", "random_predict", "solution")


def _dense(matrix) -> np.ndarray:
    array = matrix.toarray() if sparse.issparse(matrix) else np.asarray(matrix)
    array = np.array(array, dtype=np.float64)
    array[~np.isfinite(array)] = 0.0  # the task scores non-finite predictions as 0
    return array


def _paired_correlation(a: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
    """Pearson correlation of matching rows (axis 1) or columns (axis 0); 0 where either is
    constant.
    """
    a = a - a.mean(axis=axis, keepdims=True)
    b = b - b.mean(axis=axis, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=axis) * (b * b).sum(axis=axis))
    numerator = (a * b).sum(axis=axis)
    out = np.zeros_like(numerator)
    defined = denominator > 0
    out[defined] = numerator[defined] / denominator[defined]
    return np.clip(out, -1.0, 1.0)


def _overall(a: np.ndarray, b: np.ndarray) -> float:
    return float(_paired_correlation(a.reshape(-1, 1), b.reshape(-1, 1), axis=0)[0])


def predict_modality(pred, truth) -> Scores:
    """The ``predict_modality`` task's eight metrics of a prediction against the truth.

    Parameters
    ----------
    pred, truth
        Cells × features on the target's normalised scale (dense or sparse, same shape, same
        order of cells and features).

    Returns
    -------
    ``{"rmse", "mae", "mean_pearson_per_cell", "mean_spearman_per_cell",
    "mean_pearson_per_gene", "mean_spearman_per_gene", "overall_pearson",
    "overall_spearman"}``. Spearman correlations rank with average ties (zeros tie), as the
    task's sparse ranks do up to a shift.
    """
    p, t = _dense(pred), _dense(truth)
    if p.shape != t.shape:
        raise ValueError(f"pred: expected the shape of truth {t.shape}, found {p.shape}.")
    error = p - t
    p_rank_cells, t_rank_cells = rankdata(p, axis=1), rankdata(t, axis=1)
    p_rank_genes, t_rank_genes = rankdata(p, axis=0), rankdata(t, axis=0)
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "mean_pearson_per_cell": float(_paired_correlation(p, t, axis=1).mean()),
        "mean_spearman_per_cell": float(
            _paired_correlation(p_rank_cells, t_rank_cells, axis=1).mean()
        ),
        "mean_pearson_per_gene": float(_paired_correlation(p, t, axis=0).mean()),
        "mean_spearman_per_gene": float(
            _paired_correlation(p_rank_genes, t_rank_genes, axis=0).mean()
        ),
        "overall_pearson": _overall(p, t),
        "overall_spearman": _overall(rankdata(p, axis=None), rankdata(t, axis=None)),
    }


def scaled_scores(
    scores: Mapping[str, Mapping[str, float]], *, controls: tuple[str, ...] = CONTROLS
) -> dict[str, dict[str, float]]:
    """Each method's metrics scaled between the controls of the same run, and their mean.

    For every metric, 0 is the worst control and 1 the best (for RMSE and MAE the lowest is
    best); ``"mean"`` is the average over the metrics (not clipped: a method below the worst
    control scores below 0).

    Parameters
    ----------
    scores
        ``{method: {metric: value}}`` of one task and one run, controls included.
    controls
        The control methods among ``scores``.
    """
    absent = [c for c in controls if c not in scores]
    if absent:
        raise KeyError(f"scores: expected the controls {list(controls)}, found none for {absent}.")
    out: dict[str, dict[str, float]] = {}
    for method, values in scores.items():
        scaled = {}
        for metric in HARNESS_METRICS:
            sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
            reference = [sign * scores[c][metric] for c in controls]
            low, high = min(reference), max(reference)
            scaled[metric] = (sign * values[metric] - low) / (high - low) if high > low else 0.0
        scaled["mean"] = float(np.mean([scaled[m] for m in HARNESS_METRICS]))
        out[method] = scaled
    return out
