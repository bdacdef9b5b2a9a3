"""Ablation study of butterflyvi's options (issue 9): one training per option, same seed.

Each option is one change to the ``"default"`` preset (or a named combination), trained on a
fixed split of a named data set and evaluated on its test cells in both directions. Results
are appended to a JSON file (one record per run) as they finish, so an interrupted study
keeps what it measured.

Examples
--------
The table of ``docs/ablations.md`` (2,000-cell SNARE-seq demo, 10 + 20 epochs)::

    python -m benchmarks.ablation --dataset demo --out benchmarks/results/ablation_demo.json

A few options on the 3,000-cell SNARE-seq subset, more epochs::

    python -m benchmarks.ablation --dataset snare3k --options default binary_relative \\
        --epochs 20 40 --out benchmarks/results/ablation_snare3k.json

The final configuration on the full split (50 + 100 epochs, three seeds)::

    python -m benchmarks.ablation --dataset snareseq --options default paper --epochs 50 100 \\
        --seeds 0 1 2 --out benchmarks/results/full_snareseq.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._ablation_data import DATASETS, Prepared, prepare
from ._ablation_run import run_one

#: Each option: what it changes relative to the ``"default"`` preset. ``module`` values may be
#: callables of the prepared data set (for per-modality values). ``data`` are keyword
#: arguments of :func:`benchmarks._ablation_data.prepare`.
OPTIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "paper": {"preset": "paper"},
    "binary_target": {"module": {"accessibility_target": "binary"}},
    "relative_validation": {"plan": {"validation_objective": "relative"}},
    "binary_relative": {
        "module": {"accessibility_target": "binary"},
        "plan": {"validation_objective": "relative"},
    },
    "loss_balance": {"plan": {"loss_balance": "baseline"}},
    "binary_balanced": {
        "module": {"accessibility_target": "binary"},
        "plan": {"validation_objective": "relative", "loss_balance": "baseline"},
    },
    "correlation_validation": {"plan": {"validation_objective": "correlation"}},
    "binary_correlation": {
        "module": {"accessibility_target": "binary"},
        "plan": {"validation_objective": "correlation"},
    },
    "no_output_bn": {"module": {"output_batch_norm": False}},
    "linear_heads": {"module": {"variational_head": "linear"}},
    "mask_rna_0.25": {"mask": {"expression": 0.25}},
    "mask_rna_0": {"mask": {"expression": 0.0}},
    "mask_none": {"mask": {"expression": 0.0, "accessibility": 0.0}},
    "kl_x0.1": {"kl_factor": 0.1},
    "kl_x10": {"kl_factor": 10.0},
    "no_kl_warmup": {"plan": {"n_epochs_kl_warmup": 0}},
    "lr_2e-3": {"plan": {"lr": 2e-3}},
    "lr_5e-4": {"plan": {"lr": 5e-4}},
    "batch_128": {"train": {"batch_size": 128}},
    "batch_256_lr_2e-3": {"train": {"batch_size": 256}, "plan": {"lr": 2e-3}},
    "dropout_0": {"module": {"dropout": 0.0}},
    "no_adversarial": {"module": {"adversarial_weight": 0.0}},
    "peaks_0.1pct": {"data": {"min_cell_fraction": 0.001}},
    "augment_T": {"augment_rounds": 2},
    "output_0.25": {"module": {"output_fraction": 0.25}},
    "output_0.1": {"module": {"output_fraction": 0.1}},
}


def _module_kwargs(spec: dict[str, Any], prepared: Prepared) -> dict[str, Any]:
    from butterflyvi.kinds import get_kind

    kwargs = dict(spec.get("module", {}))
    if "mask" in spec:
        kwargs["mask_rates"] = tuple(
            spec["mask"].get(k, get_kind(k).mask_rate) for k in prepared.kinds
        )
    if "kl_factor" in spec:
        n = [prepared.mdata[m].n_vars for m in prepared.modalities]
        kwargs["kl_weights"] = tuple(
            spec["kl_factor"] * get_kind(k).kl_weight(n_m)
            for k, n_m in zip(prepared.kinds, n, strict=True)
        )
    return kwargs


def _row(name: str, result: dict[str, Any], prepared: Prepared) -> dict[str, Any]:
    """The headline numbers of one run (a flat dict)."""
    x, y = prepared.modalities
    fwd, bwd = result[f"{x}_to_{y}"], result[f"{y}_to_{x}"]
    row = {"option": name}
    if "auroc" in fwd:
        row.update(auroc=fwd["auroc"], aupr=fwd["aupr"], auroc_per_peak=fwd["auroc_per_peak_mean"])
    else:
        row.update(
            fwd_pearson_cell=fwd["pearson_per_cell_mean"],
            fwd_pearson_feature=fwd["pearson_per_feature_mean"],
        )
    row.update(
        pearson_cell=bwd["pearson_per_cell_mean"],
        pearson_gene=bwd["pearson_per_feature_mean"],
        ari_y=fwd["clustering"]["ari"],
        ami_y=fwd["clustering"]["ami"],
        ari_x=bwd["clustering"]["ari"],
        ami_x=bwd["clustering"]["ami"],
        seconds=result["train_seconds"],
        best_epoch=result["best_epoch"],
    )
    return row


def markdown_table(records: list[dict[str, Any]]) -> str:
    """The ablation table (markdown) of ``records``; several seeds of an option: mean ± sd."""
    columns = [
        ("auroc", "AUROC", 3),
        ("aupr", "AUPR", 4),
        ("auroc_per_peak", "per-peak AUROC", 3),
        ("fwd_pearson_cell", "x→y Pearson/cell", 3),
        ("fwd_pearson_feature", "x→y Pearson/feature", 3),
        ("pearson_cell", "Pearson/cell", 4),
        ("pearson_gene", "Pearson/gene", 3),
        ("ari_y", "ARI y", 3),
        ("ami_y", "AMI y", 3),
        ("ari_x", "ARI x", 3),
        ("ami_x", "AMI x", 3),
        ("best_epoch", "best epoch", 0),
        ("seconds", "train s", 0),
    ]
    present = [c for c in columns if any(c[0] in r["summary"] for r in records)]
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["dataset"], r["option"], tuple(r["epochs"])), []).append(r["summary"])
    lines = [
        "| data | option | " + " | ".join(c[1] for c in present) + " |",
        "|---|---|" + "---|" * len(present),
    ]
    for (dataset, option, _), rows in groups.items():
        cells = []
        for key, _, digits in present:
            values = np.array([r[key] for r in rows if r.get(key) is not None], dtype=float)
            if values.size == 0:
                cells.append("–")
            elif values.size == 1:
                cells.append(f"{values[0]:.{digits}f}")
            else:
                cells.append(f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}")
        lines.append(f"| {dataset} | {option} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="demo", choices=DATASETS)
    parser.add_argument("--options", nargs="+", default=list(OPTIONS), choices=list(OPTIONS))
    parser.add_argument("--combine", nargs="*", default=[], help="extra run combining options")
    parser.add_argument("--epochs", nargs=2, type=int, default=(10, 20), metavar=("PRE", "INT"))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--preset", default="default", help="base preset of every option")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--table", action="store_true", help="print the markdown table of --out and exit"
    )
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table(json.loads(args.out.read_text())))
        return

    warnings.filterwarnings("ignore")
    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    logging.getLogger("scvi").setLevel(logging.ERROR)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    records = json.loads(args.out.read_text()) if args.out.exists() else []

    runs: list[tuple[str, dict[str, Any]]] = [(o, OPTIONS[o]) for o in args.options]
    if args.combine:
        combined: dict[str, Any] = {}
        for option in args.combine:
            for key, value in OPTIONS[option].items():
                if isinstance(value, dict) and isinstance(combined.get(key), dict):
                    combined[key] = {**combined[key], **value}
                else:
                    combined[key] = value
        runs.append(("+".join(args.combine), combined))

    cache: dict[tuple, Prepared] = {}
    for name, spec in runs:
        data_kwargs = spec.get("data", {})
        key = tuple(sorted(data_kwargs.items()))
        if key not in cache:
            cache[key] = prepare(args.dataset, **data_kwargs)
        prepared = cache[key]
        for seed in args.seeds:
            start = time.time()
            result = run_one(
                prepared,
                preset=spec.get("preset", args.preset),
                model_kwargs=_module_kwargs(spec, prepared),
                plan_kwargs=spec.get("plan"),
                train_kwargs=spec.get("train"),
                augment_rounds=spec.get("augment_rounds", 0),
                max_epochs_pretrain=args.epochs[0],
                max_epochs=args.epochs[1],
                seed=seed,
            )
            record = {
                "dataset": args.dataset,
                "option": name,
                "spec": {k: v for k, v in spec.items() if not callable(v)},
                "base_preset": args.preset,
                "seed": seed,
                "epochs": list(args.epochs),
                "data": prepared.info,
                "summary": _row(name, result, prepared),
                "result": result,
                "wall_seconds": time.time() - start,
                "machine": {
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    "torch": torch.__version__,
                    "threads": torch.get_num_threads(),
                },
            }
            records.append(record)
            args.out.write_text(json.dumps(records, indent=1, default=float))
            print(json.dumps(record["summary"], default=float), flush=True)


if __name__ == "__main__":
    main()
