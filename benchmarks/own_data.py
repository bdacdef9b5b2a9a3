"""A user's own ATAC through a catalogue model: re-called peaks against the model's own, and
a fragments file against Cell Ranger's counts.

``python -m benchmarks.own_data``

1. SNARE-seq test cells (the benchmarks' split; never trained on by the catalogue model,
   built on the training cells) translated ATAC → RNA by ``bf.zoo.load("mouse-cortex-rna-atac")``
   with the model's own peaks and with re-called peaks (``bf.datasets.recalled_peaks``:
   10 % split, 10 % merged, 5 % dropped, the rest shifted by up to 30 %), 3 seeds of the
   re-calling; per-gene and per-cell Pearson against the measured RNA.
2. ``bf.pp.count_fragments`` on the PBMC multiome fragments file against the file's peak
   counts, on the peaks inside the regions the fragments cover.

Record: ``benchmarks/results/own_data.json``.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import mudata as md
import numpy as np
import pandas as pd
import torch
from anndata import AnnData

import butterflyvi as bf

from ._report import Record
from ._timing import machine, versions

RESULTS = Path(__file__).resolve().parent / "results"


def recalled(record: Record) -> None:
    data = bf.datasets.load_shared("snareseq")
    test = bf.datasets.snareseq_split()["test"]
    cells = data[test].copy()
    model = bf.zoo.load("mouse-cortex-rna-atac", accelerator="cpu")
    space = model.feature_spaces[model.modalities_.index("rna")]
    truth = AnnData(space.to_model_space(cells["rna"]), obs=cells["rna"].obs[[]], var=space.var())
    keys = ("pearson_per_feature_mean", "pearson_per_cell_mean")
    own = bf.metrics.expression(model.translate(cells["atac"], source="atac"), truth)
    runs = []
    for seed in range(3):
        peaks = bf.datasets.recalled_peaks(cells["atac"], seed=seed)
        started = time.perf_counter()
        prediction = model.translate(peaks, source="atac")
        seconds = time.perf_counter() - started
        scores = bf.metrics.expression(prediction, truth)
        runs.append(
            {
                "seed": seed,
                "n_peaks": int(peaks.n_vars),
                "feature_match": prediction.uns["feature_match"],
                "seconds": seconds,
                **{k: scores[k] for k in keys},
                **{f"delta_{k}": scores[k] - own[k] for k in keys},
            }
        )
        print(runs[-1], flush=True)
    record.update(
        recalled={"n_cells": int(cells.n_obs), "own": {k: own[k] for k in keys}, "runs": runs}
    )


def fragments(record: Record) -> None:
    folder = bf.datasets.shared_data_dir()
    atac = md.read_h5mu(folder / "pbmc_multiome_muon_test1000.h5mu")["atac"]
    path = folder / "pbmc_multiome_muon_test1000_fragments.tsv.gz"
    started = time.perf_counter()
    counted = bf.pp.count_fragments(path, atac.var_names, barcodes=atac.obs_names)
    seconds = time.perf_counter() - started
    regions = pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 2])
    covered = covered_peaks(regions, counted.var)
    truth, found = atac.X.toarray()[:, covered], counted.X.toarray()[:, covered]
    result = {
        "n_peaks": int(atac.n_vars),
        "n_covered": int(covered.sum()),
        "pearson_covered": float(np.corrcoef(truth.ravel(), found.ravel())[0, 1]),
        "exact_fraction_covered": float((truth == found).mean()),
        "seconds": seconds,
    }
    print(result, flush=True)
    record.update(fragments=result)


def covered_peaks(fragments: pd.DataFrame, peaks: pd.DataFrame, gap=2000, margin=500):
    """Peaks inside the regions a fragments file covers: fragments closer than ``gap`` bases
    are joined into regions; a peak counts when it lies in one with ``margin`` bases to spare.
    (muon's test file holds fragments within 5 kb of its 45 genes only.)
    """
    fragments = fragments.set_axis(["chrom", "start", "end"], axis=1)
    inside = np.zeros(len(peaks), dtype=bool)
    for chrom, part in fragments.sort_values(["chrom", "start"]).groupby("chrom"):
        start, end = part["start"].to_numpy(), np.maximum.accumulate(part["end"].to_numpy())
        breaks = np.flatnonzero(start[1:] > end[:-1] + gap)
        lows, highs = np.r_[start[0], start[breaks + 1]], np.r_[end[breaks], end[-1]]
        on = (peaks["chrom"] == chrom).to_numpy()
        peak_start, peak_end = peaks["start"].to_numpy(), peaks["end"].to_numpy()
        for low, high in zip(lows, highs, strict=True):
            inside |= on & (peak_start >= low + margin) & (peak_end <= high - margin)
    return inside


def main() -> None:
    torch.set_num_threads(1)
    record = Record(
        RESULTS / "own_data.json",
        {
            "command": "python -m benchmarks.own_data " + shlex.join(sys.argv[1:]),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "versions": versions(),
            "machine": machine(),
        },
    )
    recalled(record)
    fragments(record)


if __name__ == "__main__":
    main()
