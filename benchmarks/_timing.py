"""Wall time per epoch and phase, peak memory, and a description of the machine."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from importlib.metadata import PackageNotFoundError, version

import lightning.pytorch as pl
import numpy as np
import torch


class EpochTimer(pl.Callback):
    """Record the wall time of every training epoch, with and without its validation pass.

    Epochs ``< n_epochs_pretrain`` are phase 1, the others phase 2. ``on_train_epoch_end`` runs
    after the epoch's validation pass in Lightning 2, so the epoch time includes validation;
    the validation time is recorded separately and subtracted to get the training loop alone.

    Parameters
    ----------
    n_epochs_pretrain
        Number of phase-1 epochs.
    n_train_cells
        Training cells (pairs) seen per epoch, for cells per second.
    on_epoch
        Optional function called with the list of epoch records after every epoch (e.g. to
        write progress to disk).
    """

    def __init__(self, n_epochs_pretrain: int, n_train_cells: int, on_epoch=None):
        super().__init__()
        self.n_epochs_pretrain = n_epochs_pretrain
        self.n_train_cells = n_train_cells
        self.on_epoch = on_epoch
        self.epochs: list[dict] = []
        self._start = 0.0
        self._val_start = 0.0
        self._val = 0.0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Start the epoch's clock."""
        self._start = time.perf_counter()
        self._val = 0.0

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule):
        """Start the validation clock."""
        self._val_start = time.perf_counter()

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule):
        """Stop the validation clock (sanity checks are not counted)."""
        if not trainer.sanity_checking:
            self._val += time.perf_counter() - self._val_start

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Store the epoch's record."""
        total = time.perf_counter() - self._start
        epoch = trainer.current_epoch
        self.epochs.append(
            {
                "epoch": int(epoch),
                "phase": 1 if epoch < self.n_epochs_pretrain else 2,
                "seconds": total,
                "seconds_validation": self._val,
                "seconds_train": total - self._val,
            }
        )
        if self.on_epoch is not None:
            self.on_epoch(self.epochs)

    def summary(self) -> dict:
        """Per phase: epochs run, total wall time, median seconds/epoch, training cells/s."""
        out = {}
        for phase in (1, 2):
            rows = [e for e in self.epochs if e["phase"] == phase]
            if not rows:
                out[f"phase{phase}"] = {"epochs": 0}
                continue
            train = np.array([e["seconds_train"] for e in rows])
            full = np.array([e["seconds"] for e in rows])
            median_train = float(np.median(train))
            out[f"phase{phase}"] = {
                "epochs": len(rows),
                "wall_seconds": float(full.sum()),
                "median_seconds_per_epoch": median_train,
                "median_seconds_per_epoch_with_validation": float(np.median(full)),
                "train_cells_per_second": self.n_train_cells / median_train
                if median_train > 0
                else float("nan"),
            }
        return out


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far, in GB (``ru_maxrss`` is in kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    """Versions of butterflyvi, scvi-tools, torch, lightning and Python."""
    return {
        "butterflyvi": _version("butterflyvi"),
        "scvi-tools": _version("scvi-tools"),
        "torch": torch.__version__,
        "lightning": _version("lightning"),
        "python": sys.version.split()[0],
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    """CPU model, cores, torch threads, memory and the load average at the time of the call."""
    info = {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "cuda": torch.cuda.is_available(),
    }
    try:
        info["memory_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1)
        info["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
    except (OSError, ValueError, AttributeError):
        pass
    return info
