"""``feature_accuracy``: how well each feature is translated, against how common it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from ._utils import check_kind, finish, make_axes


def per_feature_scores(pred: Any, truth: Any, *, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Per feature: the score and the abundance in the truth.

    Accessibility: AUROC across cells against the binarised truth, and the fraction of cells
    where the feature is open. Expression: Pearson correlation across cells, and the mean
    measured value. Scores are NaN where undefined (a constant feature). Inputs are aligned by
    name as :func:`butterflyvi.metrics.accessibility` aligns them.
    """
    from ..metrics._expression import rowwise_correlations
    from ..metrics._inputs import align_pair, col_blocks
    from ..metrics._ranking import rowwise_auroc_ap

    family = check_kind(kind)
    X_pred, X_truth = align_pair(pred, truth)
    n_features = X_pred.shape[1]
    score = np.empty(n_features)
    abundance = np.empty(n_features)
    for (cols, p), (_, t) in zip(col_blocks(X_pred), col_blocks(X_truth), strict=True):
        if family == "ranking":
            opened = t > 0
            score[cols] = rowwise_auroc_ap(p, opened)[0]
            abundance[cols] = opened.mean(axis=1)
        else:
            score[cols] = rowwise_correlations(p, t)[0]
            abundance[cols] = t.mean(axis=1)
    return score, abundance


def feature_accuracy(
    pred: Any,
    truth: Any,
    *,
    kind: str = "accessibility",
    log_x: bool | None = None,
    size: float = 4.0,
    show: bool | None = None,
    save: str | Path | None = None,
    ax: Axes | None = None,
) -> Axes | None:
    """Scatter each feature's translation accuracy against its abundance.

    - ``kind="accessibility"``: per-peak AUROC (across cells, against the binarised truth)
      versus the peak's accessibility rate (fraction of cells where it is open); the dashed
      line is chance (0.5).
    - ``kind="expression"`` (or ``"protein"``): per-gene Pearson correlation across cells
      versus the gene's mean measured expression; the dashed line is 0.

    Features whose score is undefined (open in every or no cell; constant) are left out and
    counted in the title, which also gives the mean score.

    Parameters
    ----------
    pred
        Predicted profiles (AnnData, numpy array or scipy sparse matrix), cells × features.
    truth
        Measured profiles of the same cells and features (matched by name for AnnData).
    kind
        Kind of the truth (``"accessibility"``, ``"expression"``, ``"protein"`` or a
        registered kind); its ``metric_family`` picks the score.
    log_x
        Logarithmic x axis (default: for accessibility).
    size
        Point size.
    show
        Show the figure (default: unless ``save`` is given).
    save
        Save the figure to this file.
    ax
        Axes to draw into.

    Returns
    -------
    The axes when the figure is not shown; else ``None``.
    """
    family = check_kind(kind)
    score, abundance = per_feature_scores(pred, truth, kind=kind)
    defined = np.isfinite(score)
    fig, (axis,) = make_axes(ax, 1, panel_size=(5.0, 4.0))
    axis.scatter(abundance[defined], score[defined], s=size, alpha=0.5, linewidths=0, color="C0")
    if family == "ranking":
        axis.axhline(0.5, color="0.4", ls="--", lw=1)
        axis.set_xlabel("accessibility rate (fraction of cells open)")
        axis.set_ylabel("AUROC across cells")
        name, unit = "AUROC", "peaks"
    else:
        axis.axhline(0.0, color="0.4", ls="--", lw=1)
        axis.set_xlabel("mean measured expression")
        axis.set_ylabel("Pearson r across cells")
        name, unit = "Pearson r", "features"
    if (family == "ranking" if log_x is None else log_x) and (abundance[defined] > 0).all():
        axis.set_xscale("log")
    mean = float(np.mean(score[defined])) if defined.any() else float("nan")
    skipped = int((~defined).sum())
    axis.set_title(
        f"Per-feature {name}: mean {mean:.3f} over {int(defined.sum()):,} {unit}"
        + (f" ({skipped:,} undefined)" if skipped else ""),
        fontsize=10,
    )
    return finish(fig, axis, show=show, save=save)
