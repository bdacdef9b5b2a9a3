"""butterflyvi and the released scButterfly side by side, in one run, on the SNARE-seq split.

``python -m benchmarks.vs_original [--epochs 50 50 100] [--threads 2] [--rounds 1]``

1. Sets up the original in its own virtualenv (``benchmarks/.original-venv``, ignored by
   git): ``scbutterfly==0.0.9`` from PyPI without its pinned dependencies (scvi-tools 0.19,
   scipy 1.9.3, episcanpy 0.3.2 …, which do not install beside torch 2.13 on Python 3.11);
   the venv reuses this project's scanpy/torch/anndata and gets, applied by this script:
   the two fixes of ``BASELINE.md`` (device-agnostic tensors: the labels of the
   discriminator loss, which hard-codes ``.cuda()``, and float32 minibatches, which it casts
   only on a GPU; the old scipy semantics of its dense TF-IDF, i.e.
   the matrix densified first) and the two episcanpy functions it calls (``binarize``,
   ``filter_features``), written from their documented behaviour.
2. Runs the original and butterflyvi (``preset="paper"``, the same preprocessing, the same
   split, epochs and torch threads) as separate processes, alternating, ``--rounds`` times.
3. Prints and saves (``benchmarks/results/vs_original.json``): seconds per phase and end
   to end, their ratios, peak memory, both models' held-out figures, butterflyvi's **time
   to the original's quality** (training seconds until its held-out AUROC, per-peak AUROC,
   Pearson per cell and per gene all first reach the original's final ones; evaluated after
   every epoch, evaluation not counted) and its phase-2 FLOP/s against the dense matmul
   rate measured in the same process.

``--preset default`` trains butterflyvi's default instead of ``paper`` (the original's
configuration); ``--original-from FILE`` takes the original's side from an earlier run's JSON
(same epochs and threads) instead of training it again; ``--butterflyvi-epochs P I`` gives
butterflyvi a schedule of its own (only its time to the original's quality is then comparable).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
VENV = Path(__file__).resolve().parent / ".original-venv"
ORIGINAL = "scbutterfly==0.0.9"
FIGURES = ("auroc", "auroc_per_peak_mean", "pearson_per_cell_mean", "pearson_per_feature_mean")

_EPISCANPY_SHIM = '''"""The two episcanpy 0.3.2 functions scButterfly 0.0.9 calls (written for the benchmark)."""
import numpy as np
import scanpy as sc


class pp:
    @staticmethod
    def binarize(adata, copy=False):
        adata = adata.copy() if copy else adata
        adata.X = (adata.X > 0).astype(np.float32)
        return adata if copy else None

    @staticmethod
    def filter_features(adata, min_cells=None):
        sc.pp.filter_genes(adata, min_cells=int(min_cells))
'''


def ensure_original_env(venv: Path = VENV) -> Path:
    """The original's virtualenv (created once); returns its python."""
    python = venv / "bin" / "python"
    marker = venv / ".ready"
    if marker.exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    ours = Path(
        subprocess.check_output(
            [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    # Reuse this project's heavy dependencies (torch, scanpy, anndata, mudata) after its own.
    (site / "zz_butterflyvi_deps.pth").write_text(f"import site; site.addsitedir({str(ours)!r})\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", ORIGINAL, "adjustText"],
        check=True,
    )
    package = site / "scButterfly"
    _patch(
        package / "train_model.py",
        "torch.tensor(temp).cuda().float()",
        "torch.tensor(temp).to(predict_atac.device).float()",
    )
    _patch(
        package / "data_processing.py",
        "    count_mat = count_mat.T\n",
        "    if scipy.sparse.issparse(count_mat):  # old scipy semantics (BASELINE.md)\n"
        "        count_mat = np.asmatrix(count_mat.toarray())\n"
        "    count_mat = count_mat.T\n",
    )
    for module in package.glob("*.py"):  # numpy 2 removed the alias (no other change)
        module.write_text(module.read_text().replace("np.Inf", "np.inf"))
    # Its minibatches become float32 only on a GPU (``.cuda().to(torch.float32)``): on a CPU
    # the float64 rows meet float32 weights. Cast where the rows are made.
    for name in ("RNA_x", "ATAC_x", "x"):
        _patch(
            package / "model_utlis.py",
            f"{name} = torch.from_numpy({name})",
            f"{name} = torch.from_numpy(np.asarray({name}, dtype=np.float32))",
        )
    (site / "episcanpy").mkdir(exist_ok=True)
    (site / "episcanpy" / "__init__.py").write_text("")
    (site / "episcanpy" / "api.py").write_text(_EPISCANPY_SHIM)
    # pip compiled the sources before the fixes; a same-size edit in the same second would
    # leave the stale bytecode in use.
    shutil.rmtree(package / "__pycache__", ignore_errors=True)
    marker.write_text(ORIGINAL)
    return python


def _patch(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise RuntimeError(f"{path}: the code to fix was not found ({old!r}).")
    path.write_text(text.replace(old, new))


# ------------------------------------------------------------------ the butterflyvi side
def run_butterflyvi(
    data: Path, split_path: Path, out: Path, epochs, threads: int, preset: str = "paper"
) -> dict:
    """Train butterflyvi (``preset``) in this process, evaluating after every epoch."""
    import lightning.pytorch as pl
    import mudata as md
    import torch

    import butterflyvi as bf

    from ._perf_common import matmul_flops, peak_rss_gb
    from ._perf_step import FlopCounter, RawSteps, minibatch

    torch.set_num_threads(threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdata = md.read_h5mu(data)
    split = json.loads(split_path.read_text())
    bf.pp.preprocess_rna(mdata["rna"])
    bf.pp.preprocess_atac(mdata["atac"])
    mdata.update()
    position = {n: i for i, n in enumerate(mdata.obs_names)}
    idx = [np.array([position[n] for n in split[p]]) for p in ("train", "validation", "test")]
    test = mdata[split["test"]].copy()
    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = bf.ButterflyModel(mdata, preset=preset)

    class Tracker(pl.Callback):
        """Training seconds per epoch (evaluation excluded) and held-out figures."""

        def __init__(self):
            self.records: list[dict] = []
            self.train_seconds = 0.0

        def on_train_epoch_start(self, trainer, pl_module):
            self.start = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module):
            self.train_seconds += time.perf_counter() - self.start
            was_training = pl_module.training
            pl_module.eval()
            figures = _score(model, test)
            pl_module.train(was_training)
            self.records.append(
                {"epoch": trainer.current_epoch, "train_seconds": self.train_seconds, **figures}
            )

    tracker = Tracker()
    flops_before = matmul_flops()
    start = time.perf_counter()
    model.train(
        max_epochs_pretrain=epochs[0],
        max_epochs=epochs[2],
        external_indexing=idx,
        callbacks=[tracker],
        enable_progress_bar=False,
        enable_model_summary=False,
        early_stopping=False,
    )
    wall = time.perf_counter() - start
    flops_after = matmul_flops()
    # Phase-2 FLOP/s: forward FLOPs of one training step (hooks) × 3 for the backward pass,
    # on a copy so that the trained weights stay as they are.
    import copy

    module = copy.deepcopy(model.module)
    steps_runner = RawSteps(module, minibatch(mdata, ("rna", "atac"), np.sort(idx[0][:64])))
    counter = FlopCounter(module)
    steps_runner.phase2()
    counter.remove()
    phase2 = [r for r in tracker.records if r["epoch"] >= epochs[0]]
    seconds_phase1 = tracker.records[epochs[0] - 1]["train_seconds"] if epochs[0] else 0.0
    seconds_phase2 = tracker.train_seconds - seconds_phase1
    steps = int(np.ceil(len(idx[0]) / 64))
    return {
        "epochs": list(epochs),
        "threads": threads,
        "preset": preset,
        "seconds": {"pretraining": seconds_phase1, "integrative": seconds_phase2},
        "train_seconds": tracker.train_seconds,
        "wall_seconds_with_evaluation": wall,
        "peak_rss_gb": peak_rss_gb(),
        "records": tracker.records,
        "final": phase2[-1] if phase2 else tracker.records[-1],
        "matmul_gflops": (flops_before + flops_after) / 2e9,
        "phase2_forward_gflop_per_step": counter.executed / 1e9,
        "phase2_steps_per_epoch": steps,
    }


def _score(model, test) -> dict:
    import butterflyvi as bf

    atac = bf.metrics.accessibility(model.translate(test, source="rna"), test["atac"])
    rna = bf.metrics.expression(model.translate(test, source="atac"), test["rna"])
    return {k: (atac if k.startswith("auroc") else rna)[k] for k in FIGURES}


def score_original(out: Path, data: Path) -> dict:
    """The original's test predictions scored with butterflyvi's metrics."""
    import mudata as md
    from anndata import AnnData

    import butterflyvi as bf

    saved = np.load(out / "original_predictions.npz", allow_pickle=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdata = md.read_h5mu(data)
    bf.pp.preprocess_rna(mdata["rna"])  # as butterflyvi's side: every gene (1,677 < 3,000)
    bf.pp.preprocess_atac(mdata["atac"])
    mdata.update()
    test = mdata[list(saved["test_cells"])].copy()
    rna_truth = test["rna"][:, list(saved["genes"])]
    atac_truth = test["atac"][:, list(saved["peaks"])]
    atac = bf.metrics.accessibility(AnnData(saved["rna_to_atac"]).X, atac_truth.X)
    rna = bf.metrics.expression(AnnData(saved["atac_to_rna"]).X, rna_truth.X)
    return {k: (atac if k.startswith("auroc") else rna)[k] for k in FIGURES}


def time_to_quality(records: list[dict], target: dict) -> dict:
    """The first epoch whose held-out figures all reach ``target``, and its training time."""
    for record in records:
        if all(record[k] >= target[k] for k in FIGURES):
            return {"epoch": record["epoch"], "train_seconds": record["train_seconds"]}
    best = {k: max(r[k] for r in records) for k in FIGURES}
    return {"epoch": None, "train_seconds": None, "best_reached": best}


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.vs_original")
    parser.add_argument(
        "--epochs",
        type=int,
        nargs=3,
        default=(50, 50, 100),
        metavar=("RNA_PRETRAIN", "ATAC_PRETRAIN", "INTEGRATIVE"),
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--preset", choices=["paper", "default"], default="paper")
    parser.add_argument("--original-from", type=Path, default=None)
    parser.add_argument(
        "--butterflyvi-epochs",
        type=int,
        nargs=2,
        default=None,
        metavar=("PRETRAIN", "INTEGRATIVE"),
        help="butterflyvi's own schedule (for the time to the original's quality only)",
    )
    parser.add_argument("--side", choices=["butterflyvi"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS / "vs_original.json")
    args = parser.parse_args(argv)

    from butterflyvi.datasets._public import dataset_files

    data = dataset_files("snareseq")[0]
    if args.side == "butterflyvi":  # the child process of one round
        record = run_butterflyvi(
            data, args.work / "split.json", args.work, args.epochs, args.threads, args.preset
        )
        (args.work / "butterflyvi.json").write_text(json.dumps(record))
        return 0

    import butterflyvi as bf

    earlier = _earlier_originals(args) if args.original_from else None
    ours_epochs = args.epochs
    if args.butterflyvi_epochs:
        pretrain, integrative = args.butterflyvi_epochs
        ours_epochs = (pretrain, pretrain, integrative)
    python = None if earlier else ensure_original_env()
    here = Path(__file__).resolve()
    rounds = []
    for round_index in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "split.json").write_text(json.dumps(bf.datasets.snareseq_split()))
            order = (
                ("original", "butterflyvi") if round_index % 2 == 0 else ("butterflyvi", "original")
            )
            if earlier:
                order = ("butterflyvi",)
            for side in order:
                print(f"[vs_original] round {round_index + 1}: {side}", flush=True)
                env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
                if side == "original":
                    subprocess.run(
                        [
                            str(python),
                            str(here.parent / "_original_driver.py"),
                            str(data),
                            str(work / "split.json"),
                            str(work),
                            "--epochs",
                            *map(str, args.epochs),
                            "--threads",
                            str(args.threads),
                        ],
                        check=True,
                        env=env,
                        cwd=work,
                    )
                else:
                    subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "benchmarks.vs_original",
                            "--side",
                            "butterflyvi",
                            "--work",
                            str(work),
                            "--epochs",
                            *map(str, ours_epochs),
                            "--threads",
                            str(args.threads),
                            "--preset",
                            args.preset,
                        ],
                        check=True,
                        env=env,
                        cwd=here.parents[1],
                    )
            if earlier:
                original = earlier[round_index % len(earlier)]
            else:
                original = json.loads((work / "original.json").read_text())
                original["final"] = score_original(work, data)
            ours = json.loads((work / "butterflyvi.json").read_text())
        ours["time_to_original_quality"] = time_to_quality(ours["records"], original["final"])
        rounds.append({"original": original, "butterflyvi": ours, "order": order})
    result = summarise(rounds, args)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result["summary"], indent=1))
    return 0


def _earlier_originals(args) -> list[dict]:
    """The original's rounds of an earlier run, checked to match this one's settings."""
    earlier = json.loads(args.original_from.read_text())
    if list(earlier["epochs"]) != list(args.epochs) or earlier["threads"] != args.threads:
        raise SystemExit(
            f"--original-from: expected a run with epochs {list(args.epochs)} and "
            f"{args.threads} thread(s), found epochs {earlier['epochs']} and "
            f"{earlier['threads']} thread(s)."
        )
    return [r["original"] for r in earlier["rounds"]]


def summarise(rounds: list[dict], args) -> dict:
    """Ratios per phase and end to end (medians over rounds), memory, quality, FLOP/s."""

    def median(values):
        return float(np.median(values))

    o_pre = median(
        [
            r["original"]["seconds"]["rna_pretraining"]
            + r["original"]["seconds"]["atac_pretraining"]
            for r in rounds
        ]
    )
    o_int = median([r["original"]["seconds"]["integrative"] for r in rounds])
    b_pre = median([r["butterflyvi"]["seconds"]["pretraining"] for r in rounds])
    b_int = median([r["butterflyvi"]["seconds"]["integrative"] for r in rounds])
    o_total, b_total = o_pre + o_int, b_pre + b_int
    quality = [r["butterflyvi"]["time_to_original_quality"]["train_seconds"] for r in rounds]
    last = rounds[-1]["butterflyvi"]
    epoch_seconds = b_int / max(1, last["epochs"][2])
    flops = 3 * last["phase2_forward_gflop_per_step"] * last["phase2_steps_per_epoch"]
    summary = {
        "original_seconds": {"pretraining": o_pre, "integrative": o_int, "total": o_total},
        "butterflyvi_seconds": {"pretraining": b_pre, "integrative": b_int, "total": b_total},
        "speed_ratio": {
            "pretraining": o_pre / b_pre,
            "integrative": o_int / b_int,
            "total": o_total / b_total,
        },
        "peak_rss_gb": {
            "original": max(r["original"]["peak_rss_gb"] for r in rounds),
            "butterflyvi": max(r["butterflyvi"]["peak_rss_gb"] for r in rounds),
        },
        "original_final": rounds[-1]["original"]["final"],
        "butterflyvi_final": last["final"],
        "time_to_original_quality_s": quality,
        "time_to_quality_over_original_training": [
            None if q is None else q / o_total for q in quality
        ],
        "phase2_gflops": flops / epoch_seconds,
        "matmul_gflops": last["matmul_gflops"],
    }
    summary["phase2_fraction_of_matmul"] = summary["phase2_gflops"] / summary["matmul_gflops"]
    return {
        "command": "python -m benchmarks.vs_original " + " ".join(sys.argv[1:]),
        "preset": args.preset,
        "original_from": str(args.original_from) if args.original_from else None,
        "epochs": list(args.epochs),
        "butterflyvi_epochs": list(rounds[-1]["butterflyvi"]["epochs"]),
        "threads": args.threads,
        "load_average_end": list(os.getloadavg()),
        "summary": summary,
        "rounds": rounds,
    }


if __name__ == "__main__":
    sys.exit(main())
