"""Peak memory and time per epoch of training on synthetic data of growing size.

One size per process (peak resident memory, ``ru_maxrss``, is per process)::

    python -m benchmarks.perf_memory --cells 10000 --peaks 200000 [--density 0.01]
        [--max-steps 30]            # steps per phase (0: whole epochs); time is extrapolated
    python -m benchmarks.perf_memory --sweep   # the grid of docs/performance.md, one process each

The synthetic MuData is generated once in its own process and cached as ``.h5mu`` under
``benchmarks/results/tmp`` (so generation does not count). The measured process reads it,
preprocesses both modalities (RNA: normalise, log1p, 2,000 genes; ATAC: binarise, 0.5 %
filter, TF-IDF), sets up the model (``default`` preset: its output initialisation reads the
training matrices once), and trains one epoch (or ``--max-steps`` steps) of each phase at
batch 64. Resident memory is recorded after every stage; CPU and wall time per epoch, with the
load average. Writes ``benchmarks/results/perf_memory/c{cells}_p{peaks}_d{density}.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ._perf_common import (
    CACHE,
    RESULTS,
    EpochClock,
    context,
    current_rss_gb,
    load_average,
    peak_rss_gb,
    quiet,
    reset_stage_peak,
    stage_peak_gb,
    write_json,
)

OUT = RESULTS / "perf_memory"
N_GENES = 2000
#: (cells, peaks, density, steps per phase; 0 = whole epochs).
GRID = (
    (1_000, 50_000, 0.01, 0),
    (1_000, 200_000, 0.01, 0),
    (10_000, 50_000, 0.01, 0),
    (10_000, 200_000, 0.01, 30),
    (10_000, 200_000, 0.0025, 30),
    (100_000, 50_000, 0.01, 30),
    (100_000, 200_000, 0.01, 30),
)


def _stem(cells: int, peaks: int, density: float) -> str:
    return f"c{cells}_p{peaks}_d{density:g}"


def data_path(cells: int, peaks: int, density: float) -> Path:
    """The cached synthetic MuData of this size."""
    return CACHE / f"synthetic_{_stem(cells, peaks, density)}.h5mu"


def generate(cells: int, peaks: int, density: float) -> dict:
    """Simulate and write the raw synthetic MuData (``bf.datasets.synthetic_paired``)."""
    import butterflyvi as bf

    start = time.perf_counter()
    mdata = bf.datasets.synthetic_paired(
        cells, n_genes=N_GENES, n_peaks=peaks, peak_density=density, seed=0
    )
    path = data_path(cells, peaks, density)
    path.parent.mkdir(parents=True, exist_ok=True)
    mdata.write(path)
    return {
        "path": str(path),
        "seconds": time.perf_counter() - start,
        "peak_rss_gb": peak_rss_gb(),
        "nnz_atac": int(mdata["atac"].X.nnz),
        "nnz_rna": int(mdata["rna"].X.nnz),
    }


def measure(
    cells: int, peaks: int, density: float, *, max_steps: int, batch_size: int = 64
) -> dict:
    """Preprocess and train one epoch of each phase; memory after each stage."""
    import mudata as md

    import butterflyvi as bf

    reset_stage_peak()
    stages = {"start": (current_rss_gb(), peak_rss_gb(), stage_peak_gb())}

    def mark(name: str) -> None:
        stages[name] = (current_rss_gb(), peak_rss_gb(), stage_peak_gb())
        reset_stage_peak()

    mdata = md.read_h5mu(data_path(cells, peaks, density))
    mark("read")
    raw_nnz = {m: int(mdata[m].X.nnz) for m in ("rna", "atac")}
    bf.pp.preprocess_rna(mdata["rna"], n_top_genes=N_GENES)
    bf.pp.preprocess_atac(mdata["atac"])
    mdata.update()
    mark("preprocessed")
    torch.set_num_threads(1)  # scanpy's threadpoolctl may have changed it
    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = bf.ButterflyModel(mdata, preset="default")
    mark("model")
    clock = EpochClock(1)
    limits = {}
    if max_steps:
        limits = {"limit_train_batches": max_steps, "limit_val_batches": max_steps}
    model.train(
        max_epochs_pretrain=1,
        max_epochs=1,
        batch_size=batch_size,
        callbacks=[clock],
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        **limits,
    )
    mark("trained")
    n_train = int(np.ceil(0.9 * mdata.n_obs))  # scvi: ceil(train_size * n)
    steps_per_epoch = int(np.ceil(n_train / batch_size))
    epochs = {}
    for e in clock.epochs:
        scale = steps_per_epoch / e["steps"]
        epochs[f"phase{e['phase']}"] = {
            **e,
            "steps_per_full_epoch": steps_per_epoch,
            "cpu_s_per_epoch": e["cpu_s"] * scale,
            "wall_s_per_epoch": e["wall_s"] * scale,
            "extrapolated": e["steps"] < steps_per_epoch,
        }
    x_atac, x_rna = mdata["atac"].X, mdata["rna"].X
    return {
        "cells": cells,
        "peaks_simulated": peaks,
        "peaks_kept": int(mdata["atac"].n_vars),
        "genes": int(mdata["rna"].n_vars),
        "density": density,
        "nnz_raw": raw_nnz,
        "nnz_preprocessed": {"rna": int(x_rna.nnz), "atac": int(x_atac.nnz)},
        "dense_atac_gb": cells * int(mdata["atac"].n_vars) * 4 / 1e9,
        "batch_size": batch_size,
        "max_steps": max_steps,
        # current: resident at the end of the stage; peak: process peak so far; stage_peak:
        # peak during the stage alone (VmHWM reset at the start of each stage).
        "rss_gb_after": {
            k: {"current": v[0], "peak": v[1], "stage_peak": v[2]} for k, v in stages.items()
        },
        # resetting VmHWM per stage also resets ru_maxrss on this kernel: the process peak
        # is the largest peak seen at any stage's end
        "peak_rss_gb": max(max(v[1], v[2]) for v in stages.values()),
        "epochs": epochs,
        "load_average_end": load_average(),
    }


def _run(args: list[str]) -> int:
    return subprocess.call([sys.executable, "-m", "benchmarks.perf_memory", *args])


def sweep(grid=GRID) -> None:
    """Every size of ``grid`` in its own process (generation, then measurement)."""
    for cells, peaks, density, steps in grid:
        out = OUT / f"{_stem(cells, peaks, density)}.json"
        if out.exists():
            print(f"{out.name}: done already", flush=True)
            continue
        base = ["--cells", str(cells), "--peaks", str(peaks), "--density", str(density)]
        if not data_path(cells, peaks, density).exists():
            _run([*base, "--generate"])
        _run([*base, "--max-steps", str(steps)])


def main(argv: list[str] | None = None) -> None:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_memory")
    parser.add_argument("--cells", type=int)
    parser.add_argument("--peaks", type=int)
    parser.add_argument("--density", type=float, default=0.01)
    parser.add_argument("--max-steps", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--generate", action="store_true")
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument(
        "--unbounded-calibration",
        action="store_true",
        help="calibrate on every validation cell, as before the bound (record in a subfolder)",
    )
    args = parser.parse_args(argv)
    quiet()
    torch.set_num_threads(1)
    if args.sweep:
        sweep()
        return
    stem = _stem(args.cells, args.peaks, args.density)
    if args.generate:
        info = generate(args.cells, args.peaks, args.density)
        print(json.dumps(info), flush=True)
        return
    command = "python -m benchmarks.perf_memory " + " ".join(argv or sys.argv[1:])
    record = {"command": command, **context()}
    out = OUT
    if args.unbounded_calibration:
        from butterflyvi.model import _trust_mixin

        _trust_mixin.CALIBRATION_MAX_VALUES = 2**62
        out = OUT / "unbounded_calibration"
        record["calibration"] = "every validation cell (the bound lifted)"
    record.update(
        measure(
            args.cells,
            args.peaks,
            args.density,
            max_steps=args.max_steps,
            batch_size=args.batch_size,
        )
    )
    write_json(out / f"{stem}.json", record)
    print(json.dumps({"stem": stem, "peak_rss_gb": record["peak_rss_gb"]}), flush=True)


if __name__ == "__main__":
    main()
