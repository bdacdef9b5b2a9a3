"""Two-process DDP training on CPU (gloo) on SNARE-seq: it runs, saves, loads, translates.

``python -m benchmarks.perf_ddp [--devices 2] [--epochs 1]``

Lightning's DDP launcher runs this module once more per extra process (``LOCAL_RANK=1``, …);
every process trains on its share of the minibatches (scvi-tools' ``BatchDistributedSampler``)
and the gradients are averaged. Rank 0 then saves the model, loads it back and translates the
test cells; each rank writes its timing to ``benchmarks/results/perf_ddp.json`` (rank 0) and
``results/tmp/perf_ddp_rank{r}.json``. The per-process CPU time per epoch is the figure to
compare with a single process (the machine's 2 cores are shared with other work, so wall
times say little here).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import scvi
import torch

from ._perf_common import (
    CACHE,
    RESULTS,
    EpochClock,
    context,
    peak_rss_gb,
    phase_summary,
    prepared_snareseq,
    quiet,
    write_json,
)


def main(argv: list[str] | None = None) -> None:
    """Train with DDP and write each rank's record."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_ddp")
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args(argv)
    quiet()
    import butterflyvi as bf

    torch.set_num_threads(1)
    mdata, split = prepared_snareseq()
    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    scvi.settings.seed = 0
    model = bf.ButterflyModel(mdata, preset="paper")
    torch.set_num_threads(1)
    clock = EpochClock(args.epochs)
    start = time.perf_counter()
    model.train(
        max_epochs_pretrain=args.epochs,
        max_epochs=args.epochs,
        batch_size=64,
        external_indexing=[split["train"], split["validation"], split["test"]],
        accelerator="cpu",
        devices=args.devices,
        strategy="ddp_find_unused_parameters_true",
        callbacks=[clock],
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    rank = model.trainer.global_rank
    record = {
        "command": "python -m benchmarks.perf_ddp " + " ".join(argv or sys.argv[1:]),
        "rank": rank,
        "world_size": model.trainer.world_size,
        "train_wall_s": time.perf_counter() - start,
        "epochs": clock.epochs,
        "summary_per_process": phase_summary(clock.epochs, len(split["train"]) // args.devices),
        "best_epoch": model.best_epoch_,
        "peak_rss_gb": peak_rss_gb(),
        **context(),
    }
    if rank == 0:
        path = CACHE / "perf_ddp_model"
        model.save(path, overwrite=True, save_anndata=False)
        loaded = bf.ButterflyModel.load(path, adata=mdata)
        test = mdata[split["test"]]
        before = model.translate(test, source="rna").X
        after = loaded.translate(test, source="rna").X
        record["save_load_translate_equal"] = bool((before != after).nnz == 0)
        record["history_keys"] = sorted(model.history)
        record["translation_shape"] = list(before.shape)
        record["translation_finite"] = bool(np.isfinite(before.data).all())
        write_json(RESULTS / "perf_ddp.json", record)
    (CACHE / f"perf_ddp_rank{rank}.json").write_text(json.dumps(record, default=str))


if __name__ == "__main__":
    main()
