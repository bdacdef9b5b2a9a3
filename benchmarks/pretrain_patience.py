"""When would early stopping end phase 1? The validation pretraining loss of a preset, epoch by
epoch, and the epoch each patience would stop at.

``python -m benchmarks.pretrain_patience --dataset snareseq --preset default [--threads 1]``

Trains phase 1 in full (``max_epochs_pretrain`` of the preset, no early stopping; one
integrative epoch) on the benchmark split and reads ``validation_pretrain_loss`` (both
modalities' losses summed, the monitor of ``train(pretrain_patience=)``) from the history.
For each patience it records the epoch at which phase 1 would have ended (``None``: never)
and the best epoch. Record: ``benchmarks/results/pretrain_patience_{dataset}_{preset}.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import scvi
import torch

import butterflyvi as bf

from ._data import load_paired
from ._report import Record

RESULTS = Path(__file__).resolve().parent / "results"
PATIENCES = (10, 25, 50)


def stopping_epoch(losses: np.ndarray, patience: int) -> int | None:
    """The epoch at which ``patience`` epochs without a new minimum have passed, or None."""
    best, wait = np.inf, 0
    for epoch, loss in enumerate(losses):
        if loss < best:
            best, wait = loss, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pretrain_patience")
    parser.add_argument("--dataset", default="snareseq")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    path = RESULTS / f"pretrain_patience_{args.dataset}_{args.preset}.json"
    record = Record.of_run(path, "pretrain_patience", dataset=args.dataset, preset=args.preset)
    data = load_paired(args.dataset, seed=args.seed)
    scvi.settings.seed = args.seed
    bf.ButterflyModel.setup_mudata(data.mdata, modalities=data.mods)
    model = bf.ButterflyModel(data.mdata, preset=args.preset)
    epochs = bf.model.PRESETS[args.preset]["train"]["max_epochs_pretrain"]
    model.train(
        max_epochs_pretrain=epochs,
        max_epochs=1,
        external_indexing=[data.split["train"], data.split["validation"], data.split["test"]],
        pretrain_patience=None,
        early_stopping=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    history = model.history["validation_pretrain_loss"].to_numpy(float).ravel()[:epochs]
    record.update(
        epochs_pretrain=epochs,
        validation_pretrain_loss=history.tolist(),
        best_epoch=int(np.argmin(history)),
        stopping_epoch={str(p): stopping_epoch(history, p) for p in PATIENCES},
        finished=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
