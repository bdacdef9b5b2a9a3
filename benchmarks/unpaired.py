"""Unpaired cells on SNARE-seq with the pairing hidden: anchors (no labels) against
cell-type pseudo-pairs (labels) and the measured pairs.

``python -m benchmarks.unpaired --seed 0 [--epochs 20 60] [--threads 1]``

The training cells of ``bf.datasets.snareseq_split()`` are split at random (seeded) into two
halves of different cells: half A gives only its RNA, half B only its ATAC, so no true pair
exists. Three training sets, one model each (``preset="default"``, the same schedule, the
pairs split 90 / 10 into training and validation pairs at random):

- ``anchors``: ``bf.tl.pair_by_anchors`` in a shared space — A's log-normalised RNA and B's
  gene activity (``bf.pp.gene_activity`` from B's raw peaks, genes placed at mm10 TSSs from
  CellOracle's table, ``benchmarks/_tss.py``), log1p — with no labels;
- ``labels``: ``bf.tl.pair_unpaired`` within the dataset's cell types (scButterfly's way,
  needs labels);
- ``measured``: half A's own measured pairs (the same number of cells; what pairing could
  at best recover).

The pairs' cell-type agreement (labels read only to score the pairing) and every model's
translations of the held-out test cells (measured pairs, never trained on) are reported
beside the training-mean baseline. Record: ``benchmarks/results/unpaired_snareseq_s{seed}.json``;
``--table`` prints the table of ``docs/benchmarks.md`` from the records; ``--shared-space``
records how well the shared space matches the same cells' RNA (a diagnostic that reads the
hidden pairing: ``unpaired_snareseq_shared_space.json``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import scvi
import torch
from anndata import AnnData

import butterflyvi as bf

from ._data import load_paired
from ._fit import fit
from ._paired import _log_normalised
from ._report import Record, fmt, table
from ._tss import mouse_tss

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("anchors", "labels", "measured")
FIGURES = (
    ("rna_to_atac", "auroc"),
    ("rna_to_atac", "auroc_per_peak_mean"),
    ("atac_to_rna", "pearson_per_cell_mean"),
    ("atac_to_rna", "pearson_per_feature_mean"),
)


def _shared_space(data, cells_a: list[str], cells_b: list[str]) -> tuple[AnnData, AnnData]:
    """A's RNA (log-normalised) and B's gene activity (log1p) on the genes both have."""
    raw_atac = bf.datasets.load_shared("snareseq")["atac"]
    rna = _log_normalised(data.mdata["rna"][cells_a])
    activity = bf.pp.gene_activity(raw_atac[cells_b], mouse_tss(rna.var_names))
    activity.X = activity.X.log1p()
    genes = rna.var_names.intersection(activity.var_names)
    return rna[:, genes].copy(), activity[:, genes].copy()


def _pairs(method: str, data, cells_a: list[str], cells_b: list[str], seed: int):
    rna_a = data.mdata["rna"][cells_a].copy()
    atac_b = data.mdata["atac"][cells_b].copy()
    if method == "anchors":
        shared_a, shared_b = _shared_space(data, cells_a, cells_b)
        return bf.tl.pair_by_anchors(rna_a, atac_b, shared_x=shared_a, shared_y=shared_b, seed=seed)
    if method == "labels":
        for part in (rna_a, atac_b):
            part.obs[data.label_key] = data.mdata.obs.loc[part.obs_names, data.label_key].values
        return bf.tl.pair_unpaired(rna_a, atac_b, groupby=data.label_key, seed=seed)
    return data.mdata[cells_a].copy()


def _pairing_figures(pairs, labels) -> dict:
    """How many pairs, how many distinct cells they use, and their cell-type agreement."""
    source = {m: f"butterflyvi_source_cell_{m}" for m in ("rna", "atac")}
    if source["rna"] not in pairs.obs:  # measured pairs
        return {"n_pairs": pairs.n_obs, "same_cell_type": 1.0, "true_pairs": 1.0}
    x = pairs.obs[source["rna"]].astype(str).to_numpy()
    y = pairs.obs[source["atac"]].astype(str).to_numpy()
    return {
        "n_pairs": int(pairs.n_obs),
        "distinct_rna_cells": int(np.unique(x).size),
        "distinct_atac_cells": int(np.unique(y).size),
        "same_cell_type": float(np.mean(labels.loc[x].to_numpy() == labels.loc[y].to_numpy())),
        "true_pairs": 0.0,  # the halves share no cell
    }


def _scores(model, data, test_names, train_names) -> dict:
    test = data.mdata[test_names].copy()
    out = {}
    for source, target in (("rna", "atac"), ("atac", "rna")):
        truth = _log_normalised(test.mod[target])
        metric = bf.metrics.accessibility if target == "atac" else bf.metrics.expression
        baseline = bf.metrics.baseline_mean(
            _log_normalised(data.mdata.mod[target][train_names]), test.n_obs, obs_names=test_names
        )
        out[f"{source}_to_{target}"] = {
            "model": metric(model.translate(test, source=source), truth),
            "baseline": metric(baseline, truth),
        }
    return out


def _halves(data, seed: int) -> tuple[list[str], list[str]]:
    """The training cells split in two at random: the RNA-only and the ATAC-only half."""
    train = np.array(data.names("train"))
    order = np.random.RandomState(seed).permutation(train.size)
    half = train.size // 2
    return sorted(train[order[:half]]), sorted(train[order[half:]])


def run(seed: int, epochs: tuple[int, int], threads: int, methods, out: Path) -> Path:
    """Pair, train and score every method for one seed; return the record's path."""
    path = out / f"unpaired_snareseq_s{seed}.json"
    record = Record.of_run(path, "unpaired", seed=seed, epochs=list(epochs), methods={})
    data = load_paired("snareseq", seed=seed)
    cells_a, cells_b = _halves(data, seed)
    labels = data.mdata.obs[data.label_key].astype(str)
    record.update(
        data={"n_rna_cells": len(cells_a), "n_atac_cells": len(cells_b), "notes": data.notes}
    )
    results = {}
    for method in methods:
        start = time.perf_counter()
        pairs = _pairs(method, data, cells_a, cells_b, seed)
        pairing_seconds = time.perf_counter() - start
        perm = np.random.RandomState(seed).permutation(pairs.n_obs)
        n_val = max(2, pairs.n_obs // 10)
        indexing = [np.sort(perm[n_val:]), np.sort(perm[:n_val]), np.array([], dtype=int)]
        scvi.settings.seed = seed
        bf.ButterflyModel.setup_mudata(pairs, modalities=("rna", "atac"))
        model = bf.ButterflyModel(pairs, preset="default")
        training = fit(
            model, epochs_pretrain=epochs[0], epochs=epochs[1], indexing=indexing, threads=threads
        )
        results[method] = {
            "pairing": {**_pairing_figures(pairs, labels), "seconds": pairing_seconds},
            "training": {k: training[k] for k in ("epochs_run", "best_epoch", "wall_seconds")},
            "test": _scores(model, data, data.names("test"), sorted(cells_a + cells_b)),
        }
        record.update(methods=dict(results))
        print(
            f"[unpaired] seed {seed} {method}: {json.dumps(results[method]['pairing'])}", flush=True
        )
    record.update(finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    return path


def shared_space_figures(out: Path) -> Path:
    """How much the shared space can tell cells apart: for the ATAC half of seed 0, the gene
    activity against the **same** cells' measured RNA (a diagnostic only: the pairing is
    read here, never by the benchmark), per gene across cells and per gene across
    cell-type means; and the ATAC depth."""
    path = out / "unpaired_snareseq_shared_space.json"
    record = Record.of_run(path, "unpaired")
    data = load_paired("snareseq", seed=0)
    _, cells_b = _halves(data, 0)
    rna, activity = _shared_space(data, cells_b, cells_b)  # the same cells on both sides
    x = rna.X.toarray() if hasattr(rna.X, "toarray") else np.asarray(rna.X)
    y = activity.X.toarray()
    labels = data.mdata.obs.loc[cells_b, data.label_key].astype(str).to_numpy()
    types = np.unique(labels)
    x_types = np.stack([x[labels == c].mean(0) for c in types])
    y_types = np.stack([y[labels == c].mean(0) for c in types])
    raw = bf.datasets.load_shared("snareseq")["atac"][cells_b]
    record.update(
        n_cells=len(cells_b),
        n_genes=int(x.shape[1]),
        pearson_per_gene_across_cells_mean=_per_gene_pearson(x, y),
        pearson_per_gene_across_cell_types_mean=_per_gene_pearson(x_types, y_types),
        n_cell_types=int(types.size),
        atac_counts_per_cell_median=float(np.median(np.asarray(raw.X.sum(axis=1)).ravel())),
        atac_peaks=int(raw.n_vars),
        finished=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    return path


def _per_gene_pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Mean per-gene Pearson of ``a`` and ``b`` (genes defined in both), as bf.metrics scores."""
    return float(bf.metrics.expression(b, a)["pearson_per_feature_mean"])


def summary_table(out: Path = RESULTS) -> str:
    """Mean ± sd over the seeds' records of each method's figures."""
    paths = sorted(out.glob("unpaired_snareseq_s[0-9]*.json"))  # not ..._shared_space.json
    records = [json.loads(p.read_text()) for p in paths]
    records = [r for r in records if "finished" in r]
    if not records:
        return "(no finished unpaired run)"
    rows = []
    for method in (*METHODS, "baseline"):
        source = "anchors" if method == "baseline" else method
        done = [r["methods"][source] for r in records if source in r["methods"]]
        if not done:
            continue
        who = "baseline" if method == "baseline" else "model"
        cells = []
        for direction, key in FIGURES:
            values = [d["test"][direction][who][key] for d in done]
            if any(v is None for v in values):  # a constant prediction has no correlation
                cells.append("–")
                continue
            cells.append(f"{fmt(np.mean(values))} ± {fmt(np.std(values))}")
        agree = (
            "–"
            if method == "baseline"
            else fmt(np.mean([d["pairing"]["same_cell_type"] for d in done]))
        )
        pairs = (
            "–"
            if method == "baseline"
            else str(int(np.mean([d["pairing"]["n_pairs"] for d in done])))
        )
        name = "training mean" if method == "baseline" else method
        rows.append((name, len(done), pairs, agree, *cells))
    return table(
        rows,
        (
            "training pairs",
            "seeds",
            "pairs",
            "same cell type",
            "RNA→ATAC AUROC",
            "per-peak AUROC",
            "ATAC→RNA Pearson per cell",
            "per gene",
        ),
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.unpaired", description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--epochs", type=int, nargs=2, default=(20, 60), metavar=("PRETRAIN", "INTEGRATIVE")
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="print the table of the records")
    parser.add_argument(
        "--shared-space",
        action="store_true",
        help="record how well gene activity matches the same cells' RNA (diagnostic)",
    )
    args = parser.parse_args(argv)
    if args.table:
        print(summary_table(args.out))
        return 0
    if args.shared_space:
        print(shared_space_figures(args.out))
        return 0
    torch.set_num_threads(args.threads)
    print(run(args.seed, tuple(args.epochs), args.threads, args.methods, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
