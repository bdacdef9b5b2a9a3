"""Translation throughput and memory, file to file, against the I/O floor.

``python -m benchmarks.perf_translate [--cells 1000 10000 100000] [--peaks-cells 1000 10000]``

Two shapes:

- **SNARE-seq RNA → ATAC** with the catalogue's ``mouse-cortex-rna-atac`` model: input files
  of N cells resampled (with replacement, seed 0) from SNARE-seq's raw RNA counts (all 1,677
  genes), output over the model's peaks;
- **200k peaks, ATAC → RNA**: a model trained briefly (40 steps per phase) on 3,000 cells of
  ``bf.datasets.synthetic_paired(n_peaks=200_000, peak_density=0.01)``; inputs of N further
  simulated cells' raw ATAC counts.

For each size, in its own process (peak memory is per process), the path a portal job takes:

- ``memory``: read the ``.h5ad`` (``read_s``), ``translate`` (raw counts, so the stored
  preprocessing is applied; ``translate_s``), write the sparse result (``write_s``);
- ``backed``: open it backed and ``translate(..., out_file=...)`` (rows read and the result
  written ``batch_size`` cells at a time).

The **I/O floor** is measured in the same process: reading the same input file and writing the
prediction itself as an ordinary ``write_h5ad`` would (a dense array as it is, a CSR matrix
with int32 indices as scipy and anndata make it), without translating. Writes
``benchmarks/results/perf_translate.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ._perf_common import CACHE, RESULTS, context, load_average, peak_rss_gb, quiet, write_json

OUT = RESULTS / "perf_translate.json"
PEAKS = 200_000
N_GENES_200K = 2_000


def _snare_input(n: int) -> Path:
    import anndata as ad

    import butterflyvi as bf

    path = CACHE / f"translate_snare_rna_{n}.h5ad"
    if not path.exists():
        rna = bf.datasets.snareseq()["rna"]
        rows = np.sort(np.random.default_rng(0).integers(0, rna.n_obs, size=n))
        out = ad.AnnData(X=rna.X[rows], var=rna.var[[]])
        out.obs_names = [f"cell{i}" for i in range(n)]
        CACHE.mkdir(parents=True, exist_ok=True)
        out.write_h5ad(path)
    return path


def _peaks_model() -> Path:
    """A model over 200,000 peaks, trained briefly on 3,000 simulated cells (cached)."""
    import scvi

    import butterflyvi as bf

    folder = CACHE / "translate_model_200k"
    if (folder / "model.pt").exists():
        return folder
    mdata = bf.datasets.synthetic_paired(
        3000, n_genes=N_GENES_200K, n_peaks=PEAKS, peak_density=0.01, seed=0
    )
    bf.pp.preprocess_rna(mdata["rna"])
    bf.pp.preprocess_atac(mdata["atac"])
    mdata.update()
    scvi.settings.seed = 0
    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = bf.ButterflyModel(mdata)
    model.train(max_epochs_pretrain=1, max_epochs=1, max_steps=80, enable_progress_bar=False)
    model.save(folder, overwrite=True, save_anndata=False)
    return folder


def _peaks_input(n: int) -> Path:
    import butterflyvi as bf

    path = CACHE / f"translate_200k_atac_{n}.h5ad"
    if not path.exists():
        atac = bf.datasets.synthetic_paired(
            n, n_genes=N_GENES_200K, n_peaks=PEAKS, peak_density=0.01, seed=1
        )["atac"]
        # new cells of the model's peaks: the simulator draws peak coordinates from its seed
        training = bf.datasets.synthetic_paired(
            3000, n_genes=N_GENES_200K, n_peaks=PEAKS, peak_density=0.01, seed=0
        )["atac"]
        atac.var = training.var.copy()
        atac.obs_names = [f"cell{i}" for i in range(n)]
        atac.write_h5ad(path)
    return path


def _ordinary_csr(matrix):
    """``matrix`` as scipy builds a CSR matrix of its size: int32 indices where they fit."""
    csr = sp.csr_matrix(matrix)
    if csr.nnz <= np.iinfo(np.int32).max and csr.shape[1] <= np.iinfo(np.int32).max:
        csr.indices = csr.indices.astype(np.int32)
        csr.indptr = csr.indptr.astype(np.int32)
    return csr


def measure(shape: str, n: int, mode: str, threads: int) -> dict:
    """One size and mode (run in a fresh process)."""
    import anndata as ad
    import torch

    import butterflyvi as bf

    torch.set_num_threads(threads)
    if shape == "snare":
        model, source, path = bf.zoo.load("mouse-cortex-rna-atac"), "rna", _snare_input(n)
    else:
        folder = _peaks_model()
        model, source, path = bf.ButterflyModel.load(folder), "atac", _peaks_input(n)
    out_path = CACHE / f"translate_out_{shape}_{n}_{mode}.h5ad"
    record = {"shape": shape, "cells": n, "mode": mode, "threads": threads}
    start = time.perf_counter()
    if mode == "memory":
        adata = ad.read_h5ad(path)
        t_read = time.perf_counter()
        prediction = model.translate(adata, source=source)
        t_translate = time.perf_counter()
        prediction.write_h5ad(out_path)
        t_write = time.perf_counter()
        record.update(
            read_s=t_read - start,
            translate_s=t_translate - t_read,
            write_s=t_write - t_translate,
        )
    else:
        backed = ad.read_h5ad(path, backed="r")
        prediction = model.translate(backed, source=source, out_file=out_path)
    total = time.perf_counter() - start
    record.update(
        file_to_file_s=total,
        cells_per_second=n / total,
        peak_rss_gb=peak_rss_gb(),
        output_shape=list(prediction.shape),
        output_layout="csr" if sp.issparse(prediction.X) else "dense",
        load_average=load_average(),
    )
    # The I/O floor: the same input read, the same content written as an ordinary
    # write_h5ad would (a CSR prediction with int32 indices where they fit).
    written = ad.read_h5ad(out_path)
    if sp.issparse(written.X):  # a dense prediction is written as the dense array it is
        written.X = _ordinary_csr(written.X)
    start = time.perf_counter()
    ad.read_h5ad(path)
    t_read = time.perf_counter()
    written.write_h5ad(CACHE / f"translate_floor_{shape}_{n}.h5ad")
    t_write = time.perf_counter()
    record["io_floor_s"] = t_write - start
    record["io_floor_read_s"] = t_read - start
    record["io_floor_write_s"] = t_write - t_read
    record["over_io_floor"] = total / record["io_floor_s"]
    return record


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_translate")
    parser.add_argument("--cells", type=int, nargs="*", default=[1000, 10_000, 100_000])
    parser.add_argument("--peaks-cells", type=int, nargs="*", default=[1000, 10_000])
    parser.add_argument("--modes", nargs="+", default=["memory", "backed"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--one", nargs=3, metavar=("SHAPE", "CELLS", "MODE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    quiet()
    warnings.filterwarnings("ignore")
    if args.one:
        shape, n, mode = args.one
        print(json.dumps(measure(shape, int(n), mode, args.threads)), flush=True)
        return 0
    runs = []
    jobs = [("snare", n) for n in args.cells] + [("peaks200k", n) for n in args.peaks_cells]
    for shape, n in jobs:
        for mode in args.modes:
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.perf_translate",
                    "--one",
                    shape,
                    str(n),
                    mode,
                    "--threads",
                    str(args.threads),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                print(out.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"perf_translate: {shape} {n} {mode} failed")
            record = json.loads(out.stdout.strip().splitlines()[-1])
            runs.append(record)
            print(
                f"[perf_translate] {shape} {n:>8,} {mode:>6}: {record['file_to_file_s']:8.2f} s "
                f"({record['cells_per_second']:,.0f} cells/s), I/O floor "
                f"{record['io_floor_s']:.2f} s ({record['over_io_floor']:.1f}×), peak "
                f"{record['peak_rss_gb']:.2f} GB",
                flush=True,
            )
            write_json(
                OUT,
                {
                    "context": context(),
                    "runs": runs,
                    "command": "python -m benchmarks.perf_translate " + " ".join(sys.argv[1:]),
                },
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
