"""Writing results: the JSON record (updated as a run progresses) and a Markdown summary."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np


def _plain(value):
    """JSON-safe copy: numpy scalars and arrays to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Record:
    """A result dict that is written to ``path`` (atomically) every time it is updated.

    Parameters
    ----------
    path
        The JSON file.
    initial
        Starting content.
    """

    def __init__(self, path: Path, initial: dict):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.data = dict(initial)
        self.write()

    @classmethod
    def of_run(cls, path: Path, module: str, **fields) -> Record:
        """A record opened with ``fields`` and what every run records: the command that made
        it (``python -m benchmarks.<module> ARGS``), the start time, versions and machine.
        """
        import shlex
        import sys
        import time

        from ._timing import machine, versions

        return cls(
            path,
            {
                **fields,
                "command": f"python -m benchmarks.{module} " + shlex.join(sys.argv[1:]),
                "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                "versions": versions(),
                "machine": machine(),
            },
        )

    def update(self, **values) -> None:
        """Set top-level keys and write the file."""
        self.data.update(values)
        self.write()

    def write(self) -> None:
        """Write the JSON file through a temporary file and a rename."""
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(_plain(self.data), indent=1) + "\n")
        os.replace(tmp, self.path)


def fmt(value, digits: int = 3) -> str:
    """A number for a table ("–" when missing)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        return f"{value:.{digits}f}"
    return str(value)


def table(rows: list[tuple], header: tuple[str, ...]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def timing_table(timing: dict) -> str:
    """Per-phase wall time, median seconds/epoch and training cells/s."""
    rows = []
    for phase, label in (("phase1", "1 (pretraining)"), ("phase2", "2 (integrative)")):
        t = timing.get(phase, {})
        rows.append(
            (
                label,
                t.get("epochs", 0),
                t.get("wall_seconds"),
                t.get("median_seconds_per_epoch"),
                t.get("median_seconds_per_epoch_with_validation"),
                t.get("train_cells_per_second"),
            )
        )
    return table(
        rows,
        ("phase", "epochs", "wall s", "median s/epoch", "with validation", "train cells/s"),
    )


def environment_lines(data: dict) -> list[str]:
    """Machine, versions, memory and command, as Markdown bullet points."""
    m, v = data.get("machine", {}), data.get("versions", {})
    return [
        f"- command: `{data.get('command', '')}`",
        f"- machine: {m.get('cpu_model')}, {m.get('cores')} cores, torch threads "
        f"{m.get('torch_threads')}, load average at start {m.get('load_average_1_5_15')}",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- peak RSS: {fmt(data.get('peak_rss_gb'))} GB; total wall time "
        f"{fmt(data.get('wall_seconds_total'), 0)} s",
    ]


def write_markdown(path: Path, text: str) -> None:
    """Write a Markdown file."""
    Path(path).write_text(text.rstrip() + "\n")
