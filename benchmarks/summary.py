"""Comparison tables of the finished results, for docs/benchmarks.md.

``python -m benchmarks.summary`` prints Markdown: SNARE-seq runs side by side with the mean
baseline, the original scButterfly and MULTIVI (BASELINE.md), the speed per phase of every
run, and the Kang leave-one-out summary.
"""

from __future__ import annotations

import argparse
from pathlib import Path

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
CLUSTER_ROWS = ("translated_rna", "translated_atac", "measured_rna", "measured_atac")


def _label(data: dict) -> str:
    return f"{data['preset']} {data['epochs_pretrain']}/{data['epochs']}"


def snareseq_tables(results: dict[str, dict]) -> str:
    """Quality and clustering tables of the SNARE-seq runs."""
    runs = [v for v in results.values() if v["dataset"] == "snareseq" and "metrics" in v]
    if not runs:
        return "(no finished SNARE-seq run)"
    first = runs[0]["metrics"]["directions"]
    header = ("metric", *(_label(r) for r in runs), "mean baseline", "original", "MULTIVI")
    rows = []
    for label, direction, key in ROWS:
        rows.append(
            (
                label,
                *(r["metrics"]["directions"][direction]["model"].get(key) for r in runs),
                first[direction]["baseline"].get(key),
                SNARESEQ_ORIGINAL.get((direction, key)),
                SNARESEQ_MULTIVI.get((direction, key)),
            )
        )
    out = [table(rows, header), ""]

    def triple(values) -> str:
        if values is None:
            return "–"
        return " / ".join(fmt(v) for v in values)

    rows = []
    for name in CLUSTER_ROWS:
        ours = [
            triple(
                tuple(
                    r["metrics"]["clustering"][name][k]
                    for k in ("ari", "ami", "nmi", "homogeneity")
                )
            )
            for r in runs
        ]
        rows.append(
            (
                name.replace("_", " "),
                *ours,
                triple(SNARESEQ_ORIGINAL_CLUSTERING.get(name)),
                triple(SNARESEQ_MULTIVI_CLUSTERING.get(name)),
            )
        )
    out += [
        "Clustering of test profiles, ARI / AMI / NMI / homogeneity:",
        "",
        table(rows, ("profiles", *(_label(r) for r in runs), "original", "MULTIVI")),
    ]
    return "\n".join(out)


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
            row = [f"{holdout} ({data['preset']})"]
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
