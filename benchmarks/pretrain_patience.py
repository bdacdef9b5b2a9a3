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
    """The epoch at which ``train(pretrain_patience=patience)`` would end phase 1 with these
    validation losses (``None``: never), by replaying them through the package's own callback.
    """
    from types import SimpleNamespace

    from butterflyvi.train._callbacks import PretrainEarlyStopping

    callback = PretrainEarlyStopping(patience, SimpleNamespace(start_epoch=len(losses)))
    module = SimpleNamespace(phase=1, n_epochs_pretrain=len(losses))
    trainer = SimpleNamespace(
        sanity_checking=False, fit_loop=SimpleNamespace(max_epochs=len(losses) + 1)
    )
    for epoch, loss in enumerate(losses):
        trainer.current_epoch = epoch
        trainer.callback_metrics = {callback.monitor: torch.tensor(float(loss))}
        callback.on_validation_end(trainer, module)
        if callback.stopped_epoch is not None:
            return callback.stopped_epoch
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
