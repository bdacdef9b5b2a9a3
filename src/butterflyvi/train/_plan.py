"""``ButterflyTrainingPlan``: the two-phase scButterfly schedule with manual optimisation."""

from __future__ import annotations

import functools
from contextlib import contextmanager

import lightning.pytorch as pl
import torch

from .._constants import BATCH_KEY, COUNTS_KEYS, EXTRA_KEYS, MODALITY_KEYS
from .._validation import invalid
from ..module import ButterflyModule
from ._correlation import FeatureCorrelation

#: Name of the validation metric early stopping watches in phase 2.
VALIDATION_MONITOR = "validation_translation_loss"

#: Choices of ``validation_objective`` (see :class:`ButterflyTrainingPlan`).
VALIDATION_OBJECTIVES = ("weighted", "relative", "correlation", "auto")

#: Choices of ``loss_balance`` (see :class:`ButterflyTrainingPlan`).
LOSS_BALANCES = ("paper", "baseline")


def resolve_validation_objective(objective: str, module: ButterflyModule) -> str:
    """``objective``, with ``"auto"`` replaced by ``"correlation"`` when a modality of
    ``module`` is accessibility fitted against its binarised profile, else ``"weighted"``.
    """
    if objective != "auto":
        return objective
    binarised = any(module.fits_binarised(m) for m in range(2))
    return "correlation" if binarised else "weighted"


class NonFiniteLossError(FloatingPointError):
    """Raised when a training loss becomes NaN or infinite."""


