"""Tables across settings and seeds from ``benchmarks/results``, as Markdown.

``python -m benchmarks.compare crossmp`` — ``preset="crossmp"`` beside ``default`` and
``paper`` (and CrossMP's preprocessing / gene-activity input), and the likelihood ablation;
``python -m benchmarks.compare simple`` — butterflyvi beside the NeurIPS 2021 winners'
predictors (``benchmarks/simple_predictors.py``); ``python -m benchmarks.compare kang`` —
the perturbation predictors over the 7 held-out types.

Every cell is ``mean ± sd`` over the seeds found (their number in the last column).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from ._markdown import table
from .summary import mean_sd

RESULTS = Path(__file__).resolve().parent / "results"

ACCESSIBILITY = (
    ("AUROC", "auroc"),
    ("AUPR", "aupr"),
    ("AUROC/peak", "auroc_per_peak_mean"),
    ("AUROC/cell", "auroc_per_cell_mean"),
    ("RMSE", "rmse"),
    ("CMD", "cmd"),
)
EXPRESSION = (
    ("Pearson/cell", "pearson_per_cell_mean"),
    ("Pearson/feature", "pearson_per_feature_mean"),
    ("Spearman/feature", "spearman_per_feature_mean"),
    ("RMSE", "rmse"),
    ("CMD", "cmd"),
)


def runs(stem: str, folder: Path = RESULTS) -> list[dict]:
    """Finished runs ``<stem>.json`` and ``<stem>_s<seed>.json``."""
    pattern = re.compile(re.escape(stem) + r"(_s\d+)?\.json$")
    found = []
    for path in sorted(folder.glob(f"{stem}*.json")):
        if pattern.fullmatch(path.name):
            data = json.loads(path.read_text())
            if data.get("status") == "done":
                found.append(data)
    return found


def _rows_for(direction: str) -> tuple:
    return ACCESSIBILITY if direction.endswith("atac") else EXPRESSION


def model_row(label: str, found: list[dict], direction: str, who: str = "model") -> tuple:
    keys = _rows_for(direction)
    found = [r for r in found if who in r["metrics"]["directions"][direction]]
    values = [
        mean_sd([r["metrics"]["directions"][direction][who].get(k) for r in found]) for _, k in keys
    ]
    return (label, *values, len(found))


def setting_table(dataset: str, settings: list[tuple[str, str]], directions: list[str]) -> str:
    """One table per direction: a row per (label, result stem)."""
    out = []
    for direction in directions:
        keys = _rows_for(direction)
        rows = []
        for label, stem in settings:
            found = runs(f"{dataset}_B_{stem}")
            if found:
                rows.append(model_row(label, found, direction))
        if rows:
            header = ("setting", *(name for name, _ in keys), "seeds")
            out += [
                f"**{dataset}, {direction.replace('_to_', ' → ')}**",
                "",
                table(rows, header),
                "",
            ]
    return "\n".join(out)


def crossmp() -> str:
    """The CrossMP comparison and the likelihood ablation."""
    parts = ["### CrossMP beside default and paper", ""]
    snare = [
        ("default (50 + 100 epochs)", "default_e50-100"),
        ("paper (50 + 100 epochs)", "paper_e50-100"),
        ("crossmp (its schedule: ≤ 500 epochs, patience 25)", "crossmp_e0-500"),
        ("crossmp + CrossMP preprocessing", "crossmp_ppcrossmp_e0-500"),
    ]
    parts.append(setting_table("snareseq", snare, ["rna_to_atac", "atac_to_rna"]))
    small = [
        ("default", "default"),
        ("paper", "paper"),
        ("crossmp", "crossmp_e0-500"),
        ("default + gene activity", "default_xgene_activity"),
        ("crossmp + gene activity", "crossmp_xgene_activity_e0-500"),
    ]
    for dataset in ("bmmc_multiome", "pbmc_multiome"):
        parts.append(setting_table(dataset, small, ["rna_to_atac", "atac_to_rna"]))
    parts += ["### Each likelihood alone on the default", ""]
    ablation = [
        ("default (mse RNA, bernoulli ATAC)", "default"),
        ("RNA nb", "default_rna-nb"),
        ("RNA zinb", "default_rna-zinb"),
        ("ATAC bce_tfidf (the paper's)", "default_atac-bce_tfidf"),
    ]
    parts.append(setting_table("bmmc_multiome", ablation, ["rna_to_atac", "atac_to_rna"]))
    snare_ablation = [
        ("default (mse RNA, bernoulli ATAC)", "default_e50-100"),
        ("RNA nb", "default_rna-nb_e50-100"),
        ("RNA zinb", "default_rna-zinb_e50-100"),
        ("ATAC bce_tfidf (preset scaled)", "scaled_e50-100"),
    ]
    parts.append(setting_table("snareseq", snare_ablation, ["rna_to_atac", "atac_to_rna"]))
    protein = [("default (mse protein)", "default"), ("protein nb", "default_adt-nb")]
    parts.append(setting_table("bmmc_cite", protein, ["rna_to_adt"]))
    return "\n".join(parts)


MODEL_STEMS = {
    "snareseq": "default_e50-100",
    "bmmc_multiome": "default",
    "bmmc_cite": "default",
    "pbmc10k_cite": "default",
    "pbmc_multiome": "default",
}
PREDICTORS = (
    ("kNN in SVD space (LS_lab)", "knn"),
    ("kernel ridge on SVD (Guanlab)", "kernel_ridge"),
    ("linear ridge on SVD", "linear_ridge"),
    ("training mean", "mean"),
)


def simple() -> str:
    """butterflyvi's default beside the simple predictors, per dataset and direction."""
    out = []
    for dataset, stem in MODEL_STEMS.items():
        simple_runs = [
            json.loads(p.read_text()) for p in sorted(RESULTS.glob(f"simple_{dataset}_s*.json"))
        ]
        simple_runs = [r for r in simple_runs if "finished" in r]
        model_runs = runs(f"{dataset}_B_{stem}")
        if not simple_runs:
            continue
        for direction in simple_runs[0]["directions"]:
            keys = _rows_for(direction)
            rows = []
            if model_runs and direction in model_runs[0]["metrics"]["directions"]:
                rows.append(model_row("**butterflyvi** (default)", model_runs, direction))
                hybrid = model_row(
                    "kNN in butterflyvi's latent space", model_runs, direction, "latent_knn"
                )
                if hybrid[-1]:
                    rows.append(hybrid)
            for label, who in PREDICTORS:
                values = [
                    mean_sd([r["directions"][direction][who].get(k) for r in simple_runs])
                    for _, k in keys
                ]
                rows.append((label, *values, len(simple_runs)))
            header = ("predictor", *(name for name, _ in keys), "seeds")
            title = f"**{dataset}, {direction.replace('_to_', ' → ')}**"
            out += [title, "", table(rows, header), ""]
    return "\n".join(out)


