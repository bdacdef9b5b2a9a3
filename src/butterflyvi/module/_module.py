"""``ButterflyModule``: the scButterfly networks and losses as a scvi-tools module (pure torch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from scvi.module.base import BaseModuleClass, LossOutput, auto_move_data
from torch import nn

from .._constants import BATCH_KEY, COUNTS_KEYS, EXTRA_KEYS, MODALITY_KEYS
from ._layers import ChromosomeEncoderLayer, input_dropout
from ._likelihoods import Likelihood
from ._networks import (
    Decoder,
    DecoderBuilder,
    Discriminator,
    EncoderBuilder,
    JointTranslator,
    NetworkSpec,
    SingleModalityHead,
)
from ._sparse import dense, dense_columns

#: How the two modalities' latent posteriors are brought together in phase 2.
ALIGNMENTS = ("adversarial", "kl")


#: Outputs over which a cell's own reconstruction error is averaged (:meth:`cell_summary`).
SUMMARY_FEATURES = 10_000


def symmetric_kl(
    mean_0: torch.Tensor, log_var_0: torch.Tensor, mean_1: torch.Tensor, log_var_1: torch.Tensor
) -> torch.Tensor:
    """½ (KL(q₀ ‖ q₁) + KL(q₁ ‖ q₀)) of two diagonal Gaussians, averaged over elements."""
    var_0, var_1 = log_var_0.exp(), log_var_1.exp()
    squared = (mean_0 - mean_1).pow(2)
    forward = 0.5 * (log_var_1 - log_var_0 + (var_0 + squared) / var_1 - 1.0)
    backward = 0.5 * (log_var_0 - log_var_1 + (var_1 + squared) / var_0 - 1.0)
    return 0.5 * (forward + backward).mean()


def kl_to_standard_normal(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) ‖ N(0, I)), averaged over all elements."""
    return -0.5 * torch.mean(1.0 + log_var - mean.pow(2) - log_var.exp())


