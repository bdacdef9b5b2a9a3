"""Figures of ``docs/performance.md`` from the JSON records of the performance benchmarks.

``python -m benchmarks.perf_plots`` writes ``docs/_static/perf_scaling.png`` (time per epoch
against cells, peak memory against non-zeros; from ``results/perf_memory/*.json``) and
``docs/_static/perf_steps.png`` (step time of each implementation variant; from
``results/perf_profile.json``).
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ._perf_common import RESULTS

STATIC = Path(__file__).resolve().parents[1] / "docs" / "_static"


def _memory_records() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((RESULTS / "perf_memory").glob("*.json"))]


def scaling(path: Path = STATIC / "perf_scaling.png") -> Path:
    """Time per epoch vs cells (per peak count and phase) and peak RSS vs non-zeros."""
    records = _memory_records()
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = {50_000: "tab:blue", 200_000: "tab:red"}
    for peaks, colour in colours.items():
        rows = sorted(
            (r for r in records if r["peaks_simulated"] == peaks and r["density"] == 0.01),
            key=lambda r: r["cells"],
        )
        for phase, style in (("phase1", "-"), ("phase2", "--")):
            cells = [r["cells"] for r in rows if phase in r["epochs"]]
            cpu = [r["epochs"][phase]["cpu_s_per_epoch"] for r in rows if phase in r["epochs"]]
            extrapolated = [
                r["epochs"][phase]["extrapolated"] for r in rows if phase in r["epochs"]
            ]
            ax_t.plot(cells, cpu, style, color=colour, label=f"{peaks // 1000}k peaks, {phase}")
            for x, y, e in zip(cells, cpu, extrapolated, strict=True):
                ax_t.plot(x, y, "o", color=colour, mfc="white" if e else colour)
    ax_t.set(
        xscale="log",
        yscale="log",
        xlabel="cells",
        ylabel="CPU seconds per epoch (1 thread)",
        title="Time per epoch (hollow: extrapolated from 30 steps)",
    )
    ax_t.legend(fontsize=8)
    for r in records:
        nnz = r["nnz_preprocessed"]["atac"] + r["nnz_preprocessed"]["rna"]
        colour = colours.get(r["peaks_simulated"], "grey")
        marker = "s" if r["density"] != 0.01 else "o"
        ax_m.plot(nnz, r["peak_rss_gb"], marker, color=colour)
        left = r["density"] != 0.01
        low = (r["cells"], r["peaks_simulated"]) == (10_000, 50_000)
        ax_m.annotate(
            f"{r['cells'] // 1000}k cells × {r['peaks_kept'] // 1000}k peaks"
            + ("" if r["density"] == 0.01 else f" (d={r['density']:g})"),
            (nnz, r["peak_rss_gb"]),
            fontsize=7,
            xytext=(0 if left else 4, -22 if left else (-10 if low else 3)),
            ha="center" if left else "left",
            textcoords="offset points",
        )
    ax_m.axhline(8, color="black", lw=0.8, ls=":")  # the target at 100,000 x 200,000
    ax_m.text(ax_m.get_xlim()[0], 8.2, "8 GB", fontsize=8)
    ax_m.set(
        xscale="log",
        xlabel="stored non-zeros (RNA + ATAC, after preprocessing)",
        ylabel="peak resident memory (GB)",
        title="Peak memory: preprocessing + 1 epoch of each phase",
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def steps(path: Path = STATIC / "perf_steps.png") -> Path:
    """CPU milliseconds per SNARE-seq step (batch 64) of each implementation variant."""
    record = json.loads((RESULTS / "perf_profile.json").read_text())
    ab = record["ab_batch64"]
    names = list(ab)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.38
    for i, phase in enumerate(("phase1_cpu_ms", "phase2_cpu_ms")):
        values = [ab[n][phase]["median"] for n in names]
        positions = [j + (i - 0.5) * width for j in range(len(names))]
        ax.barh(positions, values, height=width, label=phase.split("_")[0])
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="CPU ms per training step (batch 64, 1 thread)", title="SNARE-seq step")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


if __name__ == "__main__":
    if (RESULTS / "perf_profile.json").exists():
        print(steps())
    if list((RESULTS / "perf_memory").glob("*.json")):
        print(scaling())
