"""Correlation matrix distance: how well a translation keeps the features' co-variation."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_positive_int
from ._inputs import align_pair, dense, take


def correlation_distance(
    pred: Any,
    truth: Any,
    *,
    max_features: int | None = 2000,
    pred_layer: str | None = None,
    truth_layer: str | None = None,
) -> dict[str, float | int]:
    r"""Correlation matrix distance (CMD) between predicted and measured profiles.

    With :math:`R_p` and :math:`R_t` the feature × feature Pearson correlation matrices
    across cells of the prediction and of the truth,

    .. math::

        \mathrm{CMD} = 1 - \frac{\operatorname{tr}(R_p R_t)}{\lVert R_p\rVert_F\,
            \lVert R_t\rVert_F},

    0 when the two correlation structures are proportional, up to 1 when they are
    orthogonal (Herdin et al. 2005; used for cross-modality prediction by Hu et al.,
    *Nat. Methods* 2024). A feature constant in either matrix has no correlations and is left
    out (counted in ``n_features_skipped``); with fewer than two features left (a prediction
    that is the same for every cell) the CMD is undefined (NaN).

    Parameters
    ----------
    pred
        Predicted profiles, cells × features (AnnData, numpy array or scipy sparse matrix).
    truth
        Measured profiles, same cells and features (aligned by name when both are AnnData).
    max_features
        Use the ``max_features`` features most variable in ``truth`` (the matrices grow with
        the square of the features); ``None`` uses all.
    pred_layer, truth_layer
        Layers to use instead of ``X`` (AnnData only).

    Returns
    -------
    dict
        ``cmd``, ``n_features`` (used), ``n_features_skipped``.
    """
    X_pred, X_truth = align_pair(pred, truth, pred_layer=pred_layer, truth_layer=truth_layer)
    if max_features is not None:
        max_features = check_positive_int(max_features, name="max_features")
        if X_truth.shape[1] > max_features:
            variance = _column_variance(X_truth)
            keep = np.sort(np.argsort(-variance, kind="stable")[:max_features])
            X_pred, X_truth = take(X_pred, cols=keep), take(X_truth, cols=keep)
    p, t = dense(X_pred), dense(X_truth)
    constant = (p.std(axis=0) == 0) | (t.std(axis=0) == 0)
    p, t = p[:, ~constant], t[:, ~constant]
    if p.shape[1] < 2:  # e.g. a prediction that is the same for every cell
        return {"cmd": float("nan"), "n_features": 0, "n_features_skipped": int(constant.sum())}
    r_pred, r_truth = np.corrcoef(p, rowvar=False), np.corrcoef(t, rowvar=False)
    cmd = 1.0 - float(np.sum(r_pred * r_truth)) / float(
        np.linalg.norm(r_pred) * np.linalg.norm(r_truth)
    )
    return {
        "cmd": cmd,
        "n_features": int(p.shape[1]),
        "n_features_skipped": int(constant.sum()),
    }


def _column_variance(X) -> np.ndarray:
    if isinstance(X, np.ndarray):
        return X.var(axis=0)
    mean = np.asarray(X.mean(axis=0)).ravel()
    mean_sq = np.asarray(X.multiply(X).mean(axis=0)).ravel()
    return mean_sq - mean**2
