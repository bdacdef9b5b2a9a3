"""Sparse accessibility input against the dense path, at 200,000 peaks, in one process.

``python -m benchmarks.perf_sparse [--cells 4000] [--rounds 2] [--epochs 2] [--threads 1]
[--shape uniform|snareseq] [--variants dense sparse sparse_output0.1] [--out PATH]``

- **The encoder layer alone** (forward + backward, batch 128, 200,000 peaks in 22
  chromosomes, densities 0.01 and 0.03): the padded dense product (``dense_hidden``) against
  the CSR one (``sparse_hidden``), interleaved, medians of 5.
- **Training epochs**: ``bf.datasets.synthetic_paired(cells, n_peaks=200_000,
  peak_density=0.01)`` preprocessed as the package does (``preprocess_rna``,
  ``preprocess_atac``), the default model, batch 128, ``epochs`` epochs of each phase, with
  the encoder reading CSR minibatches (``sparse``, the package), with the dense path
  (``dense``: ``takes_sparse`` patched to ``False``, the package before), and with CSR input
  plus ``output_fraction=0.1`` (``sparse_output0.1``: a tenth of the peaks decoded and scored
  per step), in alternating order for ``rounds`` rounds. Per phase, cells per CPU-second and
  cells per wall-second — never mixed in one ratio; the ratios of the variants are per
  CPU-second, in the same run.
- ``--shape snareseq`` replaces the simulated accessibility by one with SNARE-seq's per-peak
  and per-cell shape at the same mean density (``benchmarks/_real_shaped.py``).

Writes ``benchmarks/results/perf_sparse.json`` (or ``--out``), the data's generation and
preprocessing seconds and peak memory included.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from ._perf_common import (
    RESULTS,
    EpochClock,
    context,
    load_average,
    peak_rss_gb,
    phase_summary,
    quiet,
    write_json,
)

PEAKS = 200_000
DENSITY = 0.01


def _layer_times(density: float, repeats: int = 5) -> dict:
    from butterflyvi.module._layers import ChromosomeEncoderLayer

    rng = np.random.default_rng(0)
    chromosome = np.sort(rng.integers(0, 22, PEAKS))
    groups = [np.flatnonzero(chromosome == c) for c in range(22)]
    layer = ChromosomeEncoderLayer(groups, PEAKS, units=32, dropout=0.0)
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand(128, PEAKS, generator=generator) < density).float()
    inputs = {"dense": (layer.dense_hidden, x), "sparse": (layer.sparse_hidden, x.to_sparse_csr())}
    times: dict[str, list[float]] = {name: [] for name in inputs}
    for _ in range(repeats):
        for name, (fn, inp) in inputs.items():
            start = time.process_time()
            fn(inp).sum().backward()
            times[name].append(time.process_time() - start)
    out = {f"{name}_cpu_ms": 1000 * float(np.median(t)) for name, t in times.items()}
    out["dense_over_sparse"] = out["dense_cpu_ms"] / out["sparse_cpu_ms"]
    out["density"] = density
    return out


@contextmanager
def _dense_encoder():
    """The package before sparse input: every encoder densifies its minibatch."""
    from butterflyvi.module import ButterflyModule

    original = ButterflyModule.takes_sparse
    ButterflyModule.takes_sparse = lambda self, modality: False
    try:
        yield
    finally:
        ButterflyModule.takes_sparse = original


def _data(n_cells: int, shape: str) -> tuple:
    """The preprocessed MuData and what making it cost."""
    import butterflyvi as bf

    from ._real_shaped import real_shaped_paired

    start = time.perf_counter()
    if shape == "snareseq":
        mdata = real_shaped_paired(n_cells, PEAKS, DENSITY, seed=0)
    else:
        mdata = bf.datasets.synthetic_paired(
            n_cells, n_genes=2000, n_peaks=PEAKS, peak_density=DENSITY, seed=0
        )
    generated = time.perf_counter()
    raw_nnz = int(mdata["atac"].X.nnz)
    bf.pp.preprocess_rna(mdata["rna"])
    bf.pp.preprocess_atac(mdata["atac"])
    mdata.update()
    cost = {
        "generation_wall_s": generated - start,
        "preprocessing_wall_s": time.perf_counter() - generated,
        "peak_rss_gb_after_preprocessing": peak_rss_gb(),
        "atac_nnz_raw": raw_nnz,
    }
    return mdata, cost


#: Variants: the encoder's input path, and the fraction of peaks decoded per training step.
VARIANTS = {
    "dense": {},
    "sparse": {},
    "sparse_output0.1": {"output_fraction": 0.1},
}


def _train(mdata, variant: str, epochs: int, batch_size: int) -> dict:
    import scvi

    import butterflyvi as bf

    scvi.settings.seed = 0
    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = bf.ButterflyModel(mdata, **VARIANTS[variant])
    clock = EpochClock(epochs)
    with _dense_encoder() if variant == "dense" else _noop():
        model.train(
            max_epochs_pretrain=epochs,
            max_epochs=epochs,
            batch_size=batch_size,
            train_size=0.9,
            validation_size=0.1,
            callbacks=[clock],
            enable_progress_bar=False,
        )
    n_train = round(0.9 * mdata.n_obs)
    return {"epochs": clock.epochs, "summary": phase_summary(clock.epochs, n_train)}


@contextmanager
def _noop():
    yield


def main(argv: list[str] | None = None) -> dict:
    """Measure and write the record."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_sparse")
    parser.add_argument("--cells", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--shape", choices=["uniform", "snareseq"], default="uniform")
    parser.add_argument(
        "--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS), metavar="VARIANT"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "perf_sparse.json")
    args = parser.parse_args(argv)
    quiet()
    torch.set_num_threads(args.threads)
    record = {"command": "python -m benchmarks.perf_sparse " + " ".join(argv or sys.argv[1:])}
    record.update(context())
    record["machine"]["torch_threads"] = torch.get_num_threads()
    record["layer"] = [_layer_times(d) for d in (0.01, 0.03)]
    for row in record["layer"]:
        print(
            f"[perf_sparse] layer density {row['density']}: dense {row['dense_cpu_ms']:.0f} ms,"
            f" sparse {row['sparse_cpu_ms']:.0f} ms ({row['dense_over_sparse']:.2f}x)",
            flush=True,
        )
    mdata, cost = _data(args.cells, args.shape)
    open_fraction = np.bincount(mdata["atac"].X.indices) / mdata.n_obs
    record["data"] = {
        "shape": args.shape,
        **cost,
        "open_fraction_of_kept_peaks_quantiles_50_90_99_max": np.quantile(
            open_fraction, [0.5, 0.9, 0.99, 1.0]
        ).tolist(),
        "cells": mdata.n_obs,
        "genes": mdata["rna"].n_vars,
        "peaks_simulated": PEAKS,
        "peaks_kept": mdata["atac"].n_vars,
        "atac_density": mdata["atac"].X.nnz / (mdata.n_obs * mdata["atac"].n_vars),
    }
    runs = []
    for r in range(args.rounds):
        order = tuple(args.variants) if r % 2 == 1 else tuple(reversed(args.variants))
        for variant in order:
            result = _train(mdata, variant, args.epochs, args.batch_size)
            result.update(variant=variant, round=r, load_average=load_average())
            runs.append(result)
            s = result["summary"]
            print(
                f"[perf_sparse] round {r} {variant:>6}: "
                + ", ".join(
                    f"phase {p[-1]} {v['cells_per_cpu_second']:.0f} cells/CPU-s "
                    f"{v['cells_per_wall_second']:.0f} cells/wall-s"
                    for p, v in s.items()
                ),
                flush=True,
            )
    record["runs"] = runs
    summary = {}
    for variant in args.variants:
        for phase in ("phase1", "phase2"):
            rows = [run["summary"][phase] for run in runs if run["variant"] == variant]
            summary[f"{variant}_{phase}"] = {
                "cells_per_cpu_second": float(np.median([r["cells_per_cpu_second"] for r in rows])),
                "cells_per_wall_second": float(
                    np.median([r["cells_per_wall_second"] for r in rows])
                ),
            }
    for phase in ("phase1", "phase2"):
        for variant in args.variants:
            if variant != "dense" and "dense" in args.variants:
                summary[f"{variant}_over_dense_cpu_{phase}"] = (
                    summary[f"{variant}_{phase}"]["cells_per_cpu_second"]
                    / summary[f"dense_{phase}"]["cells_per_cpu_second"]
                )
    record["summary"] = summary
    print("[perf_sparse]", summary, flush=True)
    write_json(args.out, record)
    return record


if __name__ == "__main__":
    main()
