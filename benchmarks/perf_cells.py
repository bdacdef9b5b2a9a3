"""Does a training step cost more per cell when the dataset has more cells?

``python -m benchmarks.perf_cells [--cells 4000 20000] [--rounds 2] [--steps 25]``

One process: the cached ``synthetic_paired(20000, n_peaks=200_000, peak_density=0.01)`` of
``perf_memory`` (generated if missing) is preprocessed once; the model
(``output_fraction=0.1``, batch 128, one torch thread) trains ``--steps`` steps of each phase
on its first 4,000 cells and on all of them, in alternating order for ``--rounds`` rounds.
CPU and wall ms per step. Record: ``benchmarks/results/perf_cells.json``.
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np
import torch

from ._perf_common import RESULTS, EpochClock, context, load_average, quiet, write_json
from .perf_memory import data_path, generate

PEAKS, DENSITY, N_CELLS = 200_000, 0.01, 20_000


def _steps(mdata, steps: int) -> dict:
    import scvi

    import butterflyvi as bf

    scvi.settings.seed = 0
    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = bf.ButterflyModel(mdata, output_fraction=0.1)
    clock = EpochClock(1)
    model.train(
        max_epochs_pretrain=1,
        max_epochs=1,
        batch_size=128,
        limit_train_batches=steps,
        limit_val_batches=1,
        callbacks=[clock],
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    return {
        f"phase{e['phase']}": {
            "cpu_ms_per_step": 1000 * e["cpu_s"] / e["steps"],
            "wall_ms_per_step": 1000 * e["wall_s"] / e["steps"],
        }
        for e in clock.epochs
    }


def main(argv: list[str] | None = None) -> dict:
    """Measure and write the record."""
    import mudata as md

    import butterflyvi as bf

    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_cells")
    parser.add_argument("--cells", type=int, nargs="+", default=[4000, N_CELLS])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=25)
    args = parser.parse_args(argv)
    quiet()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    if not data_path(N_CELLS, PEAKS, DENSITY).exists():
        generate(N_CELLS, PEAKS, DENSITY)
    full = md.read_h5mu(data_path(N_CELLS, PEAKS, DENSITY))
    bf.pp.preprocess_rna(full["rna"])
    bf.pp.preprocess_atac(full["atac"])
    full.update()
    record = {"command": "python -m benchmarks.perf_cells " + " ".join(argv or sys.argv[1:])}
    record.update(context())
    record["peaks_kept"] = int(full["atac"].n_vars)
    runs = []
    for r in range(args.rounds):
        for n in args.cells:
            mdata = full if n >= full.n_obs else full[:n].copy()
            runs.append({"cells": n, "round": r, **_steps(mdata, args.steps)})
            runs[-1]["load_average"] = load_average()
            print("[perf_cells]", runs[-1], flush=True)
    record["runs"] = runs
    record["summary"] = {
        str(n): {
            phase: float(np.median([x[phase]["cpu_ms_per_step"] for x in runs if x["cells"] == n]))
            for phase in ("phase1", "phase2")
        }
        for n in args.cells
    }
    print("[perf_cells]", record["summary"], flush=True)
    write_json(RESULTS / "perf_cells.json", record)
    return record


if __name__ == "__main__":
    main()
