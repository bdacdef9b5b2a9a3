"""Execute the tutorials at their full settings and store the outputs in the notebooks.

``python scripts/execute_tutorials.py [NAME ...]`` (``make tutorials``). Each notebook runs top
to bottom in a fresh kernel inside a temporary directory (files it writes do not land in the
repository), with one torch thread (``OMP_NUM_THREADS=1``), and is written back in place with
its outputs and the wall time in its metadata. The test suite runs the same notebooks in quick
mode (``tests/test_tutorials.py``); the stored outputs come from this full run.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"

#: A line drawn by a tqdm progress bar (Lightning's, scvi-tools').
PROGRESS_LINE = re.compile(r"\d+/\d+ \[[^\]]*(it/s|s/it)")


def strip_progress(notebook) -> None:
    """Remove progress-bar lines from the stored stream outputs (they are noise on a page)."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                lines = re.split(r"(?<=[\r\n])", output.get("text", ""))
                text = "".join(line for line in lines if not PROGRESS_LINE.search(line))
                if not text.strip():
                    continue
                output["text"] = text
            kept.append(output)
        cell["outputs"] = kept


def execute(path: Path, *, timeout: int = 3600) -> float:
    """Run ``path`` at full settings, store its outputs in place; return the wall seconds."""
    notebook = nbformat.read(path, as_version=4)
    os.environ.pop("BUTTERFLYVI_TUTORIAL_QUICK", None)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # numba (used by scanpy) would otherwise reset the OpenMP pool torch shares to every core
    os.environ.setdefault("NUMBA_NUM_THREADS", os.environ["OMP_NUM_THREADS"])
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": workdir}},
        ).execute()
    seconds = time.perf_counter() - start
    strip_progress(notebook)
    notebook.metadata["butterflyvi"] = {
        "executed": time.strftime("%Y-%m-%d"),
        "wall_seconds": round(seconds, 1),
        "command": f"python scripts/execute_tutorials.py {path.stem}",
    }
    nbformat.write(notebook, path)
    return seconds


def main(argv: list[str] | None = None) -> None:
    """Command line: execute the named tutorials (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook stems (default: all)")
    args = parser.parse_args(argv)
    paths = sorted(TUTORIALS.glob("*.ipynb"))
    if args.names:
        paths = [p for p in paths if p.stem in args.names or p.stem.split("_")[0] in args.names]
    for path in paths:
        seconds = execute(path)
        print(f"{path.name}: {seconds:.0f} s")


if __name__ == "__main__":
    main()
