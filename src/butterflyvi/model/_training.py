"""Training a :class:`~butterflyvi.ButterflyModel`: the data split, the plan, the callbacks."""

from __future__ import annotations

import logging
import warnings
from functools import partial
from typing import TYPE_CHECKING, Any

from scvi.dataloaders import DataSplitter
from scvi.model._utils import use_distributed_sampler
from scvi.train import TrainRunner

from .._constants import BATCH_KEY, COUNTS_KEYS, EXTRA_KEYS, MODALITY_KEYS
from .._validation import check_batch_size, check_epochs, invalid
from ..train import (
    VALIDATION_MONITOR,
    BestWeightsEarlyStopping,
    PretrainEarlyStopping,
    interrupts_as_keyboard_interrupt,
)
from ..train._device_data import DeviceDataSplitter, estimate_bytes
from ..train._sparse_data import SparseInputDataSplitter

if TYPE_CHECKING:
    from ._model import ButterflyModel

logger = logging.getLogger(__name__)


def loaded_keys(model: ButterflyModel) -> list[str]:
    """Registry keys a minibatch must hold: both modalities, the counts a likelihood fits,
    extra inputs and the batches the networks condition on.
    """
    keys = list(MODALITY_KEYS)
    if model.module.n_batch:
        keys.append(BATCH_KEY)
    for m in range(2):
        if model.module.uses_counts(m):
            keys.append(COUNTS_KEYS[m])
        if model.module.has_extra(m):
            keys.append(EXTRA_KEYS[m])
    return keys


def make_splitter(
    model: ButterflyModel, *, batch_size: int, on_device: bool = False, **kwargs
) -> DataSplitter:
    """The scvi-tools ``DataSplitter`` (or :class:`DeviceDataSplitter` with ``on_device``),
    dropping a last minibatch of one training cell.
    """
    kwargs = {"batch_size": batch_size, "data_and_attributes": loaded_keys(model), **kwargs}
    sparse_keys = [MODALITY_KEYS[m] for m in range(2) if model.module.takes_sparse(m)]
    kind = DeviceDataSplitter if on_device else DataSplitter
    if on_device:
        kwargs.pop("distributed_sampler", None)
        kwargs["sparse_keys"] = sparse_keys
    elif sparse_keys:
        kind = partial(SparseInputDataSplitter, sparse_keys=sparse_keys)
    splitter = kind(model.adata_manager, **kwargs)
    if splitter.n_train < 2:
        raise invalid(
            "mdata",
            "at least 2 training cells",
            f"{splitter.n_train} (of {model.adata.n_obs} cells with "
            f"train_size={kwargs.get('train_size')})",
        )
    if splitter.n_train % batch_size == 1 and "drop_last" not in kwargs:
        # A last minibatch of one cell breaks BatchNorm: drop it (a different cell each
        # epoch, since minibatches are shuffled).
        splitter = kind(model.adata_manager, drop_last=True, **kwargs)
    return splitter


def resolve_data_on_device(
    model: ButterflyModel, data_on_device: bool | str, accelerator: str, devices: Any, strategy
) -> bool:
    """Whether to keep the training data on the device (see ``ButterflyModel.train``)."""
    import torch

    if data_on_device not in (True, False, "auto"):
        raise invalid("data_on_device", "True, False or 'auto'", repr(data_on_device))
    single = devices in ("auto", 1) or (isinstance(devices, list | tuple) and len(devices) == 1)
    backed = (
        any(getattr(model.adata.mod[m], "isbacked", False) for m in model.modalities_)
        if hasattr(model.adata, "mod")
        else False
    )
    if data_on_device is True:
        if backed or strategy is not None or not single:
            raise invalid(
                "data_on_device",
                "False with data backed on disk or several devices",
                "True",
                "The device-resident path serves one device from memory.",
            )
        return True
    if data_on_device is False or backed or strategy is not None or not single:
        return False
    if accelerator not in ("auto", "gpu", "cuda") or not torch.cuda.is_available():
        return False  # on a CPU the rows are already where the model is
    free, _ = torch.cuda.mem_get_info()
    return estimate_bytes(model.adata_manager, loaded_keys(model)) < 0.5 * free


def fit(
    model: ButterflyModel,
    *,
    max_epochs_pretrain: int,
    max_epochs: int,
    batch_size: int,
    early_stopping: bool,
    early_stopping_patience: int | None,
    split: dict[str, Any],
    pretrain_patience: int | None = None,
    accelerator: str,
    devices: Any,
    data_on_device: bool | str = "auto",
    plan_kwargs: dict[str, Any],
    datasplitter_kwargs: dict[str, Any],
    trainer_kwargs: dict[str, Any],
):
    """Run both phases; the best phase-2 weights end up in ``model.module``.

    Returns what scvi-tools' ``TrainRunner`` returns.
    """
    if model.adata is None:
        raise invalid(
            "model",
            "a model with training data",
            "one loaded without data",
            "Load it with ButterflyModel.load(path, adata=mdata) to train it further.",
        )
    max_epochs_pretrain, max_epochs = check_epochs(max_epochs_pretrain, max_epochs)
    check_batch_size(batch_size, minimum=2)
    on_device = resolve_data_on_device(
        model, data_on_device, accelerator, devices, trainer_kwargs.get("strategy")
    )
    splitter = make_splitter(
        model,
        batch_size=batch_size,
        on_device=on_device,
        **split,
        # Under DDP each process reads its own share of the minibatches (scvi-tools'
        # BatchDistributedSampler); without it Lightning wraps the batch sampler itself and
        # the minibatches come out malformed.
        distributed_sampler=use_distributed_sampler(trainer_kwargs.get("strategy")),
        **datasplitter_kwargs,
    )
    plan = model._training_plan_cls(
        model.module, n_epochs_pretrain=max_epochs_pretrain, **plan_kwargs
    )
    callbacks = list(trainer_kwargs.pop("callbacks", []))
    best_weights = BestWeightsEarlyStopping(
        VALIDATION_MONITOR,
        start_epoch=max_epochs_pretrain,
        patience=early_stopping_patience if early_stopping else None,
    )
    if splitter.n_val > 0:
        callbacks.append(best_weights)
        if early_stopping and pretrain_patience is not None:
            callbacks.append(PretrainEarlyStopping(pretrain_patience, best_weights))
        trainer_kwargs.setdefault("check_val_every_n_epoch", 1)
    elif early_stopping:
        logger.warning("No validation cells: early stopping and best-weight restoring are off.")
    runner = TrainRunner(
        model,
        training_plan=plan,
        data_splitter=splitter,
        max_epochs=max_epochs_pretrain + max_epochs,
        accelerator=accelerator,
        devices=devices,
        callbacks=callbacks,
        early_stopping=False,
        **trainer_kwargs,
    )
    try:
        with interrupts_as_keyboard_interrupt(plan), warnings.catch_warnings():
            # sparse minibatches (SparseInputDataSplitter): torch warns that CSR tensors are
            # "beta" and that their (valid, scipy-built) structure is not checked
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly")
            return runner()
    finally:
        model.best_epoch_ = best_weights.best_epoch
        model.module.eval()
