"""Translation and training on on-disk (backed) data against the same data in memory.

    python -m benchmarks.perf_backed --cells 100000 --peaks 200000 [--density 0.01]

One process per step (peak resident memory is per process):

1. ``--step prepare``: a model trained briefly (20 steps per phase) on the first 5,000 cells
   of the raw synthetic file of :mod:`benchmarks.perf_memory`, saved with those cells.
2. ``--step memory``: ``mudata.read_h5mu(path)`` (everything in memory), then
   ``get_latent_representation`` and ``translate`` from the raw ATAC counts (the stored
   preprocessing is applied to the whole matrix).
3. ``--step backed``: ``mudata.read_h5mu(path, backed=True)``, the same calls; the rows are
   read, preprocessed and encoded ``--batch-size`` cells at a time.
4. ``--step train-memory`` / ``--step train-backed``: one epoch of each phase on SNARE-seq
   (``X`` only) read into memory or opened backed (scvi-tools' loader reads each minibatch's
   rows from disk; ``setup_mudata``'s value check reads the on-disk matrices in chunks).

Writes ``benchmarks/results/perf_backed.json`` (one entry per step). Without ``--step`` the
steps run one after the other, each in its own process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings

import numpy as np
import torch

from ._perf_common import CACHE, RESULTS, context, load_average, peak_rss_gb, quiet, write_json
from .perf_memory import data_path

OUT = RESULTS / "perf_backed.json"
N_REFERENCE = 5000


def _model_dir(stem: str):
    return CACHE / f"backed_model_{stem}"


def prepare(path, stem: str) -> dict:
    """Train a small model on the first cells and save it with them."""
    import mudata as md

    import butterflyvi as bf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backed = md.read_h5mu(path, backed=True)
        mods = {m: backed[m][:N_REFERENCE].to_memory() for m in ("rna", "atac")}
    ref = md.MuData(mods)
    bf.pp.preprocess_rna(ref["rna"], n_top_genes=2000)
    bf.pp.preprocess_atac(ref["atac"])
    ref.update()
    torch.set_num_threads(1)
    bf.ButterflyModel.setup_mudata(ref, modalities=("rna", "atac"))
    model = bf.ButterflyModel(ref)
    model.train(
        max_epochs_pretrain=1,
        max_epochs=1,
        limit_train_batches=20,
        limit_val_batches=5,
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    model.save(_model_dir(stem), save_anndata=True, overwrite=True)
    return {"reference_cells": ref.n_obs, "peaks_kept": int(ref["atac"].n_vars)}


def translate(path, stem: str, *, backed: bool, batch_size: int) -> dict:
    """Load the model, open the data (backed or in memory), encode and translate it."""
    import mudata as md

    import butterflyvi as bf

    model = bf.ButterflyModel.load(_model_dir(stem))
    torch.set_num_threads(1)
    out = {"peak_rss_gb_model_loaded": peak_rss_gb()}
    start = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = md.read_h5mu(path, backed=backed)
    out["read_s"] = time.perf_counter() - start[0]
    out["peak_rss_gb_data_opened"] = peak_rss_gb()
    start = time.perf_counter(), time.process_time()
    latent = model.get_latent_representation(data, modality="atac", batch_size=batch_size)
    out["latent"] = {
        "shape": list(latent.shape),
        "wall_s": time.perf_counter() - start[0],
        "cpu_s": time.process_time() - start[1],
        "peak_rss_gb": peak_rss_gb(),
        "load_average": load_average(),
    }
    start = time.perf_counter(), time.process_time()
    pred = model.translate(data, source="atac", batch_size=batch_size)
    out["translate_atac_to_rna"] = {
        "shape": list(pred.shape),
        "nnz": int(pred.X.nnz),
        "checksum": float(np.asarray(pred.X.sum())),
        "wall_s": time.perf_counter() - start[0],
        "cpu_s": time.process_time() - start[1],
        "peak_rss_gb": peak_rss_gb(),
        "load_average": load_average(),
    }
    out["latent_checksum"] = float(np.abs(latent).sum())
    return out


def train_snareseq(*, backed: bool, epochs: int = 1) -> dict:
    """Train on SNARE-seq (X only, no layers) opened backed or read into memory."""
    import mudata as md

    import butterflyvi as bf

    from ._perf_common import EpochClock, phase_summary, prepared_snareseq

    path = CACHE / "snareseq_prepared_x_only.h5mu"
    if not path.exists():
        full, _ = prepared_snareseq()
        for mod in ("rna", "atac"):
            full.mod[mod].layers.clear()
        full.write(path)
        del full
    split = dict(np.load(CACHE / "snareseq_split.npz"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdata = md.read_h5mu(path, backed=backed)
    rss_opened = peak_rss_gb()
    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = bf.ButterflyModel(mdata, preset="paper")
    torch.set_num_threads(1)
    clock = EpochClock(epochs)
    model.train(
        max_epochs_pretrain=epochs,
        max_epochs=epochs,
        external_indexing=[split["train"], split["validation"], split["test"]],
        callbacks=[clock],
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    pred = model.translate(mdata, source="rna")
    return {
        "backed": backed,
        "x_on_disk": bool(mdata["atac"].isbacked),
        "peak_rss_gb_opened": rss_opened,
        "summary": phase_summary(clock.epochs, len(split["train"])),
        "translation_shape": list(pred.shape),
    }


def main(argv: list[str] | None = None) -> None:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_backed")
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--peaks", type=int, default=200_000)
    parser.add_argument("--density", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument(
        "--step", choices=("prepare", "memory", "backed", "train-memory", "train-backed")
    )
    args = parser.parse_args(argv)
    quiet()
    torch.set_num_threads(1)
    path = data_path(args.cells, args.peaks, args.density)
    stem = path.stem
    if args.step is None:
        base = [sys.executable, "-m", "benchmarks.perf_backed", *(argv or sys.argv[1:])]
        for step in ("prepare", "memory", "backed", "train-memory", "train-backed"):
            subprocess.call([*base, "--step", step])
        return
    record = json.loads(OUT.read_text()) if OUT.exists() else {}
    start = time.perf_counter()
    if args.step == "prepare":
        result = prepare(path, stem)
    elif args.step.startswith("train-"):
        result = train_snareseq(backed=args.step == "train-backed")
    else:
        result = translate(path, stem, backed=args.step == "backed", batch_size=args.batch_size)
    result.update(
        command="python -m benchmarks.perf_backed " + " ".join(argv or sys.argv[1:]),
        data=str(path.name),
        wall_s_total=time.perf_counter() - start,
        peak_rss_gb=peak_rss_gb(),
        **context(),
    )
    record[args.step] = result
    write_json(OUT, record)
    print(json.dumps({args.step: result["peak_rss_gb"]}), flush=True)


if __name__ == "__main__":
    main()
