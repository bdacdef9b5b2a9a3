"""Wall time of each training epoch, per phase, as a Lightning callback."""

from __future__ import annotations

import time

import numpy as np
from lightning.pytorch.callbacks import Callback


class EpochTimer(Callback):
    """Record the wall time of every training epoch (its validation pass included).

    Parameters
    ----------
    n_epochs_pretrain
        Number of phase-1 epochs: epochs ``[0, n_epochs_pretrain)`` count as pretraining,
        the following ones as integrative training.
    """

    def __init__(self, n_epochs_pretrain: int):
        super().__init__()
        self.n_epochs_pretrain = int(n_epochs_pretrain)
        self.durations: dict[int, float] = {}
        self._start: float | None = None
        self._epoch: int | None = None

    def _close(self) -> None:
        if self._start is not None and self._epoch is not None:
            self.durations[self._epoch] = time.perf_counter() - self._start
        self._start = None

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        """Start the clock of this epoch (and stop the previous one if still open)."""
        self._close()
        self._epoch = trainer.current_epoch
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        """Stop the clock (validation of this epoch has run by now)."""
        self._close()

    def on_train_end(self, trainer, pl_module) -> None:
        """Stop a clock left open by an interrupted epoch."""
        self._close()

    def summary(self) -> dict[str, dict[str, float | int]]:
        """Per phase: number of epochs run, total seconds and mean seconds per epoch."""
        out = {}
        for phase, keep in (
            ("pretraining", lambda e: e < self.n_epochs_pretrain),
            ("integrative", lambda e: e >= self.n_epochs_pretrain),
        ):
            times = [t for e, t in self.durations.items() if keep(e)]
            out[phase] = {
                "epochs": len(times),
                "seconds": float(np.sum(times)) if times else 0.0,
                "seconds_per_epoch": float(np.mean(times)) if times else float("nan"),
            }
        return out