def adam_options(parameters) -> dict:
    """``{"fused": True}`` when torch has a fused Adam for the parameters' device, else ``{}``.

    The fused kernel computes the same update as the default implementation (equal up to
    float rounding, deterministic) in one pass per parameter instead of about ten element-wise
    operations: ~3.5x faster optimiser steps on CPU, ~10 % of a SNARE-seq training step
    (``docs/performance.md``).
    """
    parameters = list(parameters)
    try:
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

        supported = set(_get_fused_kernels_supported_devices())
    except ImportError:  # older torch: fused Adam on CUDA only
        supported = {"cuda"}
    if parameters and all(p.device.type in supported and p.is_floating_point() for p in parameters):
        return {"fused": True}
    return {}


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
    ``n_epochs_kl_warmup``; Adam. The following epochs are phase 2, per minibatch:

    1. discriminator step (SGD, ``lr_discriminator``) on ``L_Dis`` of detached embeddings;
    2. generator step (a fresh Adam, ``lr``) on the full loss minus ``w_dis · L_Dis``, with
       ``L_Dis`` recomputed by the updated discriminators; the adversarial term is applied
       only while ``L_Dis < adversarial_gate`` (set it to ``None`` to always apply it).

    The KL weight warms up again over the first ``n_epochs_kl_warmup`` of phase 2, as in the
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
    n_epochs_kl_warmup
        Epochs of linear KL warm-up at the start of each phase (50; scvi-tools' name).
    adversarial_gate
        Apply the adversarial term only while ``L_Dis`` is below this (1.35, just under the
        chance level 2 ln 2); ``None`` applies it always.
    weight_decay
        Adam weight decay (0).
    validation_objective
        What early stopping and best-weight restoring watch in phase 2. ``"weighted"`` (the
        paper): ``Σ_t w_t (L_t(t→t) + L_t(s→t))``, which mixes the scales of BCE and MSE (a
        modality with a larger loss dominates the choice of epoch). ``"relative"``: only the
        two translation losses, each divided by the loss of the trivial prediction (the
        per-feature training mean, computed once on the training cells at the start of
        fitting), so both directions count equally and 1 means "no better than the mean".
        ``"correlation"``: ``1 − mean_t r̄_t`` with ``r̄_t`` the mean over features of
        the Pearson correlation, across the validation cells, between the translation s→t
        and the measured (loss-target) values of t: it rewards what the translation says
        about *which cells differ*, whatever its calibration (a BCE can rise while the
        ranking of cells still improves; then the loss-based objectives restore too early
        an epoch). ``"auto"`` (the default preset): ``"correlation"`` when an accessibility
        decoder fits the binarised profile (the case it was made for), else ``"weighted"``
        (the loss-based choice measured better on perturbation data, level on proteins).
    loss_balance
        How the two modalities' losses are weighted in the phase-2 generator loss.
        ``"paper"``: ``(w_0, w_1)`` of the module (1 and 2 for RNA ↔ ATAC), whatever the
        scales of the losses. ``"baseline"``: ``w_t' = c · w_t / B_t`` with ``B_t`` the
        modality's trivial-prediction loss (as for ``validation_objective="relative"``) and
        ``c = Σ_t w_t B_t / Σ_t w_t``, so each modality counts by its loss *relative to the
        trivial prediction* while the total keeps the paper's scale at that prediction (and
        thus its balance with the KL and adversarial terms). This matters when a loss changes
        scale, e.g. BCE against binarised accessibility is ~8 times the BCE against scaled
        TF-IDF. Phase 1 trains the modalities separately and is unaffected.
    """

    def __init__(
        self,
        module: ButterflyModule,
        *,
        n_epochs_pretrain: int,
        lr: float = 1e-3,
        lr_discriminator: float = 5e-3,
        n_epochs_kl_warmup: int = 50,
        adversarial_gate: float | None = 1.35,
        weight_decay: float = 0.0,
        validation_objective: str = "weighted",
        loss_balance: str = "paper",
    ):
        super().__init__()
        if loss_balance not in LOSS_BALANCES:
            raise invalid("loss_balance", f"one of {list(LOSS_BALANCES)}", repr(loss_balance))
        self.loss_balance = loss_balance
        if validation_objective not in VALIDATION_OBJECTIVES:
            raise invalid(
                "validation_objective",
                f"one of {list(VALIDATION_OBJECTIVES)}",
                repr(validation_objective),
            )
        self.validation_objective = resolve_validation_objective(validation_objective, module)
        self._baseline_losses: list[torch.Tensor] | None = None
        self._generator_weights: list[float] | None = None
        self.module = module
        self.n_epochs_pretrain = int(n_epochs_pretrain)
        self.lr = lr
        self.lr_discriminator = lr_discriminator
        self.n_epochs_kl_warmup = n_epochs_kl_warmup
        self.adversarial_gate = adversarial_gate
        self.weight_decay = weight_decay
        self.automatic_optimization = False
        self._correlations = [FeatureCorrelation(), FeatureCorrelation()]

    # ------------------------------------------------------------------ schedule
    @property
    def phase(self) -> int:
        """1 during pretraining, 2 during integrative training."""
        return 1 if self.current_epoch < self.n_epochs_pretrain else 2

    @property
    def kl_weight(self) -> float:
        """Linear warm-up factor of the KL weight within the current phase (scvi-tools' name)."""
        if self.n_epochs_kl_warmup <= 0:
            return 1.0
        start = 0 if self.phase == 1 else self.n_epochs_pretrain
        return min(1.0, (self.current_epoch - start) / self.n_epochs_kl_warmup)

    def configure_optimizers(self):
        """Adam for phase 1, a fresh Adam for the phase-2 generator, SGD for discriminators."""
        pretrain = torch.optim.Adam(
            self.module.pretrain_parameters(),
            lr=self.lr,
            weight_decay=self.weight_decay,
            **adam_options(self.module.pretrain_parameters()),
        )
        generator = torch.optim.Adam(
            self.module.generator_parameters(),
            lr=self.lr,
            weight_decay=self.weight_decay,
            **adam_options(self.module.generator_parameters()),
        )
        discriminator = torch.optim.SGD(
            self.module.discriminator_parameters(), lr=self.lr_discriminator
        )
        return [pretrain, generator, discriminator]

    # ------------------------------------------------------------------ steps
    #: On an accelerator the losses' finiteness is accumulated on the device and read by the
    #: host only every ``finite_check_interval`` steps and at the end of each epoch (a read
    #: forces a host/device synchronisation). On CPU every step is checked before it changes
    #: any weight (no synchronisation to avoid there).
    finite_check_interval: int = 50
    _nonfinite: torch.Tensor | None = None

    def _check_finite(self, loss: torch.Tensor, what: str) -> None:
        if loss.device.type != "cpu" and self.finite_check_interval > 1:
            bad = ~torch.isfinite(loss.detach())
            self._nonfinite = bad if self._nonfinite is None else self._nonfinite | bad
            return
        if not torch.isfinite(loss):
            name = "pretraining" if self.phase == 1 else "integrative training"
            raise NonFiniteLossError(
                f"The {what} became {loss.item()} in phase {self.phase} ({name}) at epoch "
                f"{self.current_epoch} (counted from 0 over both phases). Training stopped "
                "before this step changed any weight; the model keeps the weights of the best "
                "phase-2 validation epoch if one was recorded, else those of the last step. "
                "Check the input for extreme values or lower the learning rate."
            )

    def _raise_if_nonfinite(self) -> None:
        """Read the flag accumulated on an accelerator (see ``finite_check_interval``)."""
        flag, self._nonfinite = self._nonfinite, None
        if flag is not None and bool(flag):
            raise NonFiniteLossError(
                f"A training loss became NaN or infinite in phase {self.phase}, epoch "
                f"{self.current_epoch}, within the last {self.finite_check_interval} steps "
                f"(on {flag.device.type}, losses are checked every "
                f"{self.finite_check_interval} steps to avoid a host/device synchronisation "
                "per step, so the weights may already hold non-finite values). The model keeps "
                "the weights of the best phase-2 validation epoch if one was recorded. Check "
                "the input for extreme values or lower the learning rate."
            )

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        """Check the accumulated non-finite flag every ``finite_check_interval`` steps."""
        if self._nonfinite is not None and (batch_idx + 1) % self.finite_check_interval == 0:
            self._raise_if_nonfinite()

    def on_train_epoch_start(self) -> None:
        """Start the epoch's sums of the logged values afresh."""
        self._epoch_sums = {}

    def on_train_epoch_end(self) -> None:
        """Log the epoch means of the training values; check the non-finite flag."""
        self._log_epoch_sums()
        self._raise_if_nonfinite()

    def _batch(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        keys = [*MODALITY_KEYS, *(k for k in (*COUNTS_KEYS, *EXTRA_KEYS) if k in batch)]
        tensors = {key: batch[key].float() for key in keys}
        if BATCH_KEY in batch:  # batch codes stay integers
            tensors[BATCH_KEY] = batch[BATCH_KEY].long().reshape(-1)
        return tensors

    def training_step(self, batch, batch_idx):
        """One minibatch of the current phase."""
        tensors = self._batch(batch)
        n = tensors[MODALITY_KEYS[0]].shape[0]
        opt_pretrain, opt_generator, opt_discriminator = self.optimizers()
        if self.phase == 1:
            out = self.module.pretrain_loss(tensors, kl_weight=self.kl_weight)
            self._check_finite(out.loss, "pretraining loss")
            opt_pretrain.zero_grad()
            self.manual_backward(out.loss)
            opt_pretrain.step()
            self._log_terms(out, "pretrain", n, on_step=False)
            return

        inference = self.module.inference(**self.module._get_inference_input(tensors))
        generative = self.module.generative(**self.module._get_generative_input(tensors, inference))
        if self.module.alignment == "kl":  # CrossMP: no discriminators, one optimiser step
            out = self.module.loss(
                tensors,
                inference,
                generative,
                kl_weight=self.kl_weight,
                weights=self.generator_weights(),
            )
            self._check_finite(out.loss, "loss")
            opt_generator.zero_grad()
            self.manual_backward(out.loss)
            opt_generator.step()
            self._log_terms(out, "train", n, on_step=False)
            return
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
                kl_weight=self.kl_weight,
                adversarial_term=adv * applied,
                weights=self.generator_weights(),
            )
            self._check_finite(out.loss, "generator loss")
            opt_generator.zero_grad()
            self.manual_backward(out.loss)
            opt_generator.step()

        self._log_terms(out, "train", n, on_step=False)
        self._log_values(
            {
                "train_discriminator_loss": d_loss,
                "train_adversarial_loss": adv,
                "train_adversarial_applied": applied,
            },
            n,
            on_step=False,
        )

    def validation_step(self, batch, batch_idx):
        """Deterministic pass (eval mode: no masking, no dropout, latent means)."""
        tensors = self._batch(batch)
        n = tensors[MODALITY_KEYS[0]].shape[0]
        if self.phase == 1:
            out = self.module.pretrain_loss(tensors, kl_weight=1.0)
            self._log_terms(out, "validation_pretrain", n, on_step=False)
            return
        _, generative, out = self.module(tensors)
        self._log_terms(out, "validation", n, on_step=False)
        if self.validation_objective == "correlation":
            for t in range(2):
                self._correlations[t].update(
                    self.module.predicted(generative, 1 - t, t), self.module.observed(tensors, t)
                )
            return
        if self.validation_objective == "relative":
            baseline = self.baseline_losses()
            objective = sum(
                out.reconstruction_loss[f"translation_{1 - t}_to_{t}"].mean() / baseline[t]
                for t in range(2)
            )
        else:
            objective = self.module.translation_objective(out)
        # Reduced over processes under DDP, so that every process takes the same early-stopping
        # and best-weights decisions (no-op on one device).
        self.log(
            VALIDATION_MONITOR,
            objective,
            batch_size=n,
            on_step=False,
            on_epoch=True,
            sync_dist=True,
        )

    def on_validation_epoch_end(self) -> None:
        """Log the ``"correlation"`` objective from the epoch's sums (over all processes)."""
        if self.validation_objective != "correlation" or self.phase == 1:
            return

        reduce = functools.partial(self.trainer.strategy.reduce, reduce_op="sum")
        scores = [c.compute(reduce) for c in self._correlations]
        if any(score is None for score in scores):
            return
        objective = 1.0 - (scores[0] + scores[1]) / 2
        self.log(VALIDATION_MONITOR, objective.float(), on_step=False, on_epoch=True)

    # ------------------------------------------------------------------ scale of the losses
    def on_fit_start(self) -> None:
        """Compute the trivial-prediction losses when an option needs them."""
        if self.validation_objective == "relative" or self.loss_balance == "baseline":
            self.baseline_losses()

    def generator_weights(self) -> list[float] | None:
        """Weights of the modalities in the phase-2 generator loss (``None``: the module's)."""
        if self.loss_balance == "paper":
            return None
        if self._generator_weights is None:
            w = [float(v) for v in self.module.reconstruction_weights]
            b = [float(v) for v in self.baseline_losses()]
            c = sum(wi * bi for wi, bi in zip(w, b, strict=True)) / sum(w)
            self._generator_weights = [c * wi / bi for wi, bi in zip(w, b, strict=True)]
        return self._generator_weights

    def baseline_losses(self) -> list[torch.Tensor]:
        """Per modality, the loss of predicting the training mean (computed once, cached).

        One pass over the training dataloader (its random state is restored afterwards, so
        the minibatches of training are unchanged).
        """
        if self._baseline_losses is None:
            loader = self._train_loader()
            sums = [0.0, 0.0]
            squares = [0.0, 0.0]
            count = 0
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                for batch in loader:
                    tensors = self._batch(batch)
                    for m in range(2):
                        target = self.module.loss_target(tensors, m).double()
                        sums[m] = sums[m] + target.sum(0)
                        squares[m] = squares[m] + target.pow(2).sum(0)
                    count += tensors[MODALITY_KEYS[0]].shape[0]
            self._baseline_losses = [
                self.module.baseline_loss(sums[m] / count, squares[m] / count, m)
                .float()
                .clamp_min(1e-8)
                .to(self.device)
                for m in range(2)
            ]
        return self._baseline_losses

    def _train_loader(self):
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None:
            return datamodule.train_dataloader()
        return self.trainer.train_dataloader

    def _log_terms(self, out, prefix: str, n: int, *, on_step: bool) -> None:
        values = {f"{prefix}_loss": out.loss}
        for name, value in {**out.reconstruction_loss, **out.kl_local}.items():
            values[f"{prefix}_{name}"] = value.mean()
        self._log_values(values, n, on_step=on_step)

    #: Per-epoch sums of the training values (see :meth:`_log_values`).
    _epoch_sums: dict | None = None

    def _log_values(self, values: dict[str, torch.Tensor], n: int, *, on_step: bool) -> None:
        """Log minibatch values; their epoch means are weighted by the minibatch sizes.

        In training (``on_step=False``) the values are summed on the device and logged once,
        at the end of the epoch (the same means under the same names): Lightning's
        ``self.log`` costs 1–2 ms of CPU per call (it moves its result store to the device
        every time), which was 25–30 % of a SNARE-seq training step with 5–10 values per step
        (``docs/performance.md``).
        """
        if on_step or not self.training:
            log = {"batch_size": n, "on_step": on_step, "on_epoch": True}
            for name, value in values.items():
                self.log(name, value.detach(), **log)
            return
        if self._epoch_sums is None:
            self._epoch_sums = {}
        names = tuple(values)
        batch = torch.stack([v.detach().float() for v in values.values()]) * n
        total, count = self._epoch_sums.get(names, (0.0, 0))
        self._epoch_sums[names] = (batch + total, count + n)

    def _log_epoch_sums(self) -> None:
        sums, self._epoch_sums = self._epoch_sums or {}, {}
        for names, (total, count) in sums.items():
            for name, value in zip(names, total / count, strict=True):
                self.log(name, value, on_step=False, on_epoch=True, batch_size=count)