KANG_KEYS = (
    ("DEG overlap", "deg_overlap"),
    ("R² mean, all", "r2_all_boot_mean"),
    ("R² mean, DEGs", "r2_degs_boot_mean"),
    ("R² sd, all", "r2_sd_all_boot_mean"),
    ("R² sd, DEGs", "r2_sd_degs_boot_mean"),
)
KANG_PREDICTORS = (
    ("**butterflyvi** (default)", "model"),
    ("scGen-like latent shift", "baseline_scgen_like"),
    ("15-NN over the OT pairs", "baseline_knn15"),
    ("mean shift", "baseline_shift"),
    ("control unchanged", "baseline_control"),
)


KANG_GENE_SETS = (
    ("2,000 highly variable genes", "kang_LOO_default"),
    ("scGen's full gene set (`--genes all`)", "kang_LOO_default_genesall"),
)


def kang() -> str:
    """Per gene set and held-out type: each predictor's figures, mean ± sd over the seeds."""
    out = []
    for title, stem in KANG_GENE_SETS:
        found = runs(stem)
        if found:
            genes = found[0]["data"]["n_genes"]
            out += [
                f"**{title}: {genes:,} genes, {len(found)} seed(s)**",
                "",
                _kang_table(found),
                "",
            ]
    return "\n".join(out)


def _kang_table(found: list[dict]) -> str:
    rows = []
    types = list(found[0]["holdouts"])
    mean = f"mean of the {len(types)}"
    for holdout in [*types, mean]:
        for label, who in KANG_PREDICTORS:
            values = []
            for _, key in KANG_KEYS:
                if holdout == mean:
                    per_seed = [np.mean([r["holdouts"][t][who][key] for t in types]) for r in found]
                else:
                    per_seed = [r["holdouts"][holdout][who][key] for r in found]
                values.append(mean_sd(per_seed, 1 if key == "deg_overlap" else 3))
            rows.append((holdout, label, *values))
    header = ("held out", "predictor", *(name for name, _ in KANG_KEYS))
    return table(rows, header)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare")
    parser.add_argument("section", choices=["crossmp", "simple", "kang"])
    args = parser.parse_args(argv)
    print({"crossmp": crossmp, "simple": simple, "kang": kang}[args.section]())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
