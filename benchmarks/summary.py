"""Comparison tables of the finished results, for docs/benchmarks.md.

``python -m benchmarks.summary`` prints Markdown: SNARE-seq runs side by side with the mean
baseline, the original scButterfly and MULTIVI (BASELINE.md), the speed per phase of every
run, and the Kang leave-one-out summary.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ._reference import (
    SNARESEQ_MULTIVI,
    SNARESEQ_MULTIVI_CLUSTERING,
    SNARESEQ_ORIGINAL,
    SNARESEQ_ORIGINAL_CLUSTERING,
)
from ._report import fmt, table
from .plots import load_results

ROWS = (
    ("RNA→ATAC AUROC, all entries", "rna_to_atac", "auroc"),
    ("RNA→ATAC AUPR, all entries", "rna_to_atac", "aupr"),
    ("RNA→ATAC AUROC per cell, mean", "rna_to_atac", "auroc_per_cell_mean"),
    ("RNA→ATAC AUROC per peak, mean", "rna_to_atac", "auroc_per_peak_mean"),
    ("ATAC→RNA Pearson per cell, mean", "atac_to_rna", "pearson_per_cell_mean"),
    ("ATAC→RNA Pearson per gene, mean of defined", "atac_to_rna", "pearson_per_feature_mean"),
)
#: Targets of the accuracy issue on the SNARE-seq split (docs/benchmarks.md).
TARGETS = {
    ("rna_to_atac", "auroc"): "≥ 0.78",
    ("rna_to_atac", "aupr"): "≥ 0.066",
    ("rna_to_atac", "auroc_per_peak_mean"): "≥ 0.70",
    ("atac_to_rna", "pearson_per_cell_mean"): "≥ 0.78",
    ("atac_to_rna", "pearson_per_feature_mean"): "≥ 0.25",
    ("translated_rna", "ari"): "≥ 0.40",
    ("translated_rna", "ami"): "≥ 0.55",
    ("translated_atac", "ari"): "≥ 0.45",
    ("translated_atac", "ami"): "≥ 0.65",
}
CLUSTER_ROWS = ("translated_rna", "translated_atac", "measured_rna", "measured_atac")


def _label(data: dict) -> str:
    """The setting of a run: every option that changes the model (variant, preset, epochs,
    likelihoods, preprocessing, extra inputs), so that only seeds of one setting are averaged.
    """
    parts = [data["variant"], data["preset"], f"{data['epochs_pretrain']}/{data['epochs']}"]
    for modality, likelihood in sorted((data.get("likelihoods") or {}).items()):
        parts.append(f"{modality}={likelihood}")
    if data.get("pp") not in (None, "default"):
        parts.append(f"pp={data['pp']}")
    if data.get("extra"):
        parts.append(f"extra={data['extra']}")
    return " ".join(parts)


#: Column order of the presets in the tables (others follow, alphabetically).
PRESET_ORDER = ("default", "scaled", "binary", "paper")


def _setting_order(run: dict) -> tuple:
    preset = run["preset"]
    rank = PRESET_ORDER.index(preset) if preset in PRESET_ORDER else len(PRESET_ORDER)
    return (rank, preset, run["variant"], run["epochs_pretrain"], run["epochs"])


def _group_by_setting(runs: list[dict]) -> dict[str, list[dict]]:
    """Runs with the same variant, preset and epochs (different seeds) together, in the
    order of :data:`PRESET_ORDER`, then variant B before T, shorter budgets first."""
    groups: dict[str, list[dict]] = {}
    for run in sorted(runs, key=_setting_order):
        groups.setdefault(_label(run), []).append(run)
    return groups


def mean_sd(values: list, digits: int = 3) -> str:
    """``mean ± sd`` over seeds (the value alone for one seed; "–" when missing)."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return fmt(values[0], digits)
    arr = np.asarray(values, dtype=float)
    return f"{fmt(arr.mean(), digits)} ± {fmt(arr.std(ddof=1), digits)}"


def _baseline(runs: list[dict], direction: str) -> dict:
    """The mean baseline of ``direction``; for accessibility on the open-fraction scale (the
    one of BASELINE.md) when a run recorded it."""
    for run in runs:
        entry = run["metrics"]["directions"][direction]
        if "baseline_open_fraction" in entry:
            return entry["baseline_open_fraction"]
    return runs[0]["metrics"]["directions"][direction]["baseline"]


