"""How well a translation says how far to trust it: interval coverage and width, and the
calibration of predicted probabilities.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from ._inputs import Scores


def _dense(matrix) -> np.ndarray:
    return (matrix.toarray() if sparse.issparse(matrix) else np.asarray(matrix)).astype(np.float64)


def coverage(lower, upper, truth) -> Scores:
    """Share of measured values inside their intervals, and the intervals' width.

    Parameters
    ----------
    lower, upper
        Bounds (cells × features, e.g. ``layers["lower"]`` / ``["upper"]`` of a translation).
    truth
        Measured values on the prediction's scale.

    Returns
    -------
    ``coverage`` (over all entries), ``coverage_per_feature_min`` / ``_max`` (the spread
    between features), ``coverage_per_cell_min``, ``mean_width``, ``median_width``.
    """
    low, high, y = _dense(lower), _dense(upper), _dense(truth)
    if not low.shape == high.shape == y.shape:
        raise ValueError(
            f"lower, upper, truth: expected one shape, found {low.shape}, {high.shape}, {y.shape}."
        )
    inside = (y >= low) & (y <= high)
    width = high - low
    return {
        "coverage": float(inside.mean()),
        "coverage_per_feature_min": float(inside.mean(axis=0).min()),
        "coverage_per_feature_max": float(inside.mean(axis=0).max()),
        "coverage_per_cell_min": float(inside.mean(axis=1).min()),
        "mean_width": float(width.mean()),
        "median_width": float(np.median(width)),
    }


def calibration_error(probability, truth, *, n_bins: int = 10) -> float:
    """Expected calibration error of probabilities against binary outcomes (non-zero = 1),
    over ``n_bins`` bins of equal frequency: ``Σ_b (n_b / N) |mean p_b − mean y_b|``.
    """
    p = _dense(probability).ravel()
    y = (_dense(truth).ravel() > 0).astype(np.float64)
    if p.shape != y.shape:
        raise ValueError(f"probability, truth: expected one shape, found {p.shape} and {y.shape}.")
    order = np.argsort(p, kind="stable")
    return float(
        sum(len(b) / len(p) * abs(p[b].mean() - y[b].mean()) for b in np.array_split(order, n_bins))
    )


def reliability_curve(probability, truth, *, n_bins: int = 10) -> dict[str, np.ndarray]:
    """Mean predicted probability and observed frequency per equal-frequency bin."""
    p = _dense(probability).ravel()
    y = (_dense(truth).ravel() > 0).astype(np.float64)
    bins = np.array_split(np.argsort(p, kind="stable"), n_bins)
    return {
        "predicted": np.array([p[b].mean() for b in bins]),
        "observed": np.array([y[b].mean() for b in bins]),
        "count": np.array([len(b) for b in bins]),
    }
