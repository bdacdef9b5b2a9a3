"""butterflyvi and the released scButterfly side by side, in one run, on the SNARE-seq split.

``python -m benchmarks.vs_original [--epochs 50 50 100] [--threads 1] [--rounds 2] [--seeds 0 1 2]
[--concurrent-rounds]``

1. Sets up the original in its own virtualenv (``benchmarks/.original-venv``, ignored by
   git): ``scbutterfly==0.0.9`` from PyPI without its pinned dependencies (scvi-tools 0.19,
   scipy 1.9.3, episcanpy 0.3.2 …, which do not install beside torch 2.13 on Python 3.11);
   the venv reuses this project's scanpy/torch/anndata and gets, applied by this script:
   the two fixes of ``BASELINE.md`` (device-agnostic tensors: the labels of the
   discriminator loss, which hard-codes ``.cuda()``, and float32 minibatches, which it casts
   only on a GPU; the old scipy semantics of its dense TF-IDF, i.e.
   the matrix densified first) and the two episcanpy functions it calls (``binarize``,
   ``filter_features``), written from their documented behaviour.
2. Runs, ``--rounds`` times in one invocation, the original once and butterflyvi once per
   seed (``preset="paper"``, the same preprocessing, split, epochs and torch threads), each
   a separate process; round 1 starts with the original, round 2 with butterflyvi, and so on.
   With ``--concurrent-rounds`` the rounds run at the same time (on a 2-core machine, two
   rounds with ``--threads 1`` fill it), so every process shares the machine with one other.
   The original's data loaders start 4 worker processes (``num_workers=4`` in its code): a
   process beside it gets less than a core, which the per-seed times show.
3. Prints and saves (``benchmarks/results/vs_original.json``) per round: seconds per phase
   and end to end, the original's over butterflyvi's (mean over the seeds) — ratios only
   between processes of the same round —, peak memory, both models' figures on the
   validation and the test cells, and butterflyvi's **time to the original's quality**:
   the first epoch whose figures on the **validation** cells (AUROC, per-peak AUROC, Pearson
   per cell and per gene) all reach the original's on the validation cells (it predicts them
   after training, beside the test cells), its training seconds (evaluation not counted)
   and that epoch's **test** figures. The summary gives medians over rounds.

``--preset default`` trains butterflyvi's default instead of ``paper``.
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
def _prepared(data: Path, split_path: Path, preset: str):
    """The preprocessed SNARE-seq MuData, its split positions, the validation and test cells,
    and a set-up butterflyvi model."""
    import mudata as md

    import butterflyvi as bf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdata = md.read_h5mu(data)
    split = json.loads(split_path.read_text())
    bf.pp.preprocess_rna(mdata["rna"])
    bf.pp.preprocess_atac(mdata["atac"])
    mdata.update()
    position = {n: i for i, n in enumerate(mdata.obs_names)}
    idx = [np.array([position[n] for n in split[p]]) for p in ("train", "validation", "test")]
    parts = {p: mdata[split[p]].copy() for p in ("validation", "test")}
    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    return idx, parts, bf.ButterflyModel(mdata, preset=preset)


def run_butterflyvi(
    data: Path, work: Path, epochs, threads: int, preset: str = "paper", seed: int = 0
) -> dict:
    """Train butterflyvi (``preset``, ``seed``) in this process; after every integrative epoch
    (outside the timed training) score the validation cells and keep the weights in ``work``.
    """
    import lightning.pytorch as pl
    import scvi
    import torch

    from ._perf_common import peak_rss_gb

    torch.set_num_threads(threads)
    scvi.settings.seed = seed
    idx, parts, model = _prepared(data, work / "split.json", preset)

    class Tracker(pl.Callback):
        """Training seconds per epoch (evaluation excluded) and validation figures."""

        def __init__(self):
            self.records: list[dict] = []
            self.train_seconds = 0.0

        def on_train_epoch_start(self, trainer, pl_module):
            self.start = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module):
            self.train_seconds += time.perf_counter() - self.start
            epoch = trainer.current_epoch
            record = {"epoch": epoch, "train_seconds": self.train_seconds}
            if epoch >= epochs[0]:  # the translator trains in phase 2 only
                torch.save(pl_module.module.state_dict(), _weights(work, seed, epoch))
                was_training = pl_module.training
                pl_module.eval()
                record["validation"] = _score(model, parts["validation"])
                pl_module.train(was_training)
            self.records.append(record)

    tracker = Tracker()
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
    phase1 = [r for r in tracker.records if r["epoch"] < epochs[0]]
    seconds_phase1 = phase1[-1]["train_seconds"] if phase1 else 0.0
    final = {**tracker.records[-1], "test": _score(model, parts["test"])}
    return {
        "epochs": list(epochs),
        "threads": threads,
        "preset": preset,
        "seed": seed,
        "seconds": {
            "pretraining": seconds_phase1,
            "integrative": tracker.train_seconds - seconds_phase1,
        },
        "train_seconds": tracker.train_seconds,
        "wall_seconds_with_evaluation": wall,
        "peak_rss_gb": peak_rss_gb(),
        "records": tracker.records,
        "final": final,
    }


def _weights(work: Path, seed: int, epoch: int) -> Path:
    return work / f"butterflyvi_s{seed}_epoch{epoch}.pt"


def score_saved_epoch(data: Path, work: Path, preset: str, seed: int, epoch: int) -> dict:
    """The test figures of butterflyvi's weights after ``epoch`` (saved by its training)."""
    import torch

    _, parts, model = _prepared(data, work / "split.json", preset)
    model.module.load_state_dict(torch.load(_weights(work, seed, epoch), weights_only=True))
    model.module.eval()
    model.is_trained_ = True
    return _score(model, parts["test"])


