"""Shared plumbing of the plots: axes creation, showing and saving (scanpy conventions)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def make_axes(
    ax: Axes | Sequence[Axes] | None,
    n: int,
    *,
    ncols: int | None = None,
    panel_size: tuple[float, float] = (4.0, 3.2),
) -> tuple[Figure, list[Axes]]:
    """``n`` axes: the given ones (checked) or a new figure with a grid of panels."""
    import matplotlib.pyplot as plt

    if ax is not None:
        axes = [ax] if isinstance(ax, Axes) else list(np.ravel(ax))
        if len(axes) < n or not all(isinstance(a, Axes) for a in axes):
            raise ValueError(f"ax: expected {n} matplotlib Axes, found {len(axes)} of them.")
        return axes[0].figure, axes[:n]
    ncols = min(n, ncols or n)
    nrows = int(np.ceil(n / ncols))
    fig, grid = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
        squeeze=False,
        layout="constrained",
    )
    axes = list(grid.ravel())
    for extra in axes[n:]:
        extra.set_visible(False)
    return fig, axes[:n]


def finish(
    fig: Figure,
    axes: Axes | list[Axes],
    *,
    show: bool | None,
    save: str | Path | None,
) -> Axes | list[Axes] | None:
    """Save and/or show the figure, and return the axes only when ``show is False``.

    As in scanpy: ``save`` writes the figure to that path (format from its suffix), ``show``
    shows it, and the axes are returned for further drawing only with ``show=False``.
    ``show=None`` shows the figure unless it was saved; a saved figure is closed unless
    ``show=False``.
    """
    import matplotlib.pyplot as plt

    if save is not None:
        path = Path(save)
        if path.suffix == "":
            raise ValueError(
                f"save: expected a file name with a suffix (.png, .pdf, …), found {str(save)!r}."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=150, bbox_inches="tight")
    if show is False:
        return axes
    if show or save is None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*non-interactive.*")
            plt.show()
    if save is not None:
        plt.close(fig)
    return None


def check_kind(kind: str) -> str:
    """The metric family of ``kind``: ``"ranking"`` (binarised truth, AUROC) or
    ``"correlation"`` (continuous truth, Pearson); see :mod:`butterflyvi.kinds`.
    """
    from ..kinds import get_kind

    return get_kind(kind).metric_family
