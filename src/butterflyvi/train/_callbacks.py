"""Early stopping of phase 2 that restores the best weights."""

from __future__ import annotations

import copy
import logging
import math

import lightning.pytorch as pl

logger = logging.getLogger(__name__)


class _Watch(pl.Callback):
    """A validation metric (lower is better): its best value and the epochs since."""

    def __init__(self, monitor: str):
        super().__init__()
        self.monitor = monitor
        self.best_score = math.inf
        self.wait = 0

    def _improved(self, trainer: pl.Trainer) -> bool | None:
        """Whether this epoch's value beats the best (``None``: no value logged)."""
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return None
        score = float(value)
        if math.isfinite(score) and score < self.best_score:
            self.best_score, self.wait = score, 0
            return True
        self.wait += 1
        return False


class BestWeightsEarlyStopping(_Watch):
    """Stop phase 2 when ``monitor`` has not improved for ``patience`` epochs; restore the best.

    Phase 1 is not watched here (:class:`PretrainEarlyStopping` ends it early where asked):
    this callback starts watching at epoch ``start_epoch``. At the end of training (also when
    stopped early, interrupted, or stopped by an error) the module
    gets the weights of the epoch with the lowest ``monitor`` — the original scButterfly keeps
    the last weights. This callback is the only place that restores them.

    Parameters
    ----------
    monitor
        Name of a logged validation metric (lower is better).
    start_epoch
        First epoch watched (the first phase-2 epoch).
    patience
        Epochs without improvement before stopping; ``None`` never stops but still keeps the
        best weights.
    """

    def __init__(self, monitor: str, *, start_epoch: int, patience: int | None):
        super().__init__(monitor)
        self.start_epoch = start_epoch
        self.patience = patience
        self.best_epoch: int | None = None
        self.best_state: dict | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule):
        """Track the best epoch and stop when patience runs out.

        Runs after the training plan's ``on_validation_epoch_end``, which logs the monitor of
        the ``"correlation"`` objective.
        """
        if trainer.sanity_checking or trainer.current_epoch < self.start_epoch:
            return
        improved = self._improved(trainer)
        if improved is None:
            return
        if improved:
            self.best_epoch = trainer.current_epoch
            self.best_state = {
                k: v.detach().to("cpu", copy=True) for k, v in pl_module.module.state_dict().items()
            }
            return
        if self.patience is not None and self.wait >= self.patience:
            logger.info(
                "Early stopping at epoch %d: %s has not improved for %d epochs (best %.5f at "
                "epoch %d).",
                trainer.current_epoch,
                self.monitor,
                self.wait,
                self.best_score,
                self.best_epoch,
            )
            trainer.should_stop = True

    def restore_best(self, pl_module: pl.LightningModule) -> bool:
        """Load the best weights into the module (left in eval mode); return whether there
        were any.
        """
        if self.best_state is None:
            return False
        pl_module.module.load_state_dict(copy.copy(self.best_state))
        pl_module.module.eval()
        return True

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule):
        """Restore the best weights when training ends normally."""
        self.restore_best(pl_module)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception):
        """Restore the best weights when training is interrupted or fails."""
        self.restore_best(pl_module)


class PretrainEarlyStopping(_Watch):
    """End phase 1 when ``validation_pretrain_loss`` has not improved for ``patience`` epochs,
    as the paper's pretraining does: phase 2 starts at the next epoch and keeps its own number
    of epochs (the trainer's last epoch moves forward by the pretraining epochs not run).

    Parameters
    ----------
    patience
        Epochs without improvement of the summed per-modality pretraining loss.
    phase_two
        The phase-2 callback, whose first watched epoch moves with the switch.
    """

    def __init__(self, patience: int, phase_two: BestWeightsEarlyStopping):
        super().__init__("validation_pretrain_loss")
        self.patience = patience
        self.phase_two = phase_two
        self.stopped_epoch: int | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule):
        """Track the pretraining loss; on running out of patience, start phase 2 next."""
        if trainer.sanity_checking or pl_module.phase != 1:
            return
        if self._improved(trainer) is not False or self.wait < self.patience:
            return
        switch = trainer.current_epoch + 1
        skipped = pl_module.n_epochs_pretrain - switch
        if skipped <= 0:
            return
        logger.info(
            "Pretraining stopped early at epoch %d: %s has not improved for %d epochs.",
            trainer.current_epoch,
            self.monitor,
            self.wait,
        )
        self.stopped_epoch = trainer.current_epoch
        pl_module.n_epochs_pretrain = switch
        self.phase_two.start_epoch = switch
        trainer.fit_loop.max_epochs -= skipped
