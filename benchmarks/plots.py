"""Figures of the benchmark results for the docs: ``python -m benchmarks.plots``.

Reads ``benchmarks/results/*.json`` (not the ``--quick`` ones) and writes under
``docs/_static/``:

- ``benchmark_metrics.png``: translation metrics per paired run (model, mean baseline, and
  the original scButterfly / MULTIVI figures of BASELINE.md for SNARE-seq);
- ``benchmark_kang.png``: Kang leave-one-cell-type-out, model vs baselines;
- ``benchmark_umap_<run>.png``: UMAP of measured and translated test profiles, coloured by
  cell type, for each run with saved embeddings.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ._reference import SNARESEQ_MULTIVI, SNARESEQ_ORIGINAL

PANELS = (
    ("rna_to_atac", "auroc", "RNA→ATAC AUROC"),
    ("rna_to_atac", "aupr", "RNA→ATAC AUPR"),
    ("rna_to_atac", "auroc_per_peak_mean", "RNA→ATAC AUROC per peak"),
    ("atac_to_rna", "pearson_per_cell_mean", "ATAC→RNA Pearson per cell"),
    ("atac_to_rna", "pearson_per_feature_mean", "ATAC→RNA Pearson per gene"),
)
COLOURS = {"model": "#1f77b4", "baseline": "#bbbbbb", "original": "#ff7f0e", "MULTIVI": "#2ca02c"}


def load_results(folder: Path) -> dict[str, dict]:
    """Results of ``benchmarks.run`` by file stem: finished, not ``--quick``.

    A Kang run still in progress is included with the held-out types it has finished. Other
    JSON files of the folder (other benchmark scripts) are ignored.
    """
    out = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not {"dataset", "preset", "variant"} <= set(data):
            continue
        if data.get("quick"):
            continue
        if data.get("status") == "done" or (data["dataset"] == "kang" and data.get("holdouts")):
            out[path.stem] = data
    return out


def _value(data: dict, direction: str, key: str, who: str):
    res = data["metrics"]["directions"].get(direction)
    return None if res is None else res[who].get(key)


def plot_metrics(results: dict[str, dict], path: Path) -> bool:
    """Bar charts of the paired RNA↔ATAC runs; return whether anything was plotted."""
    runs = {k: v for k, v in results.items() if v["dataset"] != "kang" and "metrics" in v}
    runs = {k: v for k, v in runs.items() if "rna_to_atac" in v["metrics"]["directions"]}
    if not runs:
        return False
    fig, axes = plt.subplots(1, len(PANELS), figsize=(3.2 * len(PANELS), 3.6))
    for ax, (direction, key, title) in zip(axes, PANELS, strict=True):
        labels, values, colours = [], [], []
        for stem, data in runs.items():
            for who in ("model", "baseline"):
                labels.append(f"{stem} {who}" if who == "model" else f"{stem} mean")
                values.append(_value(data, direction, key, who))
                colours.append(COLOURS[who])
        if any(d["dataset"] == "snareseq" for d in runs.values()):
            for who, ref in (("original", SNARESEQ_ORIGINAL), ("MULTIVI", SNARESEQ_MULTIVI)):
                labels.append(f"snareseq {who}")
                values.append(ref.get((direction, key)))
                colours.append(COLOURS[who])
        y = np.arange(len(labels))
        ax.barh(y, [np.nan if v is None else v for v in values], color=colours)
        ax.set_yticks(y, labels if ax is axes[0] else [""] * len(labels), fontsize=7)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=9)
        finite = [v for v in values if v is not None]
        if finite and "auroc" in key:
            ax.set_xlim(0.45, max(finite) + 0.05)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return True


def plot_kang(results: dict[str, dict], path: Path) -> bool:
    """DEG overlap and R² over DEGs per held-out cell type."""
    runs = [v for v in results.values() if v["dataset"] == "kang" and v.get("holdouts")]
    if not runs:
        return False
    data = runs[0]
    types = list(data["holdouts"])
    who = (("model", "model"), ("baseline_control", "control"), ("baseline_shift", "shift"))
    colours = ("#1f77b4", "#bbbbbb", "#9467bd")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    width = 0.8 / len(who)
    x = np.arange(len(types))
    for i, ((key, label), colour) in enumerate(zip(who, colours, strict=True)):
        overlap = [data["holdouts"][t][key]["deg_overlap"] for t in types]
        r2 = [data["holdouts"][t][key]["r2_degs_boot_mean"] for t in types]
        sd = [data["holdouts"][t][key]["r2_degs_boot_std"] for t in types]
        axes[0].bar(x + i * width, overlap, width, label=label, color=colour)
        axes[1].bar(x + i * width, r2, width, yerr=sd, label=label, color=colour)
    for ax, title in zip(axes, ("top-100 DEG overlap", "R² over top-100 real DEGs"), strict=True):
        ax.set_xticks(x + width, types, rotation=30, fontsize=8)
        ax.set_title(title, fontsize=10)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Kang IFN-β, leave one cell type out ({data['preset']} preset)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return True


def plot_umap(npz: Path, path: Path, title: str) -> None:
    """2 × 2 UMAPs: measured and translated RNA and ATAC test profiles by cell type."""
    emb = np.load(npz, allow_pickle=False)
    labels = emb["labels"]
    mods = sorted(
        {k.split("_", 1)[1] for k in emb.files if k != "labels"}, key=lambda m: (m != "rna", m)
    )
    order = [f"{kind}_{mod}" for kind in ("measured", "translated") for mod in mods]
    order = [k for k in order if k in emb.files]
    types = sorted(set(labels.tolist()))
    cmap = plt.get_cmap("tab20", len(types)) if len(types) <= 20 else plt.get_cmap("turbo")
    colour = {
        t: cmap(i / max(1, len(types) - 1) if len(types) > 20 else i) for i, t in enumerate(types)
    }
    ncol = 2
    fig, axes = plt.subplots(2, ncol, figsize=(10, 9))
    for ax, key in zip(axes.ravel(), order, strict=False):
        xy = emb[key]
        for t in types:
            sel = labels == t
            ax.scatter(xy[sel, 0], xy[sel, 1], s=3, color=colour[t], label=t)
        kind, mod = key.split("_", 1)
        other = [m for m in mods if m != mod]
        name = (
            f"measured {mod.upper()}"
            if kind == "measured"
            else f"{mod.upper()} translated from {other[0].upper() if other else '?'}"
        )
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    handles, names = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="center right", fontsize=7, markerscale=3, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.83, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """Write every figure that the available results allow."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plots")
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--out", type=Path, default=Path("docs/_static"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results = load_results(args.results)
    written = []
    if plot_metrics(results, args.out / "benchmark_metrics.png"):
        written.append("benchmark_metrics.png")
    if plot_kang(results, args.out / "benchmark_kang.png"):
        written.append("benchmark_kang.png")
    for stem, data in results.items():
        npz = args.results / f"{stem}_umap.npz"
        if npz.exists():
            name = f"benchmark_umap_{stem}.png"
            title = f"{data['dataset']} test cells ({data['variant']}, {data['preset']} preset)"
            plot_umap(npz, args.out / name, title)
            written.append(name)
    print("written:", ", ".join(written) or "nothing")


if __name__ == "__main__":
    main()
