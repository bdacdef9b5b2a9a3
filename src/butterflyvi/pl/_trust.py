"""Plots of trust: the reliability diagram of probabilities, and query cells on the reference
map.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes

from .._validation import invalid, missing
from ..metrics import calibration_error, reliability_curve
from ._utils import finish, make_axes


def reliability(
    probability,
    truth,
    *,
    n_bins: int = 10,
    ax: Axes | None = None,
    show: bool | None = None,
    save: str | Path | None = None,
):
    """The reliability diagram of predicted probabilities (e.g. P(peak open)) against what
    was measured: observed frequency against mean probability in bins of equal frequency,
    the diagonal of perfect calibration, and the expected calibration error in the title.

    Parameters
    ----------
    probability
        Predicted probabilities (cells × features; a translation's ``X``).
    truth
        Measured values (non-zero = 1), same shape.
    n_bins
        Bins of equal frequency.
    ax, show, save
        As in scanpy.
    """
    curve = reliability_curve(probability, truth, n_bins=n_bins)
    fig, (axis,) = make_axes(ax, 1, panel_size=(4.0, 4.0))
    top = float(max(curve["predicted"].max(), curve["observed"].max()) * 1.05)
    axis.plot([0, top], [0, top], color="0.6", linestyle="--", linewidth=1, label="calibrated")
    axis.plot(curve["predicted"], curve["observed"], marker="o", label="prediction")
    axis.set_xlabel("mean predicted probability")
    axis.set_ylabel("observed frequency")
    error = calibration_error(probability, truth, n_bins=n_bins)
    axis.set_title(f"reliability ({n_bins} bins; ECE {error:.4f})")
    axis.legend(frameon=False)
    return finish(fig, axis, show=show, save=save)


def reference_map(
    query: AnnData,
    model,
    *,
    color: str = "predicted_cell_type",
    size: float | None = None,
    ax: Axes | None = None,
    show: bool | None = None,
    save: str | Path | None = None,
):
    """Query cells on the model's reference map (``model.annotate`` placed them), over the
    reference cells in grey.

    Parameters
    ----------
    query
        Cells with ``obsm["X_reference_umap"]`` (from :meth:`~butterflyvi.ButterflyModel.annotate`).
    model
        The model whose reference map they were placed on.
    color
        ``obs`` column to colour the query by (categories, or numbers such as
        ``"predicted_cell_type_confidence"`` or ``"translation_confidence"``).
    size
        Point size of the query (default: by the number of cells).
    ax, show, save
        As in scanpy.
    """
    if "X_reference_umap" not in query.obsm:
        raise missing(
            "query", "obsm['X_reference_umap']", "none", "Run model.annotate(query, source=...)."
        )
    if color not in query.obs:
        raise missing("color", f"a column of query.obs ({list(query.obs.columns)})", repr(color))
    if not getattr(model, "reference_", None):
        raise invalid("model", "a model with reference cells", "none")
    fig, (axis,) = make_axes(ax, 1, panel_size=(5.5, 4.5))
    reference = np.asarray(model.reference_["umap"])
    axis.scatter(
        reference[:, 0], reference[:, 1], s=3, color="0.85", linewidths=0, label="reference"
    )
    xy = query.obsm["X_reference_umap"]
    size = size or max(2.0, min(30.0, 3000.0 / max(query.n_obs, 1)))
    values = query.obs[color]
    if pd.api.types.is_numeric_dtype(values):
        points = axis.scatter(
            xy[:, 0], xy[:, 1], s=size, c=values.to_numpy(), cmap="viridis", linewidths=0
        )
        fig.colorbar(points, ax=axis, label=color)
    else:
        categories = pd.Categorical(values.astype(str))
        cmap = matplotlib.colormaps["tab20"]
        for i, name in enumerate(categories.categories):
            chosen = np.asarray(categories == name)
            axis.scatter(
                xy[chosen, 0], xy[chosen, 1], s=size, color=cmap(i % 20), label=name, linewidths=0
            )
        if len(categories.categories) <= 30:
            axis.legend(
                markerscale=2,
                fontsize=7,
                loc="center left",
                bbox_to_anchor=(1.0, 0.5),
                frameon=False,
            )
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_title(f"{query.n_obs:,} cells on the reference map: {color}")
    return finish(fig, axis, show=show, save=save)