def _score(model, cells) -> dict:
    import butterflyvi as bf

    atac = bf.metrics.accessibility(model.translate(cells, source="rna"), cells["atac"])
    rna = bf.metrics.expression(model.translate(cells, source="atac"), cells["rna"])
    return _figures(atac, rna)


def _figures(atac: dict, rna: dict) -> dict:
    return {k: (atac if k.startswith("auroc") else rna)[k] for k in FIGURES}


def score_original(out: Path, data: Path) -> dict:
    """The original's validation and test predictions scored with butterflyvi's metrics."""
    import mudata as md

    import butterflyvi as bf

    saved = np.load(out / "original_predictions.npz", allow_pickle=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdata = md.read_h5mu(data)
    bf.pp.preprocess_rna(mdata["rna"])  # as butterflyvi's side: every gene (1,677 < 3,000)
    bf.pp.preprocess_atac(mdata["atac"])
    mdata.update()
    figures = {}
    for part in ("validation", "test"):
        cells = mdata[list(saved[f"{part}_cells"])].copy()
        rna_truth = cells["rna"][:, list(saved["genes"])]
        atac_truth = cells["atac"][:, list(saved["peaks"])]
        figures[part] = _figures(
            bf.metrics.accessibility(saved[f"{part}_rna_to_atac"], atac_truth.X),
            bf.metrics.expression(saved[f"{part}_atac_to_rna"], rna_truth.X),
        )
    return figures


def time_to_quality(records: list[dict], target: dict) -> dict:
    """The first epoch whose **validation** figures all reach ``target`` (the original's on
    the validation cells) and its training seconds."""
    scored = [r for r in records if "validation" in r]
    for record in scored:
        if all(record["validation"][k] >= target[k] for k in FIGURES):
            return {"epoch": record["epoch"], "train_seconds": record["train_seconds"]}
    best = {k: max(r["validation"][k] for r in scored) for k in FIGURES}
    return {"epoch": None, "train_seconds": None, "best_validation": best}


# ------------------------------------------------------------------ one invocation
def _run_original(python: Path, data: Path, work: Path, args) -> dict:
    subprocess.run(
        [
            str(python),
            str(Path(__file__).resolve().parent / "_original_driver.py"),
            str(data),
            str(work / "split.json"),
            str(work),
            "--epochs",
            *map(str, args.epochs),
            "--threads",
            str(args.threads),
        ],
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": str(args.threads)},
        cwd=work,
    )
    original = json.loads((work / "original.json").read_text())
    original["figures"] = score_original(work, data)
    return original


def _child(work: Path, args, side: str, seed: int, *extra: str) -> dict:
    """Run one butterflyvi side (training, or scoring saved weights) in its own process."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.vs_original",
            "--side",
            side,
            "--work",
            str(work),
            "--epochs",
            *map(str, args.epochs),
            "--threads",
            str(args.threads),
            "--preset",
            args.preset,
            "--seeds",
            str(seed),
            *extra,
        ],
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": str(args.threads)},
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads((work / f"{side}_s{seed}.json").read_text())


def run_round(round_index: int, python: Path, data: Path, args) -> dict:
    """The original once and butterflyvi once per seed; the order alternates by round. Then
    the epoch at which each seed reached the original's validation figures is scored on the
    test cells from its saved weights."""
    import butterflyvi as bf

    sides = ["original", *(f"seed {s}" for s in args.seeds)]
    if round_index % 2 == 1:
        sides = sides[1:] + sides[:1]
    ours = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "split.json").write_text(json.dumps(bf.datasets.snareseq_split()))
        for side in sides:
            print(f"[vs_original] round {round_index + 1}: {side}", flush=True)
            if side == "original":
                original = _run_original(python, data, work, args)
            else:
                seed = int(side.split()[1])
                ours[seed] = _child(work, args, "butterflyvi", seed)
        for seed, record in ours.items():
            reached = time_to_quality(record["records"], original["figures"]["validation"])
            if reached["epoch"] is not None:
                epoch = str(reached["epoch"])
                reached["test"] = _child(work, args, "test", seed, "--epoch", epoch)
            record["time_to_original_quality"] = reached
    return {"order": sides, "original": original, "butterflyvi": ours}


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
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--preset", choices=["paper", "default"], default="paper")
    parser.add_argument(
        "--concurrent-rounds",
        action="store_true",
        help="run the rounds at the same time (one process per round at any moment)",
    )
    parser.add_argument("--side", choices=["butterflyvi", "test"], help=argparse.SUPPRESS)
    parser.add_argument("--epoch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS / "vs_original.json")
    args = parser.parse_args(argv)

    from butterflyvi.datasets._public import dataset_files

    data = dataset_files("snareseq")[0]
    if args.side is not None:  # a child process of one seed
        seed = args.seeds[0]
        if args.side == "butterflyvi":
            record = run_butterflyvi(data, args.work, args.epochs, args.threads, args.preset, seed)
        else:
            record = score_saved_epoch(data, args.work, args.preset, seed, args.epoch)
        (args.work / f"{args.side}_s{seed}.json").write_text(json.dumps(record))
        return 0
    python = ensure_original_env()
    if args.concurrent_rounds:
        # Each round on its own core: every process of a round has one of the other round's
        # beside it, so the ratios within a round still compare like with like.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=args.rounds) as pool:
            futures = [pool.submit(run_round, i, python, data, args) for i in range(args.rounds)]
            rounds = [f.result() for f in futures]
    else:
        rounds = [run_round(i, python, data, args) for i in range(args.rounds)]
    result = summarise(rounds, args)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result["summary"], indent=1))
    return 0


def _round_figures(round_: dict) -> dict:
    """Seconds and ratios of one round (butterflyvi: mean over its seeds)."""
    o = round_["original"]["seconds"]
    o_pre = o["rna_pretraining"] + o["atac_pretraining"]
    o_total = o_pre + o["integrative"]
    ours = list(round_["butterflyvi"].values())
    b_pre = float(np.mean([r["seconds"]["pretraining"] for r in ours]))
    b_int = float(np.mean([r["seconds"]["integrative"] for r in ours]))
    quality = [r["time_to_original_quality"]["train_seconds"] for r in ours]
    reached = [q for q in quality if q is not None]
    return {
        "original_seconds": {
            "pretraining": o_pre,
            "integrative": o["integrative"],
            "total": o_total,
        },
        "butterflyvi_seconds": {"pretraining": b_pre, "integrative": b_int, "total": b_pre + b_int},
        "speed_ratio": {
            "pretraining": o_pre / b_pre,
            "integrative": o["integrative"] / b_int,
            "total": o_total / (b_pre + b_int),
        },
        "time_to_original_quality_s": quality,
        "time_to_quality_over_original_training": [q / o_total for q in reached],
        "seeds_reaching_quality": f"{len(reached)} of {len(quality)}",
    }


def summarise(rounds: list[dict], args) -> dict:
    """Per round figures, their medians over rounds, memory and both models' figures."""
    per_round = [_round_figures(r) for r in rounds]

    def median(path: tuple[str, str]) -> float:
        return float(np.median([f[path[0]][path[1]] for f in per_round]))

    fractions = [x for f in per_round for x in f["time_to_quality_over_original_training"]]
    summary = {
        "per_round": per_round,
        "speed_ratio_median": {
            k: median(("speed_ratio", k)) for k in ("pretraining", "integrative", "total")
        },
        "time_to_quality_over_original_training_median": (
            float(np.median(fractions)) if fractions else None
        ),
        "peak_rss_gb": {
            "original": max(r["original"]["peak_rss_gb"] for r in rounds),
            "butterflyvi": max(b["peak_rss_gb"] for r in rounds for b in r["butterflyvi"].values()),
        },
        "original_figures": [r["original"]["figures"] for r in rounds],
        "butterflyvi_final": {
            f"round {i + 1} seed {s}": {p: b["final"].get(p) for p in ("validation", "test")}
            for i, r in enumerate(rounds)
            for s, b in r["butterflyvi"].items()
        },
        "at_time_to_quality_test": {
            f"round {i + 1} seed {s}": b["time_to_original_quality"].get("test")
            for i, r in enumerate(rounds)
            for s, b in r["butterflyvi"].items()
        },
    }
    return {
        "command": "python -m benchmarks.vs_original " + " ".join(sys.argv[1:]),
        "preset": args.preset,
        "epochs": list(args.epochs),
        "threads": args.threads,
        "seeds": list(args.seeds),
        "rounds_run": args.rounds,
        "concurrent_rounds": args.concurrent_rounds,
        "load_average_end": list(os.getloadavg()),
        "summary": summary,
        "rounds": rounds,
    }


if __name__ == "__main__":
    sys.exit(main())
