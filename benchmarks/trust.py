"""How far to trust a translation, on real held-out cells: interval coverage and width, the
confidence–error correlation, calibrated probabilities, and a cell type the model never saw.

``python -m benchmarks.trust --dataset snareseq --seeds 0``

One cell type is left out entirely (the type whose share of cells is closest to 5 %, chosen
from the labels alone, before any training); of the other cells 80 % train, 10 % are
validation cells (early stopping and the calibration that ``train`` runs at its end) and 10 %
are the held-out test cells every figure is measured on. Per direction: marginal coverage and
mean width of the 90 % intervals against the naive interval (training mean ± the 90 %
quantile of the validation cells' |residual|), Spearman of ``translation_confidence`` with the
per-cell mean absolute error, AUROC of the confidence between the test cells and the left-out
type, and for accessibility the expected calibration error against predicting every peak
closed. Record: ``benchmarks/results/trust_{dataset}_s{seed}.json``; ``--table`` prints the
table of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import scipy.stats as ss
import scvi
import torch

import butterflyvi as bf

from ._data import PAIRED, _load, _preprocess
from ._report import Record

RESULTS = Path(__file__).resolve().parent / "results"
DATASETS = ("snareseq", "bmmc_cite", "pbmc10k_cite")
EPOCHS = {"snareseq": (20, 60), "bmmc_cite": (50, 100), "pbmc10k_cite": (20, 60)}
LEVEL = 0.9


def left_out_type(labels: np.ndarray) -> str:
    """The cell type whose share of cells is closest to 5 %."""
    names, counts = np.unique(labels, return_counts=True)
    return str(names[np.argmin(np.abs(counts / counts.sum() - 0.05))])


def _observed(model, cells, target: str) -> np.ndarray:
    return model.observed(cells, modality=target)


def _direction(model, mdata, test, unseen, source: str, target: str) -> dict:
    prediction = model.translate(test, source=source, interval=LEVEL, threshold=0)
    truth = _observed(model, test, target)
    lower = prediction.layers["lower"]
    lower = lower.toarray() if hasattr(lower, "toarray") else np.asarray(lower)
    coverage = bf.metrics.coverage(lower, np.asarray(prediction.layers["upper"]), truth)
    train = mdata[mdata.obs_names[model.train_indices]].copy()
    validation = mdata[mdata.obs_names[model.validation_indices]].copy()
    mean = _observed(model, train, target).mean(axis=0)
    naive = 2 * np.quantile(np.abs(_observed(model, validation, target) - mean), LEVEL)
    values = prediction.X.toarray() if hasattr(prediction.X, "toarray") else prediction.X
    error = np.abs(values - truth).mean(axis=1)
    confidence = prediction.obs["translation_confidence"].to_numpy()
    outside = model.translate(unseen, source=source).obs["translation_confidence"].to_numpy()
    inside = model.translate(test, source=source).obs["translation_confidence"].to_numpy()
    auroc = ss.mannwhitneyu(inside, outside).statistic / (len(inside) * len(outside))
    out = {
        "coverage": coverage["coverage"],
        "mean_width": coverage["mean_width"],
        "naive_width": float(naive),
        "spearman_confidence_error": float(ss.spearmanr(confidence, error)[0]),
        "auroc_left_out_type": float(auroc),
    }
    if model.kinds_[model.modalities_.index(target)] == "accessibility":
        out["calibration_error"] = bf.metrics.calibration_error(values, truth)
        out["calibration_error_all_closed"] = bf.metrics.calibration_error(
            np.zeros_like(values), truth
        )
    return out


def run(dataset: str, seed: int) -> Path:
    torch.set_num_threads(1)
    path = RESULTS / f"trust_{dataset}_s{seed}.json"
    mods = PAIRED[dataset]["mods"]
    mdata = _preprocess(_load(dataset), mods, [])
    key = PAIRED[dataset]["label"]
    obs = mdata.obs if key in mdata.obs else mdata[mods[0]].obs
    labels = obs[key].astype(str).to_numpy()
    left_out = left_out_type(labels)
    record = Record.of_run(
        path,
        "trust",
        dataset=dataset,
        seed=seed,
        left_out_type=left_out,
        level=LEVEL,
    )
    known = np.flatnonzero(labels != left_out)
    order = np.random.default_rng(seed).permutation(known)
    n_val = n_test = len(known) // 10
    validation, test, train = order[:n_val], order[n_val : n_val + n_test], order[n_val + n_test :]
    unseen = np.flatnonzero(labels == left_out)
    scvi.settings.seed = seed
    bf.ButterflyModel.setup_mudata(mdata, modalities=mods)
    model = bf.ButterflyModel(mdata)
    e1, e2 = EPOCHS[dataset]
    started = time.perf_counter()
    model.train(
        max_epochs_pretrain=e1,
        max_epochs=e2,
        external_indexing=[np.sort(train), np.sort(validation), np.concatenate([test, unseen])],
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    seconds = time.perf_counter() - started
    test_cells = mdata[mdata.obs_names[np.sort(test)]].copy()
    unseen_cells = mdata[mdata.obs_names[unseen]].copy()
    results = {}
    for source, target in (mods, mods[::-1]):
        results[f"{source}_to_{target}"] = _direction(
            model, mdata, test_cells, unseen_cells, source, target
        )
        print(dataset, seed, source, target, results[f"{source}_to_{target}"], flush=True)
    record.update(
        results=results,
        n_train=len(train),
        n_validation=len(validation),
        n_test=len(test),
        n_left_out=len(unseen),
        train_seconds=seconds,
    )
    return path


def table() -> str:
    """Mean over seeds of every record's figures, one row per dataset and direction."""
    rows: dict = defaultdict(lambda: defaultdict(list))
    left_out = {}
    for path in sorted(RESULTS.glob("trust_*_s*.json")):
        record = json.loads(path.read_text())
        left_out[record["dataset"]] = record["left_out_type"]
        for direction, figures in record.get("results", {}).items():
            for name, value in figures.items():
                rows[(record["dataset"], direction)][name].append(value)
    lines = [
        "| dataset (left out) | direction | seeds | coverage at 0.9 | mean width | naive width "
        "| Spearman(confidence, error) | AUROC left-out type | ECE (all closed) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (dataset, direction), figures in sorted(rows.items()):
        mean = {name: float(np.mean(values)) for name, values in figures.items()}
        ece = (
            f"{mean['calibration_error']:.4f} ({mean['calibration_error_all_closed']:.4f})"
            if "calibration_error" in mean
            else "–"
        )
        lines.append(
            f"| {dataset} ({left_out[dataset]}) | {direction.replace('_to_', '→')} "
            f"| {len(figures['coverage'])} | {mean['coverage']:.3f} | {mean['mean_width']:.3f} "
            f"| {mean['naive_width']:.3f} | {mean['spearman_confidence_error']:.2f} "
            f"| {mean['auroc_left_out_type']:.2f} | {ece} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=DATASETS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--table", action="store_true", help="print the table of all records")
    args = parser.parse_args(argv)
    if args.table:
        print(table())
        return
    if args.dataset is None:
        parser.error("--dataset: expected one of " + ", ".join(DATASETS))
    for seed in args.seeds:
        run(args.dataset, seed)


if __name__ == "__main__":
    main()
