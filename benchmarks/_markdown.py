"""Markdown summaries of one benchmark result."""

from __future__ import annotations

from ._report import environment_lines, fmt, table, timing_table

ACCESSIBILITY_ROWS = (
    ("AUROC, all entries", "auroc"),
    ("AUPR, all entries", "aupr"),
    ("AUROC per cell, mean", "auroc_per_cell_mean"),
    ("AUPR per cell, mean", "aupr_per_cell_mean"),
    ("AUROC per peak, mean", "auroc_per_peak_mean"),
    ("AUPR per peak, mean", "aupr_per_peak_mean"),
)
EXPRESSION_ROWS = (
    ("Pearson per cell, mean", "pearson_per_cell_mean"),
    ("Spearman per cell, mean", "spearman_per_cell_mean"),
    ("Pearson per feature, mean of defined", "pearson_per_feature_mean"),
    ("Spearman per feature, mean of defined", "spearman_per_feature_mean"),
    ("RMSE", "rmse"),
)
CLUSTER_KEYS = ("ari", "ami", "nmi", "homogeneity", "n_clusters")


def paired_markdown(data: dict) -> str:
    """Summary of a paired (RNA ↔ ATAC / ADT) result."""
    d = data.get("data", {})
    lines = [
        f"# {data['dataset']}: variant {data['variant']}, preset {data['preset']}"
        + (" (quick)" if data.get("quick") else ""),
        "",
        f"Status: **{data.get('status')}**. Cells {fmt(d.get('n_cells'))}, features "
        f"{d.get('n_features')}, split {d.get('split')}, labels `{d.get('label_key')}` "
        f"({d.get('n_labels')}). Epochs (max) {data['epochs_pretrain']} / {data['epochs']}.",
        "",
        *[f"- {n}" for n in d.get("notes", [])],
        "",
    ]
    metrics = data.get("metrics")
    if metrics:
        for direction, res in metrics["directions"].items():
            rows_spec = (
                ACCESSIBILITY_ROWS if res["target_kind"] == "accessibility" else EXPRESSION_ROWS
            )
            header = ("metric", "model", "baseline")
            extra = "baseline_open_fraction" in res
            if extra:
                header = (*header, "baseline (open fraction)")
            rows = []
            for label, key in rows_spec:
                row = (label, res["model"].get(key), res["baseline"].get(key))
                if extra:
                    row = (*row, res["baseline_open_fraction"].get(key))
                rows.append(row)
            lines += [f"## {direction.replace('_to_', ' → ')}", "", table(rows, header), ""]
        rows = [
            (name, *(res.get(k) for k in CLUSTER_KEYS))
            for name, res in metrics["clustering"].items()
        ]
        lines += [
            "## Clustering of test cells (Leiden, resolution 1)",
            "",
            table(rows, ("profiles", "ARI", "AMI", "NMI", "homogeneity", "clusters")),
            "",
        ]
    training = data.get("training")
    if training:
        lines += [
            "## Training",
            "",
            f"Epochs run {training['epochs_run']} of {training['epochs_max']}, best epoch "
            f"{fmt(training['best_epoch'])} (0-based, counting phase 1), stopped early: "
            f"{training['stopped_early']}; `train()` wall time {fmt(training['wall_seconds'], 0)} s.",
            "",
            timing_table(training["timing"]),
            "",
        ]
    lines += ["## Environment", "", *environment_lines(data)]
    return "\n".join(lines)


def perturbation_markdown(data: dict) -> str:
    """Summary of the Kang leave-one-cell-type-out result."""
    d = data.get("data", {})
    lines = [
        f"# kang: leave one cell type out, preset {data['preset']}"
        + (" (quick)" if data.get("quick") else ""),
        "",
        f"Status: **{data.get('status')}**. Cells {fmt(d.get('n_cells'))}, genes "
        f"{fmt(d.get('n_genes'))}. Epochs (max) {data['epochs_pretrain']} / {data['epochs']}. "
        "Top-100 DEGs (Wilcoxon, stimulated vs control, up-regulated); R² of mean expression "
        "over the top-100 real DEGs, 100 bootstrap draws of 80 % of cells (mean ± sd).",
        "",
        *[f"- {n}" for n in d.get("notes", [])],
        "",
    ]
    names = {
        "model": "butterflyvi",
        "baseline_scgen_like": "scGen-like latent shift",
        "baseline_knn15": "15-NN over the OT pairs",
        "baseline_shift": "mean shift",
        "baseline_control": "control unchanged",
    }
    rows = []
    for holdout, res in data.get("holdouts", {}).items():
        for who, label in names.items():
            if who not in res:
                continue
            m = res[who]
            rows.append(
                (
                    holdout,
                    label,
                    f"{m['deg_overlap']} ({fmt(m.get('mean_difference_overlap'))})",
                    f"{fmt(m['r2_all_boot_mean'])} ± {fmt(m['r2_all_boot_std'])}",
                    f"{fmt(m['r2_degs_boot_mean'])} ± {fmt(m['r2_degs_boot_std'])}",
                    fmt(m.get("r2_sd_all_boot_mean")),
                    fmt(m.get("r2_sd_degs_boot_mean")),
                )
            )
    lines += [
        table(
            rows,
            (
                "held out",
                "predictor",
                "DEG overlap",
                "R² mean, all genes",
                "R² mean, DEGs",
                "R² sd, all genes",
                "R² sd, DEGs",
            ),
        ),
        "",
        "Baselines: *control unchanged* = the held-out control cells; *mean shift* = control "
        "cells plus the mean stimulated − control difference of the training cell types; "
        "*15-NN* = for each held-out control cell, the mean stimulated partner of its 15 nearest "
        "control cells among the OT pairs (50 SVD components, `bf.tl.knn_translate`); "
        "*scGen-like* = `benchmarks/_scgen_like.py`. DEG overlap: Wilcoxon top-100 (in "
        "brackets: top-100 by mean difference to control).",
        "",
    ]
    rows = [
        (
            holdout,
            r["training"]["epochs_run"],
            r["training"]["best_epoch"],
            r["training"]["wall_seconds"],
        )
        for holdout, r in data.get("holdouts", {}).items()
    ]
    lines += [table(rows, ("held out", "epochs run", "best epoch", "train s")), ""]
    for holdout, res in data.get("holdouts", {}).items():
        lines += [f"Timing without {holdout}:", "", timing_table(res["training"]["timing"]), ""]
    lines += ["## Environment", "", *environment_lines(data)]
    return "\n".join(lines)
