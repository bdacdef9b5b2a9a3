"""Command line of the benchmarks: ``python -m benchmarks.run --dataset NAME``.

Examples
--------
python -m benchmarks.run --dataset demo --quick
python -m benchmarks.run --dataset snareseq --preset default --epochs-pretrain 50 --epochs 100
python -m benchmarks.run --dataset kang
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
import traceback
from pathlib import Path

import torch

from butterflyvi.model._presets import PRESETS

from ._data import DATASETS, PAIRED
from ._markdown import paired_markdown, perturbation_markdown
from ._report import Record, write_markdown
from ._timing import machine, versions

#: Epochs: the paper's (100 / 200) and ``--quick``'s.
PAPER_EPOCHS = (100, 200)
QUICK_EPOCHS = (2, 3)


def result_stem(
    dataset: str,
    variant: str,
    preset: str,
    quick: bool,
    epochs: tuple[int, int] | None = None,
    seed: int = 0,
    options: tuple[str, ...] = (),
) -> str:
    """``<dataset>_<variant>_<preset>[_<option>...][_e<pre>-<epochs>][_s<seed>][_quick]``
    (kang: variant ``LOO``).

    The epochs appear only when they differ from the default of the mode (paper's 100 / 200,
    or ``--quick``'s), the seed only when it is not 0; ``options`` name the changes made on
    top of the preset (``rna-nb``, ``ppcrossmp``, ``xgene_activity``).
    """
    stem = "_".join([f"{dataset}_{variant}_{preset}", *options])
    if epochs is not None and tuple(epochs) != (QUICK_EPOCHS if quick else PAPER_EPOCHS):
        stem += f"_e{epochs[0]}-{epochs[1]}"
    if seed != 0:
        stem += f"_s{seed}"
    return stem + ("_quick" if quick else "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--dataset", required=True, choices=[*DATASETS, "all"])
    parser.add_argument("--quick", action="store_true", help="tiny run (CI)")
    parser.add_argument("--preset", default="default", choices=sorted(PRESETS))
    parser.add_argument("--variant", default="B", choices=["B", "T", "C"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs-pretrain", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument(
        "--cell-types", nargs="*", default=None, help="kang: held-out types (default all 7)"
    )
    parser.add_argument(
        "--genes",
        default="hvg",
        choices=["hvg", "all"],
        help="kang: 2,000 highly variable genes (default) or scGen's full gene set",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's choice; 1 is far faster on a busy machine)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="kang: keep the held-out types already in the result file (same settings)",
    )
    parser.add_argument("--no-umap", action="store_true", help="skip the UMAP embeddings")
    parser.add_argument(
        "--likelihood",
        action="append",
        default=[],
        metavar="MOD=NAME",
        help="override one modality's likelihood (e.g. rna=nb); repeatable",
    )
    parser.add_argument(
        "--pp",
        default="default",
        choices=["default", "crossmp"],
        help="preprocessing: the package's defaults or CrossMP's (bf.pp.preprocess_crossmp)",
    )
    parser.add_argument(
        "--extra",
        default=None,
        choices=["gene_activity"],
        help="an extra input beside ATAC (gene activity, MAESTRO RP)",
    )
    args = parser.parse_args(argv)
    try:
        args.likelihoods = dict(item.split("=", 1) for item in args.likelihood) or None
    except ValueError:
        parser.error(f"--likelihood: expected MOD=NAME, found {args.likelihood}")
    return args


def _options(args: argparse.Namespace) -> tuple[str, ...]:
    """The parts of the result name that record changes on top of the preset."""
    options = [f"{mod}-{name}" for mod, name in sorted((args.likelihoods or {}).items())]
    if args.pp != "default":
        options.append(f"pp{args.pp}")
    if args.extra:
        options.append(f"x{args.extra}")
    if getattr(args, "genes", "hvg") != "hvg":
        options.append(f"genes{args.genes}")
    return tuple(options)


def _previous_holdouts(path: Path, seed: int, epochs_pretrain: int, epochs: int) -> dict:
    """Held-out results of an earlier run in ``path`` with the same seed and epochs."""
    if not path.exists():
        return {}
    old = json.loads(path.read_text())
    same = (old.get("seed"), old.get("epochs_pretrain"), old.get("epochs")) == (
        seed,
        epochs_pretrain,
        epochs,
    )
    return dict(old.get("holdouts", {})) if same else {}


def run_one(args: argparse.Namespace, dataset: str) -> Path:
    """Run one dataset; return the JSON path."""
    from ._paired import run_paired
    from ._perturbation import run_perturbation

    schedule = PRESETS[args.preset]["train"]
    default = (
        QUICK_EPOCHS if args.quick else (schedule["max_epochs_pretrain"], schedule["max_epochs"])
    )
    epochs_pretrain = default[0] if args.epochs_pretrain is None else args.epochs_pretrain
    epochs = default[1] if args.epochs is None else args.epochs
    variant = "LOO" if dataset == "kang" else args.variant
    stem = result_stem(
        dataset,
        variant,
        args.preset,
        args.quick,
        (epochs_pretrain, epochs),
        args.seed,
        _options(args),
    )
    path = args.out / f"{stem}.json"
    previous = _previous_holdouts(path, args.seed, epochs_pretrain, epochs) if args.resume else {}
    record = Record(
        path,
        {
            "dataset": dataset,
            "variant": variant,
            "preset": args.preset,
            "seed": args.seed,
            "quick": args.quick,
            "epochs_pretrain": epochs_pretrain,
            "epochs": epochs,
            "likelihoods": args.likelihoods,
            "pp": args.pp,
            "extra": args.extra,
            "genes": args.genes if dataset == "kang" else None,
            "command": "python -m benchmarks.run " + shlex.join(sys.argv[1:]),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "versions": versions(),
            "machine": machine(),
            "status": "starting",
        },
    )
    kwargs = {
        "preset": args.preset,
        "seed": args.seed,
        "epochs_pretrain": epochs_pretrain,
        "epochs": epochs,
        "quick": args.quick,
        "record": record,
        "threads": args.threads,
    }
    try:
        if dataset == "kang":
            run_perturbation(
                cell_types=args.cell_types, previous=previous, genes=args.genes, **kwargs
            )
        else:
            umap = None if (args.quick or args.no_umap) else args.out / f"{stem}_umap.npz"
            run_paired(
                dataset,
                variant=args.variant,
                umap_path=umap,
                likelihoods=args.likelihoods,
                pp=args.pp,
                extra=args.extra,
                **kwargs,
            )
    except Exception:
        record.update(status="failed", error=traceback.format_exc())
        raise
    finally:
        record.update(finished=time.strftime("%Y-%m-%d %H:%M:%S"))
        writer = perturbation_markdown if dataset == "kang" else paired_markdown
        write_markdown(path.with_suffix(".md"), writer(record.data))
    return path


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    datasets = [*PAIRED, "kang"] if args.dataset == "all" else [args.dataset]
    failed = []
    for dataset in datasets:
        try:
            print(f"[benchmarks] {dataset}: {run_one(args, dataset)}", flush=True)
        except FileNotFoundError as err:  # a shared dataset that is not present
            print(f"[benchmarks] {dataset}: skipped ({err})", flush=True)
        except Exception:
            failed.append(dataset)
            if len(datasets) == 1:
                raise
            traceback.print_exc()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
