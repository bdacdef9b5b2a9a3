"""Plain-text tables and JSON-ready values for the command line's output."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

MISSING = "—"


def format_value(value: Any, *, digits: int = 3) -> str:
    """A number with ``digits`` decimals (integers as they are); NaN and None as a dash."""
    import numpy as np  # here, not at the top: `butterflyvi --help` stays fast

    if value is None:
        return MISSING
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return MISSING if not math.isfinite(value) else f"{float(value):.{digits}f}"
    return str(value)


def format_table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, digits: int = 3) -> str:
    """A left-aligned first column and right-aligned value columns, separated by two spaces."""
    cells = [list(header)] + [
        [str(row[0])] + [format_value(v, digits=digits) for v in row[1:]] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        parts = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def metrics_table(metrics: Mapping[str, Any], *, digits: int = 3) -> str:
    """A two-column table (metric, value) of a metrics dict."""
    return format_table(("metric", "value"), list(metrics.items()), digits=digits)


def json_ready(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and NaN/inf as ``None`` (valid JSON)."""
    import numpy as np

    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_ready(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
