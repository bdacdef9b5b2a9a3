"""``train``: both phases in one call, keyword arguments only."""

from __future__ import annotations

from typing import Literal

import numpy as np

from ._presets import preset_kwargs
from ._training import fit


class TrainingMixin:
    """``train`` for :class:`~butterflyvi.ButterflyModel` (its schedule comes from the preset)."""

    def train(
        self,
        *,
        max_epochs_pretrain: int | None = None,
        max_epochs: int | None = None,
        batch_size: int | None = None,
        early_stopping: bool = True,
        early_stopping_patience: int | None = None,
        pretrain_patience: int | None = None,
        train_size: float | None = None,
        validation_size: float | None = None,
        shuffle_set_split: bool = True,
        external_indexing: list[np.ndarray] | None = None,
        accelerator: str = "auto",
        devices: int | list[int] | str = "auto",
        data_on_device: bool | Literal["auto"] = "auto",
        plan_kwargs: dict | None = None,
        datasplitter_kwargs: dict | None = None,
        calibrate: bool = True,
        **trainer_kwargs,
    ):
        """Train both phases in one call (keyword arguments only).

        Parameters
        ----------
        max_epochs_pretrain
            Epochs of phase 1 (per-modality pretraining; the preset's, 100 in the paper).
        max_epochs
            Epochs of phase 2 (integrative adversarial training; 200 in the paper).
        batch_size
            Minibatch size (the preset's, 64 in the paper).
        early_stopping
            Stop phase 2 when the validation objective has not improved for
            ``early_stopping_patience`` epochs; the best epoch's weights are restored at the
            end either way (when a validation set exists).
        early_stopping_patience
            Patience in epochs (the preset's, 50 in the paper).
        pretrain_patience
            End phase 1 early when the validation pretraining loss has not improved for this
            many epochs, as the paper's pretraining does (``preset="paper"``: 50; the other
            presets run every pretraining epoch). With ``early_stopping=False``, off.
        train_size, validation_size, shuffle_set_split, external_indexing
            Cell split, as in scvi-tools (``external_indexing``: arrays of train, validation
            and test positions). Default: the preset's — 0.9 / the rest, and CrossMP's
            0.7 / 0.15 (the last 15 % held out) for ``preset="crossmp"``; a ``train_size``
            given alone leaves the rest to validation, as in scvi-tools.
        accelerator, devices
            Lightning device selection (``"auto"``: a GPU when there is one). Pass
            ``strategy="ddp_find_unused_parameters_true"`` for several devices.
        data_on_device
            Copy the training and validation rows to the training device once and slice
            every minibatch there (dense, or CSR for matrices over 2 GB dense), instead of
            reading each minibatch on the host and copying it. ``"auto"``: on one GPU when
            the data take less than half its free memory (never on a CPU, where the rows
            already sit with the model, nor for backed data or several devices).
            Mixed precision is Lightning's ``precision="bf16-mixed"`` (a trainer keyword).
        plan_kwargs
            Keyword arguments of :class:`~butterflyvi.train.ButterflyTrainingPlan` (``lr``,
            ``lr_discriminator``, ``n_epochs_kl_warmup``, ``adversarial_gate``, …).
        datasplitter_kwargs
            Extra keyword arguments of the scvi-tools ``DataSplitter``.
        calibrate
            Afterwards, keep reference cells (:meth:`build_reference`, from the training
            cells) and calibrate on the validation cells (:meth:`calibrate`, with at least 20
            of them), so that translations carry a confidence and can carry intervals.
        **trainer_kwargs
            Passed to the Lightning trainer.
        """
        schedule = preset_kwargs(self.preset_, "train")
        sizes = {
            "train_size": schedule.pop("train_size", 0.9),
            "validation_size": schedule.pop("validation_size", None),
        }
        if train_size is not None:  # the caller's split: validation the rest unless given
            sizes = {"train_size": train_size, "validation_size": validation_size}
        elif validation_size is not None:
            sizes["validation_size"] = validation_size
        train_size, validation_size = sizes["train_size"], sizes["validation_size"]
        given = {
            "max_epochs_pretrain": max_epochs_pretrain,
            "max_epochs": max_epochs,
            "batch_size": batch_size,
            "early_stopping_patience": early_stopping_patience,
            "pretrain_patience": pretrain_patience,
        }
        schedule.update({k: v for k, v in given.items() if v is not None})
        result = fit(
            self,
            **schedule,
            early_stopping=early_stopping,
            split={
                "train_size": train_size,
                "validation_size": validation_size,
                "shuffle_set_split": shuffle_set_split,
                "external_indexing": external_indexing,
            },
            accelerator=accelerator,
            devices=devices,
            data_on_device=data_on_device,
            plan_kwargs={**preset_kwargs(self.preset_, "plan"), **(plan_kwargs or {})},
            datasplitter_kwargs=dict(datasplitter_kwargs or {}),
            trainer_kwargs=trainer_kwargs,
        )
        if calibrate:
            self.build_reference()
            validation = getattr(self, "validation_indices", None)
            if validation is not None and len(validation) >= 20:
                self.calibrate()
        return result