def snareseq_tables(results: dict[str, dict]) -> str:
    """Quality and clustering tables of the SNARE-seq runs (mean ± sd over seeds)."""
    runs = [v for v in results.values() if v["dataset"] == "snareseq" and "metrics" in v]
    if not runs:
        return "(no finished SNARE-seq run)"
    groups = _group_by_setting(runs)
    labels = [f"{name} (n={len(group)})" for name, group in groups.items()]
    header = ("metric", "target", "mean baseline", "original", "MULTIVI", *labels)
    rows = []
    for label, direction, key in ROWS:
        rows.append(
            (
                label,
                TARGETS.get((direction, key), "–"),
                fmt(_baseline(runs, direction).get(key)),
                fmt(SNARESEQ_ORIGINAL.get((direction, key))),
                fmt(SNARESEQ_MULTIVI.get((direction, key))),
                *(
                    mean_sd([r["metrics"]["directions"][direction]["model"].get(key) for r in g])
                    for g in groups.values()
                ),
            )
        )
    for name in CLUSTER_ROWS[:2]:
        for i, key in enumerate(("ari", "ami")):
            original = SNARESEQ_ORIGINAL_CLUSTERING.get(name)
            multivi = SNARESEQ_MULTIVI_CLUSTERING.get(name)
            rows.append(
                (
                    f"clustering of {name.replace('_', ' ')}, {key.upper()}",
                    TARGETS.get((name, key), "–"),
                    "–",
                    fmt(original[i]) if original else "–",
                    fmt(multivi[i]) if multivi else "–",
                    *(
                        mean_sd([r["metrics"]["clustering"][name][key] for r in g])
                        for g in groups.values()
                    ),
                )
            )
    rows.append(
        (
            "train() wall s",
            "–",
            "–",
            "2,340",
            "1,195",
            *(mean_sd([r["training"]["wall_seconds"] for r in g], 0) for g in groups.values()),
        )
    )
    return table(rows, header)


def speed_table(results: dict[str, dict]) -> str:
    """Timing of every finished run (Kang: per held-out type)."""
    rows = []

    def add(name: str, training: dict, memory) -> None:
        p1, p2 = training["timing"]["phase1"], training["timing"]["phase2"]
        rows.append(
            (
                name,
                f"{training['epochs_run']} / {training['epochs_max']}",
                training["best_epoch"],
                p1.get("median_seconds_per_epoch"),
                p1.get("train_cells_per_second"),
                p2.get("median_seconds_per_epoch"),
                p2.get("train_cells_per_second"),
                training["wall_seconds"],
                memory,
            )
        )

    for stem, data in results.items():
        if data["dataset"] == "kang":
            for holdout, res in data.get("holdouts", {}).items():
                add(f"{stem} (without {holdout})", res["training"], data.get("peak_rss_gb"))
        elif "training" in data:
            add(stem, data["training"], data.get("peak_rss_gb"))
    return table(
        rows,
        (
            "run",
            "epochs run / max",
            "best epoch",
            "phase 1 s/epoch",
            "phase 1 cells/s",
            "phase 2 s/epoch",
            "phase 2 cells/s",
            "train() s",
            "peak RSS GB",
        ),
    )


def kang_table(results: dict[str, dict]) -> str:
    """Per held-out type: DEG overlap and R² (DEGs, bootstrap mean ± sd) per predictor."""
    runs = [v for v in results.values() if v["dataset"] == "kang" and v.get("holdouts")]
    if not runs:
        return "(no Kang run)"
    rows = []
    for data in runs:
        for holdout, res in data["holdouts"].items():
            genes = data.get("data", {}).get("n_genes", "?")
            row = [f"{holdout} ({data['preset']}, {genes} genes, seed {data['seed']})"]
            for who in ("model", "baseline_control", "baseline_shift"):
                m = res[who]
                row.append(
                    f"{m['deg_overlap']} · {fmt(m['r2_degs_boot_mean'])} ± "
                    f"{fmt(m['r2_degs_boot_std'])}"
                )
            rows.append(tuple(row))
    return table(
        rows,
        (
            "held out",
            "model: overlap · R²",
            "control unchanged: overlap · R²",
            "control + mean shift: overlap · R²",
        ),
    )


def main(argv: list[str] | None = None) -> None:
    """Print the tables."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.summary")
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    results = load_results(args.results)
    print("## SNARE-seq\n")
    print(snareseq_tables(results))
    print("\n## Speed\n")
    print(speed_table(results))
    print("\n## Kang\n")
    print(kang_table(results))


if __name__ == "__main__":
    main()
