"""``ButterflyModel``: scButterfly cross-modality translation as a scvi-tools model.

The class is a conductor: set-up, training, inference and saving live in their mixins
(``_setup_mixin``, ``_training_mixin``, ``_inference_mixin``, ``_save_mixin``); here the
model is built from its feature spaces and preset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
from mudata import MuData
from scvi import REGISTRY_KEYS
from scvi.model.base import BaseModelClass

from .._constants import COUNTS_KEYS, MODALITY_KEYS
from .._validation import check_choice, missing
from ..kinds import infer_kind
from ..module import ButterflyModule
from ..train import ButterflyTrainingPlan
from ._adapt_mixin import AdaptMixin
from ._features import FeatureSpace, binarised, feature_mean_std
from ._inference_mixin import InferenceMixin
from ._parts import ACCESSIBILITY_TARGETS, build_module
from ._presets import check_preset, preset_kwargs
from ._save_mixin import SaveLoadMixin
from ._setup import resolve_per_modality
from ._setup_mixin import SETUP_ARGS, SetupMixin
from ._training_mixin import TrainingMixin
from ._trust_mixin import TrustMixin


class ButterflyModel(
    SetupMixin,
    TrainingMixin,
    InferenceMixin,
    TrustMixin,
    AdaptMixin,
    SaveLoadMixin,
    BaseModelClass,
):
    """Translate between two modalities of single cells (scButterfly).

    Dual-aligned variational autoencoders with a shared latent space, adversarial alignment
    of translated and measured embeddings, and a two-phase schedule (per-modality pretraining,
    then integrative training). Works for RNA ↔ ATAC, RNA ↔ protein and control ↔ stimulated
    expression; each modality's *kind* (:mod:`butterflyvi.kinds`) picks its networks,
    likelihood, masking rate and KL weight.

    Parameters
    ----------
    mdata
        MuData registered with :meth:`setup_mudata`.
    preset
        Named configuration. ``"paper"`` reproduces the published method exactly;
        ``"default"`` is the same method with the decoders started at the training mean, a
        Bernoulli likelihood for accessibility and the best epoch chosen by correlation
        (measured in ``docs/benchmarks.md``); ``"crossmp"`` is CrossMP's architecture and
        recipe (16-d bottlenecks, NB expression decoder, KL between the bottlenecks, one
        training phase; ``docs/method.md``).
    likelihoods
        Likelihood per modality, by modality name (``{"rna": "nb"}``) or kind
        (``{"expression": "nb"}``): expression ``"mse"``, ``"nb"``, ``"zinb"``; accessibility
        ``"bce_tfidf"``, ``"bernoulli"``; protein ``"mse"``, ``"nb"``. Unnamed modalities get
        the preset's choice, else their kind's default. Count likelihoods (``"nb"``,
        ``"zinb"``) fit the raw counts of ``layers["counts"]`` (where ``butterflyvi.pp``
        keeps them) with each cell's observed library size.
    output_init
        ``"mean"``: initialise each decoder's output layer at the per-feature mean (and
        standard deviation) of the training data's likelihood target; ``"random"``: the
        paper's initialisation. ``None`` takes the preset's choice.
    batch_covariate
        Condition the networks on the ``batch_key`` given to :meth:`setup_mudata`: a learned
        vector per batch and modality added to the encoder's output and to the decoder's
        input, so that a second donor or lab is not translated as if it were the first;
        :meth:`translate` can then decode as any training batch (``batch=``), and
        :meth:`adapt` fits vectors for new batches. ``None`` takes the preset's choice (off:
        ``docs/benchmarks.md``, "Batches").
    **module_kwargs
        Overrides of :class:`~butterflyvi.module.ButterflyModule` arguments (``n_latent``,
        ``dropout``, ``mask_rates``, ``kl_weights``, ``reconstruction_weights``, …).

    Examples
    --------
    >>> import butterflyvi as bf
    >>> mdata = bf.datasets.snareseq_demo()
    >>> bf.pp.preprocess_rna(mdata["rna"])
    >>> bf.pp.preprocess_atac(mdata["atac"])
    >>> mdata.update()
    >>> bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    >>> model = bf.ButterflyModel(mdata)
    >>> model.train(max_epochs_pretrain=5, max_epochs=10)
    >>> atac_pred = model.translate(mdata, source="rna")
    """

    _module_cls = ButterflyModule
    _training_plan_cls = ButterflyTrainingPlan
    _feature_spaces: list[FeatureSpace] | None = None

    def __init__(
        self,
        mdata: MuData,
        *,
        preset: Literal["default", "paper", "scaled", "binary", "crossmp"] = "default",
        likelihoods: Mapping[str, str] | None = None,
        output_init: Literal["mean", "random"] | None = None,
        batch_covariate: bool | None = None,
        **module_kwargs,
    ):
        super().__init__(mdata)
        check_preset(preset)
        args = self.adata_manager.registry[SETUP_ARGS]
        self.modalities_ = list(args["modalities"])
        self.kinds_ = list(args["kinds"])
        self.layers_ = list(resolve_per_modality(args["layers"], self.modalities_, "layers"))
        spaces = [
            FeatureSpace.from_adata(mdata[m], modality=m, kind=k, layer=layer)
            for m, k, layer in zip(self.modalities_, self.kinds_, self.layers_, strict=True)
        ]
        self.features_ = {s.modality: s.to_saved() for s in spaces}
        self.preprocessing_ = {s.modality: s.preprocessing for s in spaces}
        self.extras_ = {
            modality: {
                "modality": extra,
                "kind": infer_kind(mdata[extra], extra) or "expression",
                "var_names": mdata[extra].var_names.astype(str).tolist(),
            }
            for modality, extra in (args.get("extra_inputs") or {}).items()
        }
        self.preset_ = preset
        self.batch_key_ = args.get("batch_key")
        self.batches_ = self._training_batches(batch_covariate)
        self.adapted_batches_: list[str] = []
        self._build_module(likelihoods, module_kwargs)
        output_init = output_init or preset_kwargs(preset, "model")["output_init"]
        check_choice(output_init, name="output_init", choices=("mean", "random"))
        self._fit_to_training_data(output_init == "mean")
        self.init_params_ = self._get_init_params(locals())

    @property
    def feature_spaces(self) -> list[FeatureSpace]:
        """The :class:`~butterflyvi.model.FeatureSpace` of modality 0 and of modality 1.

        Built from the saved attributes ``features_``, ``preprocessing_`` and ``layers_``.
        """
        if self._feature_spaces is None:
            self._feature_spaces = [
                FeatureSpace.from_saved(
                    self.features_[m], self.preprocessing_.get(m), layer, modality=m, kind=k
                )
                for m, k, layer in zip(self.modalities_, self.kinds_, self.layers_, strict=True)
            ]
        return self._feature_spaces

    @property
    def is_loaded_without_data(self) -> bool:
        """Whether the model has no registered data (loaded from a file without them)."""
        return self.adata is None

    def _training_batches(self, batch_covariate: bool | None) -> list[str]:
        """The batches the networks condition on (none without ``batch_covariate``)."""
        if batch_covariate is None:
            batch_covariate = preset_kwargs(self.preset_, "model").get("batch_covariate", False)
        if not batch_covariate:
            return []
        if self.batch_key_ is None:
            raise missing(
                "batch_covariate",
                "a batch_key given to setup_mudata",
                "none",
                "Run setup_mudata(mdata, ..., batch_key='donor') first.",
            )
        mapping = self.adata_manager.get_state_registry(REGISTRY_KEYS.BATCH_KEY).categorical_mapping
        return [str(b) for b in mapping]

    def _resolve_likelihoods(self, likelihoods: Mapping[str, str] | None) -> list[str | None]:
        """Each modality's likelihood: by modality name, else by kind, else the preset's."""
        given = dict(likelihoods or {})
        unknown = set(given) - set(self.modalities_) - set(self.kinds_)
        if unknown:
            raise missing(
                "likelihoods",
                f"keys among the modalities {self.modalities_} or their kinds {self.kinds_}",
                str(sorted(unknown)),
            )
        preset = preset_kwargs(self.preset_, "likelihoods")
        return [
            given.get(m, given.get(k, preset.get(k)))
            for m, k in zip(self.modalities_, self.kinds_, strict=True)
        ]

    def _build_module(self, likelihoods, module_kwargs) -> None:
        """Build the networks from the feature spaces and the preset (data are not needed)."""
        spaces = self.feature_spaces
        extras = getattr(self, "extras_", None) or {}
        kwargs = {**preset_kwargs(self.preset_, "module"), **module_kwargs}
        target = kwargs.pop("accessibility_target", None)
        if target is not None:  # the older name of the accessibility likelihood
            check_choice(target, name="accessibility_target", choices=list(ACCESSIBILITY_TARGETS))
            likelihoods = {"accessibility": ACCESSIBILITY_TARGETS[target], **(likelihoods or {})}
        self.module = build_module(
            [s.n_features for s in spaces],
            self.kinds_,
            layouts=[s.layout() for s in spaces],
            likelihoods=self._resolve_likelihoods(likelihoods),
            extras=[
                (len(extras[m]["var_names"]), extras[m]["kind"]) if m in extras else None
                for m in self.modalities_
            ],
            n_batch=len(getattr(self, "batches_", None) or []),
            **kwargs,
        )
        names = [lik.name for lik in self.module.likelihoods]
        self._model_summary_string = (
            f"ButterflyModel ({self.preset_} preset): "
            + " ↔ ".join(
                f"{s.modality} ({s.kind}, {s.n_features} features, {name})"
                for s, name in zip(spaces, names, strict=True)
            )
            + "."
        )

    def _fit_to_training_data(self, mean_outputs: bool) -> None:
        """Refuse count likelihoods without counts; set what they need (the median library
        size) and, with ``mean_outputs``, start the decoders at the training mean.
        """
        stats = []
        for m in range(2):
            likelihood = self.module.likelihoods[m]
            if likelihood.uses_counts:
                likelihood.median_library.fill_(self._median_library(m, likelihood.name))
            if mean_outputs:
                key = COUNTS_KEYS[m] if likelihood.uses_counts else MODALITY_KEYS[m]
                matrix = self.adata_manager.get_from_registry(key)
                stats.append(
                    feature_mean_std(matrix, transform=binarised if likelihood.binarised else None)
                )
        if mean_outputs:
            self.module.initialize_outputs([s[0] for s in stats], [s[1] for s in stats])

    def _median_library(self, m: int, likelihood: str) -> float:
        """The median raw-count total of modality ``m``'s cells (refused without counts)."""
        if COUNTS_KEYS[m] not in self.adata_manager.data_registry:
            raise missing(
                "likelihoods",
                f"raw counts in mdata[{self.modalities_[m]!r}].layers['counts'] for "
                f"the {likelihood!r} likelihood",
                "no such layer at setup_mudata",
                "bf.pp.preprocess_rna / preprocess_adt keep them there; run "
                "setup_mudata again afterwards.",
            )
        counts = self.adata_manager.get_from_registry(COUNTS_KEYS[m])
        totals = np.asarray(counts.sum(axis=1)).ravel()
        return float(np.median(totals[totals > 0])) if (totals > 0).any() else 1.0
