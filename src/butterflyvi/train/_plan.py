"""``ButterflyTrainingPlan``: the two-phase scButterfly schedule with manual optimisation."""

from __future__ import annotations

from contextlib import contextmanager

import lightning.pytorch as pl
import torch

from ..module import ButterflyModule
from ..module._module import MODALITY_KEYS

#: Name of the validation metric early stopping watches in phase 2.
VALIDATION_MONITOR = "validation_translation_loss"


class NonFiniteLossError(FloatingPointError):
    """Raised when a training loss becomes NaN or infinite."""


@contextmanager
def _frozen(parameters):
    """Temporarily exclude ``parameters`` from autograd (no gradients are computed for them)."""
    parameters = list(parameters)
    for p in parameters:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in parameters:
            p.requires_grad_(True)


class ButterflyTrainingPlan(pl.LightningModule):
    """Two-phase training of a :class:`~butterflyvi.module.ButterflyModule`.

    Epochs ``[0, n_epochs_pretrain)`` are phase 1: each modality's autoencoder with its own
    VAE head, ``L_rec + w_m · KL`` with the KL weight warmed up linearly from 0 over
    ``kl_warmup_epochs``; Adam. The following epochs are phase 2, per minibatch:

    1. discriminator step (SGD, ``lr_discriminator``) on ``L_Dis`` of detached embeddings;
    2. generator step (a fresh Adam, ``lr``) on the full loss minus ``w_dis · L_Dis``, with
       ``L_Dis`` recomputed by the updated discriminators; the adversarial term is applied
       only while ``L_Dis < adversarial_gate`` (set it to ``None`` to always apply it).

    The KL weight warms up again over the first ``kl_warmup_epochs`` of phase 2, as in the
    original implementation. The plan holds no state that must survive a save.

    Parameters
    ----------
    module
        The module to train.
    n_epochs_pretrain
        Number of phase-1 epochs.
    lr
        Adam learning rate of both phases (1e-3).
    lr_discriminator
        SGD learning rate of the discriminators (5e-3).
    kl_warmup_epochs
        Epochs of linear KL warm-up at the start of each phase (50).
    adversarial_gate
        Apply the adversarial term only while ``L_Dis`` is below this (1.35, just under the
        chance level 2 ln 2); ``None`` applies it always.
    weight_decay
        Adam weight decay (0).
    """

    def __init__(
        self,
        module: ButterflyModule,
        *,
        n_epochs_pretrain: int,
        lr: float = 1e-3,
        lr_discriminator: float = 5e-3,
        kl_warmup_epochs: int = 50,
        adversarial_gate: float | None = 1.35,
        weight_decay: float = 0.0,
    ):
        super().__init__()
        self.module = module
        self.n_epochs_pretrain = int(n_epochs_pretrain)
        self.lr = lr
        self.lr_discriminator = lr_discriminator
        self.kl_warmup_epochs = kl_warmup_epochs
        self.adversarial_gate = adversarial_gate
        self.weight_decay = weight_decay
        self.automatic_optimization = False

    # ------------------------------------------------------------------ schedule
    @property
    def phase(self) -> int:
        """1 during pretraining, 2 during integrative training."""
        return 1 if self.current_epoch < self.n_epochs_pretrain else 2

    def kl_scale(self) -> float:
        """Linear warm-up factor of the KL weight within the current phase."""
        if self.kl_warmup_epochs <= 0:
            return 1.0
        start = 0 if self.phase == 1 else self.n_epochs_pretrain
        return min(1.0, (self.current_epoch - start) / self.kl_warmup_epochs)

    def configure_optimizers(self):
        """Adam for phase 1, a fresh Adam for the phase-2 generator, SGD for discriminators."""
        pretrain = torch.optim.Adam(
            self.module.pretrain_parameters(), lr=self.lr, weight_decay=self.weight_decay
        )
        generator = torch.optim.Adam(
            self.module.generator_parameters(), lr=self.lr, weight_decay=self.weight_decay
        )
        discriminator = torch.optim.SGD(
            self.module.discriminator_parameters(), lr=self.lr_discriminator
        )
        return [pretrain, generator, discriminator]

    # ------------------------------------------------------------------ steps
    def _check_finite(self, loss: torch.Tensor, what: str) -> None:
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"The {what} became {loss.item()} in phase {self.phase} at epoch "
                f"{self.current_epoch}. Training stopped; the model keeps the weights of the "
                "best validation epoch seen so far (or the last finite step). Check the input "
                "for extreme values or lower the learning rate."
            )

    def _batch(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {key: batch[key].float() for key in MODALITY_KEYS}

    def training_step(self, batch, batch_idx):
        """One minibatch of the current phase."""
        tensors = self._batch(batch)
        n = tensors[MODALITY_KEYS[0]].shape[0]
        opt_pretrain, opt_generator, opt_discriminator = self.optimizers()
        if self.phase == 1:
            out = self.module.pretrain_loss(tensors, kl_scale=self.kl_scale())
            self._check_finite(out.loss, "pretraining loss")
            opt_pretrain.zero_grad()
            self.manual_backward(out.loss)
            opt_pretrain.step()
            self._log_terms(out, "pretrain", n, on_step=False)
            return

        inference = self.module.inference(**self.module._get_inference_input(tensors))
        generative = self.module.generative(**self.module._get_generative_input(tensors, inference))
        # 1. discriminators first, on detached embeddings.
        d_loss = self.module.discriminator_loss(inference, generative, detach=True)
        self._check_finite(d_loss, "discriminator loss")
        opt_discriminator.zero_grad()
        self.manual_backward(d_loss)
        opt_discriminator.step()

        # 2. generator, against the updated discriminators.
        with _frozen(self.module.discriminator_parameters()):
            adv = self.module.discriminator_loss(inference, generative, detach=False)
            # The gate as a 0/1 factor rather than a Python branch: no host/device sync.
            if self.adversarial_gate is None:
                applied = torch.ones((), device=adv.device)
            else:
                applied = (adv.detach() < self.adversarial_gate).float()
            out = self.module.loss(
                tensors,
                inference,
                generative,
                kl_scale=self.kl_scale(),
                adversarial_term=adv * applied,
            )
            self._check_finite(out.loss, "generator loss")
            opt_generator.zero_grad()
            self.manual_backward(out.loss)
            opt_generator.step()

        self._log_terms(out, "train", n, on_step=False)
        log = {"batch_size": n, "on_step": False, "on_epoch": True}
        self.log("train_discriminator_loss", d_loss.detach(), **log)
        self.log("train_adversarial_loss", adv.detach(), **log)
        self.log("train_adversarial_applied", applied, **log)

    def validation_step(self, batch, batch_idx):
        """Deterministic pass (eval mode: no masking, no dropout, latent means)."""
        tensors = self._batch(batch)
        n = tensors[MODALITY_KEYS[0]].shape[0]
        if self.phase == 1:
            out = self.module.pretrain_loss(tensors, kl_scale=1.0)
            self._log_terms(out, "validation_pretrain", n, on_step=False)
            return
        _, _, out = self.module(tensors)
        self._log_terms(out, "validation", n, on_step=False)
        objective = self.module.translation_objective(out)
        self.log(VALIDATION_MONITOR, objective, batch_size=n, on_step=False, on_epoch=True)

    def _log_terms(self, out, prefix: str, n: int, *, on_step: bool) -> None:
        log = {"batch_size": n, "on_step": on_step, "on_epoch": True}
        self.log(f"{prefix}_loss", out.loss.detach(), **log)
        for name, value in {**out.reconstruction_loss, **out.kl_local}.items():
            self.log(f"{prefix}_{name}", value.detach().mean(), **log)
