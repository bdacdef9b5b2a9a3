"""``butterflyvi demo``: train and evaluate on the bundled SNARE-seq cells in a few minutes."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ._command import Command
from ._errors import EXIT_OK, InputError
from ._io import output_dir
from ._report import format_table, format_value, json_ready
from ._threads import THREADS_HELP, torch_threads

#: Demo-sized schedule; the paper trains 100 pretraining and 200 integrative epochs.
DEMO_EPOCHS_PRETRAIN = 20
DEMO_EPOCHS = 40
PAPER_EPOCHS_PRETRAIN = 100
PAPER_EPOCHS = 200

#: Headline metrics: (label, direction key, metric key).
HEADLINE = (
    ("RNA→ATAC AUROC (all entries)", "rna_to_atac", "auroc"),
    ("RNA→ATAC AUROC (per-peak mean)", "rna_to_atac", "auroc_per_peak_mean"),
    ("ATAC→RNA Pearson (per-cell mean)", "atac_to_rna", "pearson_per_cell_mean"),
    ("ATAC→RNA Pearson (per-gene mean)", "atac_to_rna", "pearson_per_feature_mean"),
)


def _arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``butterflyvi demo``."""
    parser.add_argument("--out", default="demo_output", metavar="DIR", help="output folder")
    parser.add_argument(
        "--epochs-pretrain",
        type=int,
        default=DEMO_EPOCHS_PRETRAIN,
        metavar="N",
        help=f"pretraining epochs (default {DEMO_EPOCHS_PRETRAIN}; the paper: "
        f"{PAPER_EPOCHS_PRETRAIN})",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=DEMO_EPOCHS,
        metavar="N",
        help=f"integrative epochs (default {DEMO_EPOCHS}; the paper: {PAPER_EPOCHS})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and the training")
    parser.add_argument(
        "--n-cells",
        type=int,
        default=None,
        metavar="N",
        help="use a seeded random subset of N of the 2,000 cells (quick smoke runs)",
    )
    parser.add_argument(
        "--accelerator", default="auto", help="Lightning accelerator: auto, cpu, gpu (auto)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, metavar="N", help=THREADS_HELP.format(default=1)
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="hide the Lightning progress bar"
    )


def _check_epochs(args: argparse.Namespace) -> None:
    from .._validation import check_epochs

    check_epochs(args.epochs_pretrain, args.epochs, names=("--epochs-pretrain", "--epochs"))
    if args.n_cells is not None and args.n_cells < 50:
        raise InputError(f"--n-cells: expected at least 50 cells, found {args.n_cells}.")


def run(args: argparse.Namespace) -> int:
    """Run the demo; see :func:`register` for the arguments."""
    _check_epochs(args)
    out = output_dir(args.out, argument="--out", overwrite=True)
    started = time.perf_counter()
    print(
        f"butterflyvi demo: {args.epochs_pretrain} pretraining + {args.epochs} integrative "
        f"epochs. The paper trains {PAPER_EPOCHS_PRETRAIN} + {PAPER_EPOCHS}; this schedule "
        "is shortened so that the demo runs in a few minutes on a laptop CPU.",
        flush=True,
    )

    from ._demo_steps import evaluate, prepare, train_model

    with _quiet(), torch_threads(args.threads):
        mdata, split = prepare(args.seed, n_cells=args.n_cells)
        model, timer = train_model(
            mdata,
            split,
            epochs_pretrain=args.epochs_pretrain,
            epochs=args.epochs,
            seed=args.seed,
            accelerator=args.accelerator,
            progress=not args.no_progress,
        )
        train_seconds = sum(timer.durations.values())
        out.mkdir(parents=True, exist_ok=True)
        model.save(str(out / "model"), save_anndata=True, overwrite=True)
        results = evaluate(model, mdata, split)
        mdata.write(out / "demo.h5mu", compression="gzip")

    wall = time.perf_counter() - started
    timing = timer.summary()
    report = {
        "dataset": "snareseq_demo",
        "n_cells": {"train": len(split[0]), "validation": len(split[1]), "test": len(split[2])},
        "seed": args.seed,
        "threads": args.threads,
        "epochs": {
            "pretraining": args.epochs_pretrain,
            "integrative": args.epochs,
            "paper_pretraining": PAPER_EPOCHS_PRETRAIN,
            "paper_integrative": PAPER_EPOCHS,
            "best_epoch": getattr(model, "best_epoch_", None),
        },
        "headline": {
            label: {"model": results["model"][d][k], "baseline": results["baseline"][d][k]}
            for label, d, k in HEADLINE
        },
        **results,
        "timing": {"wall_seconds": wall, "training_seconds": train_seconds, **timing},
    }
    (out / "metrics.json").write_text(json.dumps(json_ready(report), indent=2) + "\n")
    _print_report(report, out)
    return EXIT_OK


def _quiet():
    from ._warnings import quiet

    return quiet()


def _threads_text(report: dict) -> str:
    threads = report["threads"]
    if threads is None:
        return "torch's default CPU threads"
    return f"{threads} CPU thread" + ("s" if threads > 1 else "")


def _print_report(report: dict, out: Path) -> None:
    n = report["n_cells"]
    print(
        f"\nHeld-out test cells: {n['test']} (train {n['train']}, validation "
        f"{n['validation']}; seed {report['seed']}). Baseline: every cell predicted as the "
        "per-feature mean of the training cells."
    )
    rows = [(label, v["model"], v["baseline"]) for label, v in report["headline"].items()]
    print(format_table(("metric", "model", "baseline"), rows))
    print(
        "(— : undefined; the baseline is the same for every cell, so its per-peak AUROC is "
        "0.5 and its per-gene correlation does not exist.)"
    )
    timing = report["timing"]
    pre, integ = timing["pretraining"], timing["integrative"]
    print(
        f"\nTime: {timing['wall_seconds']:.0f} s wall in all ({_threads_text(report)}); pretraining {pre['epochs']} "
        f"epochs at {format_value(pre['seconds_per_epoch'], digits=2)} s/epoch, integrative "
        f"{integ['epochs']} epochs at {format_value(integ['seconds_per_epoch'], digits=2)} "
        "s/epoch."
    )
    print(f"Wrote {out / 'demo.h5mu'}, {out / 'model'}/ and {out / 'metrics.json'}.")
    head = report["headline"]
    auroc = head[HEADLINE[0][0]]
    pearson = head[HEADLINE[2][0]]
    print(
        f"demo done in {timing['wall_seconds']:.0f} s: RNA→ATAC AUROC "
        f"{format_value(auroc['model'])} (baseline {format_value(auroc['baseline'])}), "
        f"ATAC→RNA Pearson per cell {format_value(pearson['model'])} (baseline "
        f"{format_value(pearson['baseline'])}) on {n['test']} held-out cells."
    )


COMMAND = Command(
    "demo",
    help="train and evaluate on the bundled SNARE-seq demo (2,000 cells, a few minutes)",
    description="Train a ButterflyModel on the bundled SNARE-seq demo (2,000 mouse cortex cells, "
    "RNA + ATAC): preprocess, split 80/10/10 (seeded), train a shortened schedule, "
    "translate the held-out test cells both ways and compare with the per-feature "
    "training-mean baseline. Writes DIR/demo.h5mu, DIR/model/ and DIR/metrics.json.",
    arguments=_arguments,
    run=run,
)

COMMANDS = (COMMAND,)