class ButterflyModule(BaseModuleClass):
    """Dual-aligned VAEs with a shared translator and two discriminators.

    Pure torch: the module knows no modality kinds. The model resolves each modality's kind
    into the parts passed here (:func:`butterflyvi.model.build_module`).

    Parameters
    ----------
    n_features
        Number of features of modality 0 and modality 1.
    encoders
        For each modality, ``build(n_features, layout, spec) -> nn.Module``: input → encoder
        space (``spec.n_embedding`` wide), e.g. :func:`~butterflyvi.module.mlp_encoder`.
    decoders
        For each modality, ``build(n_features, layout, spec) -> (hidden, output)``: encoder
        space → hidden → pre-activation output.
    likelihoods
        For each modality, its :class:`~butterflyvi.module.Likelihood` (built for its width).
    mask_rates
        Input masking rate of each modality during training (inverted dropout); scButterfly:
        expression 0.5, accessibility 0.3, protein 0.
    kl_weights
        Phase-1 KL weight of each modality (scButterfly: ``20 / I_m``, protein 1/150); phase 2
        uses their sum.
    layouts
        For each modality, what its builders need from the feature table (the per-chromosome
        peak positions for accessibility; ``None`` otherwise).
    reconstruction_weights
        ``(w_0, w_1)`` weights of the losses of outputs in modality 0 and 1 (the paper: 1 and
        2, or 1 and 1 when both modalities have the same kind).
    n_embedding
        Width of the encoder space (128 in the paper).
    n_hidden
        Hidden width of expression encoders/decoders (256).
    n_latent
        Width of the translator's latent space (128).
    chromosome_units
        Hidden units per chromosome of accessibility encoders/decoders (32).
    dropout
        Dropout after hidden layers (0.1).
    adversarial_weight
        ``w_dis`` of the adversarial term (1).
    discriminator_hidden
        Hidden widths of the discriminators (none: Linear → Sigmoid, as in the paper).
    variational_head
        Form of the mean and log-variance heads of the latent posteriors (phase-1 heads and
        translator): ``"paper"`` (Linear → BatchNorm → LeakyReLU, which keeps the posterior
        standard deviation near 1 or above) or ``"linear"`` (plain Linear layers, the usual
        VAE). See :class:`~butterflyvi.module._networks.VariationalHead`.
    output_batch_norm
        Keep the BatchNorm right before each decoder's output activation (the paper). With
        ``False`` the output is the last linear map, whose bias :meth:`initialize_outputs` sets
        to the inverse activation of the training mean.
    activation, chromosome_activation, chromosome_hidden
        See :class:`~butterflyvi.module.NetworkSpec`.
    alignment
        ``"adversarial"`` (scButterfly's discriminators) or ``"kl"`` (CrossMP: a symmetric KL
        between the two latent posteriors).
    alignment_weight
        Weight of the KL alignment (default ``20 / I_x + 20 / I_y``).
    extras
        For each modality, ``None`` or ``(n_features, build_encoder, layout)`` of an extra
        input whose encoding is added to the modality's (CrossMP's gene activity).
    n_batch
        Batches the networks condition on (0: none). Each batch has a learned vector per
        modality added to the encoder's output and one added to the decoder's input (both
        start at 0); batch ``-1`` means none in particular (the mean of the batch vectors).
    output_fraction
        ``None`` (the paper): every output feature is decoded and scored at every training
        step. A fraction in (0, 1]: a chromosome-blocked decoder (accessibility) decodes and
        scores a new uniform sample of that fraction of its features at each training step,
        so its cost falls with the fraction while the expected loss stays the same
        (validation and translation always decode every feature).
    """

    def __init__(
        self,
        n_features: Sequence[int],
        *,
        encoders: Sequence[EncoderBuilder],
        decoders: Sequence[DecoderBuilder],
        likelihoods: Sequence[Likelihood],
        mask_rates: Sequence[float],
        kl_weights: Sequence[float],
        layouts: Sequence[object | None] = (None, None),
        reconstruction_weights: Sequence[float] = (1.0, 2.0),
        n_embedding: int = 128,
        n_hidden: int = 256,
        n_latent: int = 128,
        chromosome_units: int = 32,
        dropout: float = 0.1,
        adversarial_weight: float = 1.0,
        discriminator_hidden: Sequence[int] = (),
        variational_head: str = "paper",
        output_batch_norm: bool = True,
        activation: str = "leaky_relu",
        chromosome_activation: str = "leaky_relu",
        chromosome_hidden: int | None = None,
        alignment: Literal["adversarial", "kl"] = "adversarial",
        alignment_weight: float | None = None,
        extras: Sequence[tuple[int, EncoderBuilder, object] | None] = (None, None),
        n_batch: int = 0,
        output_fraction: float | None = None,
    ):
        super().__init__()
        if output_fraction is not None and not 0.0 < float(output_fraction) <= 1.0:
            raise ValueError(
                "output_fraction: expected None or a fraction in (0, 1], "
                f"found {output_fraction!r}."
            )
        self.output_fraction = None if output_fraction is None else float(output_fraction)
        if alignment not in ALIGNMENTS:
            raise ValueError(f"alignment: expected one of {list(ALIGNMENTS)}, found {alignment!r}.")
        parts = (encoders, decoders, likelihoods, mask_rates, kl_weights, layouts)
        if len(n_features) != 2 or any(len(p) != 2 for p in parts):
            raise ValueError(
                "n_features, encoders, decoders, likelihoods, mask_rates, kl_weights, layouts: "
                f"expected two of each (two modalities), found {[len(p) for p in (n_features, *parts)]}."
            )
        self.alignment = alignment
        self.n_features = tuple(int(n) for n in n_features)
        # Losses here are means over entries: the KL between the bottlenecks is weighted like
        # the paper's ELBO term, 20 / I_x + 20 / I_y, unless given (weight 1 collapses both
        # bottlenecks to a constant: measured on SNARE-seq, docs/method.md).
        self.alignment_weight = float(
            alignment_weight
            if alignment_weight is not None
            else sum(20.0 / n for n in self.n_features)
        )
        self.likelihoods = nn.ModuleList(likelihoods)
        self.mask_rates = tuple(float(r) for r in mask_rates)
        self.kl_weights = tuple(float(w) for w in kl_weights)
        self.reconstruction_weights = tuple(float(w) for w in reconstruction_weights)
        self.adversarial_weight = float(adversarial_weight)

        network = NetworkSpec(
            n_embedding=n_embedding,
            n_hidden=n_hidden,
            dropout=dropout,
            chromosome_units=chromosome_units,
            output_batch_norm=output_batch_norm,
            activation=activation,
            chromosome_activation=chromosome_activation,
            chromosome_hidden=chromosome_hidden,
        )
        # Extra inputs (e.g. gene activity beside ATAC) get their own encoder, added to the
        # modality's encoding (CrossMP's element-wise merge at the bottleneck).
        self.extras = tuple(None if e is None else int(e[0]) for e in extras)
        self.extra_encoders = nn.ModuleDict(
            {
                str(m): build(n, layout, network)
                for m, extra in enumerate(extras)
                if extra is not None
                for n, build, layout in [extra]
            }
        )
        self.encoders = nn.ModuleList(
            [
                build(n, layout, network)
                for build, n, layout in zip(encoders, self.n_features, layouts, strict=True)
            ]
        )
        self.decoders = nn.ModuleList(
            [
                Decoder(
                    *build(n * likelihood.outputs_per_feature, layout, network),
                    output_batch_norm=output_batch_norm,
                )
                for build, n, layout, likelihood in zip(
                    decoders, self.n_features, layouts, likelihoods, strict=True
                )
            ]
        )
        # What each modality's networks allow, fixed at construction (read every minibatch):
        # a CSR input (chromosome-blocked encoder); a sample of the outputs (chromosome-blocked
        # decoder, no per-feature likelihood parameters).
        self.sparse_inputs = tuple(
            isinstance(next(iter(encoder.children()), None), ChromosomeEncoderLayer)
            for encoder in self.encoders
        )
        self.sampled_outputs = tuple(
            decoder.samples_features and not any(True for _ in likelihood.parameters())
            for decoder, likelihood in zip(self.decoders, self.likelihoods, strict=True)
        )
        self.variational_head = variational_head
        self.output_batch_norm = bool(output_batch_norm)
        self.pretrain_heads = nn.ModuleList(
            [SingleModalityHead(n_embedding, n_latent, variational_head) for _ in range(2)]
        )
        self.translator = JointTranslator(n_embedding, n_latent, variational_head=variational_head)
        self.discriminators = nn.ModuleList(
            [Discriminator(n_embedding, discriminator_hidden) for _ in range(2)]
        )
        self.n_batch = int(n_batch)
        # Registered only with batches, so that modules without them keep their saved layout.
        self.batch_in = self.batch_out = None
        if self.n_batch:
            self.batch_in = nn.Parameter(torch.zeros(2, self.n_batch, n_embedding))
            self.batch_out = nn.Parameter(torch.zeros(2, self.n_batch, n_embedding))

    # ------------------------------------------------------------------ batches
    def batch_shift(
        self, table: torch.Tensor, modality: int, batch: torch.Tensor | None
    ) -> torch.Tensor | float:
        """The batch vectors of ``batch`` (cell-wise indices, ``-1``: the mean vector) from
        ``table`` (``batch_in`` or ``batch_out``), or 0 without batches.
        """
        if batch is None or self.n_batch == 0:
            return 0.0
        rows = table[modality]
        index = batch.reshape(-1).long()
        shift = rows[index.clamp_min(0)]
        unknown = index < 0
        if bool(unknown.any()):
            shift = torch.where(unknown[:, None], rows.mean(0, keepdim=True), shift)
        return shift

    @torch.no_grad()
    def add_batches(self, n_new: int) -> None:
        """Grow the batch tables by ``n_new`` batches, started at the mean vector."""
        if self.n_batch == 0:
            raise ValueError("n_batch: expected a module built with batches, found none.")
        for name in ("batch_in", "batch_out"):
            table = getattr(self, name)
            mean = table.mean(1, keepdim=True).expand(-1, n_new, -1)
            setattr(self, name, nn.Parameter(torch.cat([table.data, mean], dim=1)))
        self.n_batch += int(n_new)

    @torch.no_grad()
    def initialize_outputs(self, means: Sequence[np.ndarray], stds: Sequence[np.ndarray]) -> None:
        """Start every decoder at the training data's per-feature mean.

        The paper's decoders end in BatchNorm → activation, so at initialisation every output
        sits at ``activation(N(0, 1))`` — around 0.5 for a Sigmoid, far from peaks open in a
        few percent of cells — and the BatchNorm shift must travel there at the learning rate.
        Here the shift is set to what the likelihood maps to each feature's mean (the logit
        for a BCE, the log-share for a count likelihood) and, for a squared error, the scale
        to the feature's standard deviation, so training starts from the trivial mean
        prediction. Without the output BatchNorm (``output_batch_norm=False``) the output
        layer's bias is set instead.

        ``means`` and ``stds`` are per-feature moments of each likelihood's target (e.g. the
        open fraction for ``"bernoulli"``, the mean count for ``"nb"``).
        """
        for m, (mean, std) in enumerate(zip(means, stds, strict=True)):
            mean = torch.as_tensor(np.asarray(mean, dtype=np.float32))
            std = torch.as_tensor(np.asarray(std, dtype=np.float32))
            shift, scale = self.likelihoods[m].output_offset(mean, std)
            self.decoders[m].set_output_offset(shift, scale)

    # ------------------------------------------------------------------ parameter groups
    def pretrain_parameters(self) -> list[nn.Parameter]:
        """Parameters trained in phase 1: encoders (extra inputs' included), single-modality
        heads, decoders, likelihoods, batch vectors.
        """
        return self._trained_with(self.pretrain_heads)

    def generator_parameters(self) -> list[nn.Parameter]:
        """Parameters trained by the phase-2 generator step: encoders (extra inputs'
        included), translator, decoders, likelihoods, batch vectors.
        """
        return self._trained_with(self.translator)

    def _trained_with(self, middle: nn.Module) -> list[nn.Parameter]:
        """Encoders, ``middle``, decoders, likelihoods and batch vectors: what both phases'
        generator steps train.
        """
        modules = [self.encoders, self.extra_encoders, middle, self.decoders, self.likelihoods]
        return [p for m in modules for p in m.parameters()] + self.batch_parameters()

    def batch_parameters(self) -> list[nn.Parameter]:
        """The batch vectors (none without batches)."""
        return [] if self.n_batch == 0 else [self.batch_in, self.batch_out]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """Parameters of the two discriminators."""
        return list(self.discriminators.parameters())

    # ------------------------------------------------------------------ pieces
    def encode(
        self,
        x: torch.Tensor,
        modality: int,
        extra: torch.Tensor | None = None,
        batch: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Encoder space of ``x`` (plus the encoding of its extra input, when the modality has
        one, and its batch vector); inputs are masked (inverted dropout) in training only.

        ``x`` may be a CSR tensor (``torch.sparse_csr``): read as it is where the encoder
        :meth:`takes_sparse`, densified otherwise.
        """
        if not self.takes_sparse(modality):
            x = dense(x)
        h = self.encoders[modality](input_dropout(x, self.mask_rates[modality], self.training))
        h = h + self.batch_shift(self.batch_in, modality, batch)
        key = str(modality)
        if key in self.extra_encoders:
            if extra is None:
                raise ValueError(
                    f"extra: expected the extra input of modality {modality} (the model was "
                    "trained with one), found none."
                )
            rate = self.mask_rates[modality]
            h = h + self.extra_encoders[key](input_dropout(extra, rate, self.training))
        return h

    def takes_sparse(self, modality: int) -> bool:
        """Whether the encoder of ``modality`` reads a CSR input without densifying it (the
        chromosome-blocked encoders).
        """
        return self.sparse_inputs[modality]

    def has_extra(self, modality: int) -> bool:
        """Whether ``modality`` has an extra input."""
        return str(modality) in self.extra_encoders

    def uses_counts(self, modality: int) -> bool:
        """Whether the likelihood of ``modality`` is fitted to its raw counts."""
        return self.likelihoods[modality].uses_counts

    def fits_binarised(self, modality: int) -> bool:
        """Whether the decoder of ``modality`` fits whether each feature is non-zero (e.g. an
        accessibility modality with the ``"bernoulli"`` likelihood); its output is then a
        probability.
        """
        return self.likelihoods[modality].binarised

    def loss_target(self, tensors: dict[str, torch.Tensor], modality: int) -> torch.Tensor:
        """What the decoder of ``modality`` fits in this minibatch (see
        :meth:`~butterflyvi.kinds.Likelihood.target`).
        """
        return self.likelihoods[modality].target(
            dense(tensors[MODALITY_KEYS[modality]]), tensors.get(COUNTS_KEYS[modality])
        )

    def observed(self, tensors: dict[str, torch.Tensor], modality: int) -> torch.Tensor:
        """The measured values of ``modality`` on the scale of :meth:`predicted`."""
        return self.likelihoods[modality].observed(
            dense(tensors[MODALITY_KEYS[modality]]), tensors.get(COUNTS_KEYS[modality])
        )

    def predicted(
        self,
        generative_outputs: dict[str, torch.Tensor],
        source: int,
        target: int,
        library: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The prediction in modality ``target`` from modality ``source`` of a forward pass."""
        return self.likelihoods[target].predict(
            generative_outputs[f"pre_{source}_{target}"], library
        )

    def reconstruction_loss(
        self, pre: torch.Tensor, target: torch.Tensor, modality: int
    ) -> torch.Tensor:
        """Loss of the likelihood of ``modality``, averaged over all entries."""
        return self.likelihoods[modality].loss(pre, target)

    def baseline_loss(
        self, mean: torch.Tensor, mean_square: torch.Tensor, modality: int
    ) -> torch.Tensor:
        """Loss of the trivial prediction "every cell is the per-feature mean".

        ``mean`` and ``mean_square`` are per-feature moments of :meth:`loss_target` over the
        training cells (see :meth:`~butterflyvi.kinds.Likelihood.baseline`).
        """
        return self.likelihoods[modality].baseline(mean, mean_square)

    # ------------------------------------------------------------------ phase 1
    def decode(
        self,
        embedding: torch.Tensor,
        modality: int,
        batch: torch.Tensor | None = None,
        features: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Pre-activation output of modality ``modality`` from its encoder space (with the
        batch vector of ``batch`` added first); of the ``features`` only when given (see
        :meth:`scored_features`).
        """
        return self.decoders[modality](
            embedding + self.batch_shift(self.batch_out, modality, batch), features
        )

    def scored_features(self, modality: int) -> torch.Tensor | None:
        """The output features of ``modality`` decoded and scored in this training step:
        ``None`` (all) unless the module is training with ``output_fraction`` and the
        modality's decoder and likelihood allow a sample (chromosome-blocked output, no
        per-feature likelihood parameters); then a uniform sample of that fraction.

        The loss over a uniform sample of the features is an unbiased estimate of the loss
        over all of them (a mean over entries), so the expected loss is unchanged (tested).
        """
        if not self.training or self.output_fraction is None or self.output_fraction >= 1.0:
            return None
        if not self.sampled_outputs[modality]:
            return None
        return self.decoders[modality].sample_features(self.output_fraction)

    def pretrain_loss(self, tensors: dict[str, torch.Tensor], kl_weight: float) -> LossOutput:
        """Phase-1 loss: each modality's autoencoder alone, ``L_rec + kl_weight · w_m · KL``.

        Both modalities are trained in the same minibatch; their parameters do not overlap,
        so this equals training them one after the other.
        """
        total = 0.0
        rec, kl = {}, {}
        for m, key in enumerate(MODALITY_KEYS):
            batch = tensors.get(BATCH_KEY)
            head = self.pretrain_heads[m](
                self.encode(tensors[key], m, tensors.get(EXTRA_KEYS[m]), batch)
            )
            target = self.loss_target(tensors, m)
            features = self.scored_features(m)
            if features is not None:
                target = target.index_select(1, features)
            rec[m] = self.reconstruction_loss(
                self.decode(head["out"], m, batch, features), target, m
            )
            kl[m] = kl_to_standard_normal(head["mean"], head["log_var"])
            total = total + rec[m] + kl_weight * self.kl_weights[m] * kl[m]
        return LossOutput(
            loss=total,
            reconstruction_loss={f"reconstruction_{m}": rec[m] for m in rec},
            kl_local={f"kl_{m}": kl[m] for m in kl},
            n_obs_minibatch=tensors[MODALITY_KEYS[0]].shape[0],
        )

    # ------------------------------------------------------------------ phase 2 (scvi contract)
    def _get_inference_input(self, tensors: dict[str, torch.Tensor], **kwargs):
        return {
            "x_0": tensors[MODALITY_KEYS[0]],
            "x_1": tensors[MODALITY_KEYS[1]],
            "extra_0": tensors.get(EXTRA_KEYS[0]),
            "extra_1": tensors.get(EXTRA_KEYS[1]),
            "batch": tensors.get(BATCH_KEY),
        }

    @auto_move_data
    def inference(
        self,
        x_0: torch.Tensor,
        x_1: torch.Tensor,
        extra_0: torch.Tensor | None = None,
        extra_1: torch.Tensor | None = None,
        batch: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Encoder embeddings ``h_m`` and latent posteriors ``mean_m``, ``log_var_m``, ``z_m``."""
        out = {}
        for m, (x, extra) in enumerate(((x_0, extra_0), (x_1, extra_1))):
            h = self.encode(x, m, extra, batch)
            post = self.translator.encode(h, m)
            out[f"h_{m}"] = h
            out[f"mean_{m}"] = post["mean"]
            out[f"log_var_{m}"] = post["log_var"]
            out[f"z_{m}"] = post["z"]
        return out

    def _get_generative_input(self, tensors, inference_outputs, **kwargs):
        return {
            "z_0": inference_outputs["z_0"],
            "z_1": inference_outputs["z_1"],
            "batch": tensors.get(BATCH_KEY),
        }

    @auto_move_data
    def generative(
        self, z_0: torch.Tensor, z_1: torch.Tensor, batch: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """For every source ``s`` and target ``t``: translated embedding ``emb_s_t`` and the
        decoder's pre-activation output ``pre_s_t`` (s = t: reconstruction). These key names
        are the contract between the module and the training plan. In training with
        ``output_fraction``, ``pre_s_t`` holds only the features ``features_t``
        (:meth:`scored_features`).
        """
        out = {}
        features = [self.scored_features(t) for t in range(2)]
        for t in range(2):
            if features[t] is not None:
                out[f"features_{t}"] = features[t]
        for s, z in enumerate((z_0, z_1)):
            for t in range(2):
                emb = self.translator.decode(z, t)
                out[f"emb_{s}_{t}"] = emb
                out[f"pre_{s}_{t}"] = self.decode(emb, t, batch, features[t])
        return out

    def discriminator_loss(
        self,
        inference_outputs: dict[str, torch.Tensor],
        generative_outputs: dict[str, torch.Tensor],
        *,
        detach: bool,
    ) -> torch.Tensor:
        """``L_Dis``: for each modality t, BCE of Dis_t telling its encoder's embeddings
        (soft label ~ U[0.8, 1]) from embeddings translated from the other modality
        (~ U[0, 0.2]), averaged over the real + fake batch; summed over both modalities.
        """
        total = 0.0
        for t in range(2):
            real = inference_outputs[f"h_{t}"]
            fake = generative_outputs[f"emb_{1 - t}_{t}"]
            if detach:
                real, fake = real.detach(), fake.detach()
            logits = self.discriminators[t](torch.cat([real, fake], dim=0))
            labels = torch.cat(
                [
                    0.8 + 0.2 * torch.rand(real.shape[0], device=real.device),
                    0.2 * torch.rand(fake.shape[0], device=fake.device),
                ]
            )
            total = total + F.binary_cross_entropy_with_logits(logits, labels)
        return total

    def loss(
        self,
        tensors: dict[str, torch.Tensor],
        inference_outputs: dict[str, torch.Tensor],
        generative_outputs: dict[str, torch.Tensor],
        kl_weight: float = 1.0,
        adversarial_term: torch.Tensor | None = None,
        weights: Sequence[float | torch.Tensor] | None = None,
    ) -> LossOutput:
        """Phase-2 generator loss.

        ``Σ_t w_t (L_t(t→t) + L_t(s→t)) + kl_weight · (w_0 + w_1)_KL · (KL_0 + KL_1)
        − w_dis · adversarial_term`` (the last only when ``adversarial_term`` is given).
        ``weights`` replaces the ``w_t`` (default: ``reconstruction_weights``); the training
        plan's ``loss_balance="baseline"`` passes weights that put both modalities on the
        scale of their trivial-prediction loss. The reconstruction terms are named
        ``reconstruction_{t}_to_{t}`` and ``translation_{s}_to_{t}``.
        """
        if weights is None:
            weights = self.reconstruction_weights
        terms = {}
        total = 0.0
        for t in range(2):
            target = self.loss_target(tensors, t)
            features = generative_outputs.get(f"features_{t}")
            if features is not None:  # only a sample of the features was decoded
                target = target.index_select(1, features)
            for s in range(2):
                value = self.reconstruction_loss(generative_outputs[f"pre_{s}_{t}"], target, t)
                name = "reconstruction" if s == t else "translation"
                terms[f"{name}_{s}_to_{t}"] = value
                total = total + weights[t] * value
        kl = {
            f"kl_{m}": kl_to_standard_normal(
                inference_outputs[f"mean_{m}"], inference_outputs[f"log_var_{m}"]
            )
            for m in range(2)
        }
        total = total + kl_weight * sum(self.kl_weights) * (kl["kl_0"] + kl["kl_1"])
        if self.alignment == "kl":
            kl["kl_between"] = symmetric_kl(
                inference_outputs["mean_0"],
                inference_outputs["log_var_0"],
                inference_outputs["mean_1"],
                inference_outputs["log_var_1"],
            )
            total = total + self.alignment_weight * kl["kl_between"]
        if adversarial_term is not None:
            total = total - self.adversarial_weight * adversarial_term
        return LossOutput(
            loss=total,
            reconstruction_loss=terms,
            kl_local=kl,
            n_obs_minibatch=tensors[MODALITY_KEYS[0]].shape[0],
        )

    def translation_objective(self, loss_output: LossOutput) -> torch.Tensor:
        """Weighted reconstruction + translation loss (the early-stopping criterion)."""
        terms = loss_output.reconstruction_loss
        total = 0.0
        for t in range(2):
            s = 1 - t
            pair = (
                terms[f"reconstruction_{t}_to_{t}"].mean() + terms[f"translation_{s}_to_{t}"].mean()
            )
            total = total + self.reconstruction_weights[t] * pair
        return total

    # ------------------------------------------------------------------ inference
    @torch.inference_mode()
    def translate(
        self,
        x: torch.Tensor,
        source: int,
        target: int,
        library: torch.Tensor | None = None,
        extra: torch.Tensor | None = None,
        batch: torch.Tensor | None = None,
        target_batch: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predicted profile in modality ``target`` from ``x`` of ``source`` (the likelihood's
        prediction; with ``library``, a count likelihood returns expected counts; ``extra``:
        the source's extra input, when it has one; ``batch``: the cells' batches, ``-1`` for
        none in particular; ``target_batch``: the batch to decode as, default ``batch``).

        Uses the latent mean (no sampling) and no input masking when the module is in eval
        mode.
        """
        z = self.translator.encode(self.encode(x, source, extra, batch), source)["z"]
        decode_as = batch if target_batch is None else target_batch
        pre = self.decode(self.translator.decode(z, target), target, decode_as)
        return self.likelihoods[target].predict(pre, library)

    @torch.inference_mode()
    def posterior(
        self, x: torch.Tensor, source: int, *context: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        """The shared latent posterior of ``x`` from modality ``source`` (``context``: its
        extra input and batches, as :meth:`encode` takes them): ``mean``, ``log_var`` and a
        sample ``z``.
        """
        return self.translator.encode(self.encode(x, source, *context), source)

    @torch.inference_mode()
    def cell_summary(
        self, x: torch.Tensor, source: int, post: dict, batch: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Per cell of ``x``: its latent mean, the mean log-variance of its latent posterior
        ``post`` (:meth:`posterior`) and the squared error of its own reconstruction (0 for
        a count likelihood), as ``(n, n_latent + 2)`` — what the calibration reads to tell
        easy cells from hard ones.
        """
        likelihood = self.likelihoods[source]
        if likelihood.uses_counts:
            error = torch.zeros(x.shape[0], device=x.device)
        else:
            # Above SUMMARY_FEATURES outputs (e.g. 200,000 peaks), the mean over a fixed, evenly
            # spaced subset of them: the reconstruction would otherwise cost more than the
            # translation it accompanies.
            features = None
            decoder = self.decoders[source]
            if decoder.samples_features and self.n_features[source] > SUMMARY_FEATURES:
                features = decoder.spaced_features(SUMMARY_FEATURES)
            pre = self.decode(self.translator.decode(post["mean"], source), source, batch, features)
            target = likelihood.target(dense_columns(x, features))
            error = (likelihood.predict(pre) - target).pow(2).mean(1)
        return torch.cat(
            [post["mean"], post["log_var"].mean(1, keepdim=True), error[:, None]], dim=1
        )

    def reconstruction(
        self, x: torch.Tensor, modality: int, batch: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Pre-activation output of ``modality`` from its own input through the shared latent
        mean (the path :meth:`~butterflyvi.ButterflyModel.adapt` fits new batches on).
        """
        z = self.translator.encode(self.encode(x, modality, None, batch), modality)["mean"]
        return self.decode(self.translator.decode(z, modality), modality, batch)
