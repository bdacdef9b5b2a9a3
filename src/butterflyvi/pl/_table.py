"""``metric_table``: methods × metrics as a figure, the best value of each metric in bold."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes

from .._validation import MissingKeyError
from ._utils import finish, make_axes

#: Metrics where lower is better (matched as substrings of the metric name).
LOWER_IS_BETTER = ("rmse", "loss", "error", "mse")


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
    value = float(value)
    return value if math.isfinite(value) else None


def default_metrics(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Numeric metrics in order of first appearance, without counts (``n_*``)."""
    metrics: list[str] = []
    for values in results.values():
        for key, value in values.items():
            if key in metrics or key.startswith("n_") or isinstance(value, bool):
                continue
            if isinstance(value, int | float) or _numeric(value) is not None:
                metrics.append(key)
    return metrics


def metric_table(
    results: Mapping[str, Mapping[str, Any]],
    *,
    metrics: Sequence[str] | None = None,
    digits: int = 3,
    highlight_best: bool = True,
    show: bool | None = None,
    save: str | Path | None = None,
    ax: Axes | None = None,
) -> Axes | None:
    """Draw a table of metrics (columns) for several methods (rows).

    Parameters
    ----------
    results
        ``{method: {metric: value}}``, e.g. ``{"model": bf.metrics.accessibility(pred, truth),
        "baseline": bf.metrics.accessibility(baseline, truth)}``.
    metrics
        Metrics (columns) to show, in order; default every numeric metric except counts.
    digits
        Decimals shown.
    highlight_best
        Bold the best value of each column (the highest, or the lowest for RMSE/loss/error).
    show
        Show the figure (default: unless ``save`` is given).
    save
        Save the figure to this file.
    ax
        Axes to draw into (its frame is hidden).

    Returns
    -------
    The axes when the figure is not shown; else ``None``. Missing or undefined values show "—".
    """
    if not isinstance(results, Mapping) or not results:
        raise ValueError("results: expected a non-empty {method: {metric: value}} mapping.")
    for method, values in results.items():
        if not isinstance(values, Mapping):
            raise TypeError(
                f"results[{method!r}]: expected a {{metric: value}} mapping, found "
                f"{type(values).__name__}."
            )
    metrics = list(metrics) if metrics is not None else default_metrics(results)
    if not metrics:
        raise ValueError("metrics: no numeric metric to show.")
    unknown = [m for m in metrics if not any(m in v for v in results.values())]
    if unknown:
        raise MissingKeyError(f"metrics: expected names found in the results, found {unknown}.")
    methods = list(results)
    numbers = [[_numeric(results[r].get(m)) for m in metrics] for r in methods]
    text = [["—" if v is None else f"{v:.{digits}f}" for v in row] for row in numbers]

    width = max(4.0, 1.3 * len(metrics) + 1.5)
    fig, (axis,) = make_axes(ax, 1, panel_size=(width, 0.45 * (len(methods) + 1) + 0.4))
    axis.axis("off")
    table = axis.table(
        cellText=text,
        rowLabels=methods,
        colLabels=[m.replace("_", " ") for m in metrics],
        loc="center",
        cellLoc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1.0, 1.4)
    if highlight_best and len(methods) > 1:
        for j, metric in enumerate(metrics):
            column = [(row[j], i) for i, row in enumerate(numbers) if row[j] is not None]
            if len(column) < 2 or len({v for v, _ in column}) == 1:
                continue
            lower = any(s in metric.lower() for s in LOWER_IS_BETTER)
            best = (min if lower else max)(column)[0]
            for value, i in column:
                if value == best:
                    table[i + 1, j].get_text().set_fontweight("bold")
    return finish(fig, axis, show=show, save=save)
