"""The NeurIPS 2021 winners' simple predictors on the paired benchmarks' splits.

``python -m benchmarks.simple_predictors --dataset snareseq --seeds 0 1 2``

For each dataset and seed: kNN in SVD space (LS_lab, ``bf.tl.knn_translate``), kernel ridge
on SVD (Guanlab, ``bf.tl.ridge_translate``), linear ridge on SVD and the training mean, fitted
on the training cells of the split the models use (``benchmarks._data.load_paired``) and
scored on its test cells with the models' metrics, the correlation-matrix distance and the
competition's RMSE. Peaks are predicted on the binarised scale (as the winners did); RNA on
the log-normalised scale, proteins on the CLR scale. The seed is the predictors' own (SVD,
folds, halves); the split is the benchmark's.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from anndata import AnnData

import butterflyvi as bf

from ._data import PAIRED, load_paired
from ._paired import _kind, _log_normalised
from ._report import Record
from ._timing import machine, versions

PREDICTORS = {
    "knn": lambda **kw: bf.tl.knn_translate(**kw),
    "kernel_ridge": lambda **kw: bf.tl.ridge_translate(kernel="rbf", **kw),
    "linear_ridge": lambda **kw: bf.tl.ridge_translate(kernel="linear", **kw),
}


def score(pred: AnnData, truth: AnnData, target_kind: str) -> dict:
    """The paired benchmark's metrics of one prediction, plus the correlation distance."""
    metric = bf.metrics.accessibility if target_kind == "accessibility" else bf.metrics.expression
    return {**metric(pred, truth), **bf.metrics.correlation_distance(pred, truth)}


def run(dataset: str, seed: int, out: Path) -> Path:
    """Score every predictor on one dataset with one seed; return the JSON path."""
    path = out / f"simple_{dataset}_s{seed}.json"
    record = Record(
        path,
        {
            "dataset": dataset,
            "seed": seed,
            "command": "python -m benchmarks.simple_predictors " + shlex.join(sys.argv[1:]),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "versions": versions(),
            "machine": machine(),
        },
    )
    data = load_paired(dataset, seed=seed)
    mdata = data.mdata
    for mod in data.mods:
        if _kind(mod) == "accessibility":
            counts = mdata.mod[mod].layers["counts"]
            mdata.mod[mod].layers["binary"] = (counts > 0).astype(np.float32)
    train, test = data.names("train"), data.names("test")
    reference, query = mdata[train].copy(), mdata[test].copy()
    results: dict = {}
    for source, target in (data.mods, data.mods[::-1]):
        kind = _kind(target)
        truth = _log_normalised(query.mod[target])
        target_layer = "binary" if kind == "accessibility" else None
        direction: dict = {"target_kind": kind}
        mean = bf.metrics.baseline_mean(
            reference.mod[target] if target_layer is None else _layer(reference.mod[target]),
            query.n_obs,
            obs_names=query.obs_names,
        )
        direction["mean"] = (
            score(mean, truth, kind)
            if kind == "accessibility"
            else (bf.metrics.expression(mean, truth))
        )
        for name, predictor in PREDICTORS.items():
            start = time.perf_counter()
            pred = predictor(
                data=query,
                reference=reference,
                source=source,
                target=target,
                target_layer=target_layer,
                random_state=seed,
            )
            seconds = time.perf_counter() - start
            direction[name] = {**score(pred, truth, kind), "seconds": seconds}
            print(
                f"[simple] {dataset} s{seed} {source}→{target} {name}: {seconds:.1f} s", flush=True
            )
        results[f"{source}_to_{target}"] = direction
        record.update(directions=results)
    record.update(
        n_train=len(train),
        n_test=len(test),
        notes=data.notes,
        finished=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    return path


def _layer(adata: AnnData) -> AnnData:
    out = AnnData(X=adata.layers["binary"], var=adata.var[[]])
    out.obs_names = adata.obs_names
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.simple_predictors")
    parser.add_argument(
        "--dataset", nargs="+", required=True, choices=[n for n in PAIRED if n != "demo"] + ["demo"]
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    for dataset in args.dataset:
        for seed in args.seeds:
            print(f"[simple] {run(dataset, seed, args.out)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
