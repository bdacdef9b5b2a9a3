"""``ButterflyModel``: scButterfly cross-modality translation as a scvi-tools model."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch
from anndata import AnnData
from mudata import MuData
from scvi import REGISTRY_KEYS
from scvi.data import AnnDataManager, fields
from scvi.model.base import BaseModelClass

from .._constants import (
    COUNTS_KEYS,
    EXTRA_KEYS,
    MODALITY_KEYS,
    OVERLAP_UNS_KEY,
    TRANSLATION_UNS_KEY,
)
from .._validation import check_choice, invalid, missing
from ..kinds import get_kind, infer_kind
from ..module import ButterflyModule
from ..module._module import ACCESSIBILITY_TARGETS
from ..train import ButterflyTrainingPlan
from ._features import FeatureSpace, binarised, feature_mean_std
from ._inference import (
    add_prediction,
    dense_rows,
    library_sizes,
    modality_of,
    run_batches,
    stack_rows,
    thresholded,
)
from ._presets import check_preset, preset_kwargs
from ._save_load import (
    SAVE_KEYS,
    check_var_names,
    download,
    frames_restored,
    history_from_plain,
    invalid_weights,
    plain_attributes,
    read_model_file,
    saved_data_path,
)
from ._setup import (
    check_extra_inputs,
    check_layer,
    check_paired,
    check_values,
    resolve_kinds,
    resolve_modalities,
    resolve_per_modality,
)
from ._stream import CsrRowsWriter, open_backed
from ._training import fit

#: The layer where ``butterflyvi.pp`` keeps raw counts; registered when present, so that a
#: count likelihood can fit them.
COUNTS_LAYER = "counts"

#: The registry's setup arguments (``scvi.data._constants._SETUP_ARGS_KEY``).
_SETUP_ARGS = "setup_args"


class ButterflyModel(BaseModelClass):
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

    def __init__(
        self,
        mdata: MuData,
        *,
        preset: Literal["default", "paper", "scaled", "binary", "crossmp"] = "default",
        likelihoods: Mapping[str, str] | None = None,
        output_init: Literal["mean", "random"] | None = None,
        **module_kwargs,
    ):
        super().__init__(mdata)
        check_preset(preset)
        args = self.adata_manager.registry[_SETUP_ARGS]
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
        self._build_module(likelihoods, module_kwargs)
        output_init = output_init or preset_kwargs(preset, "model")["output_init"]
        check_choice(output_init, name="output_init", choices=("mean", "random"))
        self._fit_to_training_data(output_init == "mean")
        self.init_params_ = self._get_init_params(locals())

    # ------------------------------------------------------------------ construction
    _feature_spaces: list[FeatureSpace] | None = None

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
        kwargs = {**preset_kwargs(self.preset_, "module"), **module_kwargs}
        for key, default in (
            ("mask_rates", lambda kind, n: get_kind(kind).mask_rate),
            ("kl_weights", lambda kind, n: get_kind(kind).kl_weight(n)),
            ("reconstruction_weights", lambda kind, n: 1.0),
        ):
            if isinstance(kwargs.get(key), Mapping):  # by kind (presets): any modality order
                by_kind = kwargs[key]
                kwargs[key] = [
                    float(by_kind.get(s.kind, default(s.kind, s.n_features))) for s in spaces
                ]
        extras = getattr(self, "extras_", None) or {}
        kwargs["extras"] = [
            (len(extras[m]["var_names"]), extras[m]["kind"], None) if m in extras else None
            for m in self.modalities_
        ]
        likelihoods = dict(likelihoods or {})
        target = kwargs.pop("accessibility_target", None)
        if target is not None:  # the older name of the accessibility likelihood
            check_choice(target, name="accessibility_target", choices=list(ACCESSIBILITY_TARGETS))
            likelihoods.setdefault("accessibility", ACCESSIBILITY_TARGETS[target])
        self.module = self._module_cls(
            [s.n_features for s in spaces],
            self.kinds_,
            layouts=[s.layout() for s in spaces],
            likelihoods=self._resolve_likelihoods(likelihoods),
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
                if COUNTS_KEYS[m] not in self.adata_manager.data_registry:
                    raise missing(
                        "likelihoods",
                        f"raw counts in mdata[{self.modalities_[m]!r}].layers['counts'] for "
                        f"the {likelihood.name!r} likelihood",
                        "no such layer at setup_mudata",
                        "bf.pp.preprocess_rna / preprocess_adt keep them there; run "
                        "setup_mudata again afterwards.",
                    )
                counts = self.adata_manager.get_from_registry(COUNTS_KEYS[m])
                totals = np.asarray(counts.sum(axis=1)).ravel()
                median = float(np.median(totals[totals > 0])) if (totals > 0).any() else 1.0
                likelihood.median_library.fill_(median)
            if mean_outputs:
                key = COUNTS_KEYS[m] if likelihood.uses_counts else MODALITY_KEYS[m]
                matrix = self.adata_manager.get_from_registry(key)
                stats.append(
                    feature_mean_std(matrix, transform=binarised if likelihood.binarised else None)
                )
        if mean_outputs:
            self.module.initialize_outputs([s[0] for s in stats], [s[1] for s in stats])

    # ------------------------------------------------------------------ setup
    @classmethod
    def setup_anndata(cls, *args, **kwargs):
        """Not supported: the model needs two modalities; use :meth:`setup_mudata`."""
        raise NotImplementedError(
            "ButterflyModel translates between two modalities: register a MuData with "
            "ButterflyModel.setup_mudata(mdata, modalities=(...)); for two separate AnnData "
            "objects of the same cells build `mudata.MuData({'rna': rna, 'atac': atac})`."
        )

    @classmethod
    def setup_mudata(
        cls,
        mdata: MuData,
        modalities: Sequence[str] = ("rna", "atac"),
        layers: str | Sequence[str | None] | Mapping[str, str | None] | None = None,
        kinds: Sequence[str] | Mapping[str, str] | None = None,
        batch_key: str | None = None,
        counts_layer: str | None = COUNTS_LAYER,
        extra_inputs: Mapping[str, str] | None = None,
        **kwargs,
    ):
        """Register the two modalities of ``mdata`` with the model.

        Checks that both modalities hold the same cells in the same order (scvi-tools reads
        each modality in its own row order, so a mismatch would pair cells silently by
        position), that the matrices are finite and non-empty, and that the values fit each
        modality's kind (e.g. accessibility in [0, 1], peaks grouped by chromosome). Nothing in
        ``mdata`` is changed.

        Parameters
        ----------
        mdata
            MuData with preprocessed modalities (see :mod:`butterflyvi.pp`).
        modalities
            The two modality names; the first is modality 0 (``X``), the second ``Y``.
        layers
            Layer holding each modality's preprocessed values (``None``: ``.X``); one value,
            a pair, or a ``{modality: layer}`` mapping.
        kinds
            Kind per modality (``"expression"``, ``"accessibility"``, ``"protein"`` or a
            registered kind); inferred from the fitted preprocessing, the kind recorded by
            :mod:`butterflyvi.tl`, ``var['feature_types']`` or the modality name when omitted.
        batch_key
            Optional ``mdata.obs`` column of batches, stored in the registry (the paper's
            model does not condition on it).
        counts_layer
            Layer of raw counts, registered for each modality that has it (read only by
            count likelihoods); ``None`` registers none.
        extra_inputs
            ``{modality: extra modality}``: another modality of ``mdata`` (same cells) that
            feeds an extra encoder of that side, added to its encoding at the bottleneck
            (CrossMP), e.g. ``{"atac": "gene_activity"}`` with gene-activity scores from
            :func:`butterflyvi.pp.gene_activity`. Its values are used as they are (``X``).
        **kwargs
            Passed to scvi-tools' ``AnnDataManager.register_fields``.
        """
        setup_method_args = cls._get_setup_method_args(**locals())
        modalities = resolve_modalities(mdata, modalities)
        layer_pair = resolve_per_modality(layers, modalities, "layers")
        kinds = resolve_kinds(mdata, modalities, kinds)
        check_paired(mdata, modalities)
        for modality, layer, kind in zip(modalities, layer_pair, kinds, strict=True):
            adata = mdata[modality]
            check_layer(adata, layer, modality)
            check_values(adata, layer, modality, kind)
            get_kind(kind).layout(adata.var)  # refuses what the kind's networks cannot use
        if batch_key is not None and batch_key not in mdata.obs:
            raise missing("batch_key", "a column of mdata.obs", repr(batch_key))
        extras = check_extra_inputs(mdata, modalities, extra_inputs)
        with_counts = [
            counts_layer is not None and counts_layer in mdata[m].layers and counts_layer != layer
            for m, layer in zip(modalities, layer_pair, strict=True)
        ]
        # Store the resolved names, kinds and counts, so that loading never re-infers them.
        setup_method_args[_SETUP_ARGS].update(
            modalities=list(modalities),
            kinds=list(kinds),
            counts_registered=with_counts,
            extra_inputs=dict(extras),
        )
        mudata_fields = [
            fields.MuDataLayerField(
                MODALITY_KEYS[i],
                layer_pair[i],
                mod_key=modalities[i],
                is_count_data=False,
                mod_required=True,
            )
            for i in range(2)
        ]
        mudata_fields += [
            fields.MuDataLayerField(
                COUNTS_KEYS[i],
                counts_layer,
                mod_key=modalities[i],
                is_count_data=False,
                mod_required=True,
            )
            for i in range(2)
            if with_counts[i]
        ]
        mudata_fields += [
            fields.MuDataLayerField(
                EXTRA_KEYS[i],
                None,
                mod_key=extras[modalities[i]],
                is_count_data=False,
                mod_required=True,
            )
            for i in range(2)
            if modalities[i] in extras
        ]
        if batch_key is not None:
            mudata_fields.append(
                fields.MuDataCategoricalObsField(REGISTRY_KEYS.BATCH_KEY, batch_key, mod_key=None)
            )
        adata_manager = AnnDataManager(fields=mudata_fields, setup_method_args=setup_method_args)
        adata_manager.register_fields(mdata, **kwargs)
        cls.register_manager(adata_manager)

    # ------------------------------------------------------------------ saving and loading
    def get_var_names(self, legacy_mudata_format: bool = False) -> dict[str, list[str]]:
        """The model's features per modality (with or without data)."""
        return {m: list(self.features_[m]["var_names"]) for m in self.modalities_}

    def _get_user_attributes(self):
        """The attributes :meth:`save` stores, with the history and registry in plain types.

        So that :meth:`load` can read ``model.pt`` with torch's weights-only unpickler.
        """
        return plain_attributes(super()._get_user_attributes())

    def save(self, dir_path: str, *args, **kwargs) -> None:
        """Save the model (scvi-tools' ``save``), leaving the registered MuData unchanged.

        With ``save_anndata=True``, writing the MuData would otherwise convert its string
        ``obs``/``var`` columns to categoricals and pull modality columns into
        ``mdata.obs``/``mdata.var``. A model loaded without data saves without data.
        Arguments are those of scvi-tools' ``BaseModelClass.save``.
        """
        if self.adata is None:
            kwargs["save_anndata"] = False
            super().save(dir_path, *args, **kwargs)
            return
        with frames_restored(self.adata):
            super().save(dir_path, *args, **kwargs)

    @classmethod
    def load(
        cls,
        dir_path: str | os.PathLike,
        adata: MuData | Literal[False] | None = None,
        *,
        accelerator: str = "auto",
        device: int | str = "auto",
        prefix: str | None = None,
        backup_url: str | None = None,
        allowed_classes_names_list: list[str] | None = None,
        sha256: str | None = None,
    ) -> ButterflyModel:
        """Load a model saved with :meth:`save`, without unpickling arbitrary objects.

        ``model.pt`` is read once with torch's weights-only unpickler (tensors, plain
        containers, strings, numbers and numpy arrays only) and checked; a truncated,
        corrupted or tampered file raises a ``ValueError`` saying so. The model stores its
        feature spaces and fitted preprocessing, so it loads and translates new cells without
        its training data. See ``docs/data_requirements.md``.

        Parameters
        ----------
        dir_path
            Folder written by :meth:`save`.
        adata
            MuData organised like the training data (registered again with the saved
            settings), e.g. to train further. ``None``: the MuData saved with the model if
            there is one, else no data. ``False``: no data even if some was saved.
        accelerator, device
            Where to put the model (``"auto"``: a GPU when there is one).
        prefix
            Prefix of the saved file names.
        backup_url
            Address to download ``model.pt`` from when it is not in ``dir_path``.
        allowed_classes_names_list
            Other model class names accepted in the saved file.
        sha256
            The expected SHA-256 of ``model.pt``: its bytes are hashed before anything is
            unpickled and refused (:class:`~butterflyvi.zoo.ChecksumError`) when they differ.
        """
        from scvi.model._utils import parse_device_args

        dir_path = os.fspath(dir_path)
        model_file = f"{prefix or ''}{SAVE_KEYS.MODEL_FNAME}"
        if backup_url is not None and not os.path.isfile(os.path.join(dir_path, model_file)):
            download(backup_url, dir_path, model_file)
        names = (cls.__name__, *(allowed_classes_names_list or ()))
        contents = read_model_file(dir_path, prefix=prefix, model_names=names, sha256=sha256)
        attributes = dict(contents[SAVE_KEYS.ATTR_DICT_KEY])
        registry = attributes.pop("registry_")
        init_params = attributes.pop("init_params_")
        if adata is None:
            path = saved_data_path(dir_path, prefix)
            if path is not None:
                import mudata

                adata = mudata.read_h5mu(path)
        if adata is not None and adata is not False:
            check_var_names(adata, contents[SAVE_KEYS.VAR_NAMES_KEY], attributes["modalities_"])
            setup_args = dict(registry[_SETUP_ARGS])
            if not setup_args.get("counts_registered"):
                setup_args["counts_layer"] = None  # as it was registered (older files: none)
            setup_args.pop("counts_registered", None)
            cls.setup_mudata(adata, source_registry=registry, **setup_args)
        model = cls._from_saved(adata or None, registry, init_params, attributes)
        state = dict(contents[SAVE_KEYS.MODEL_STATE_DICT_KEY])
        state.pop("pyro_param_store", None)
        try:
            model.module.load_state_dict(state)
        except RuntimeError as err:
            raise invalid_weights(dir_path, prefix, err) from None
        _, _, torch_device = parse_device_args(
            accelerator=accelerator,
            devices=device,
            return_device="torch",
            validate_single_device=True,
        )
        model.to_device(torch_device)
        model.module.eval()
        return model

    @classmethod
    def _from_saved(
        cls, adata: MuData | None, registry: dict, init_params: dict, attributes: dict
    ) -> ButterflyModel:
        """A model with the saved settings, built on ``adata`` or, without data, from the
        saved feature spaces alone; weights not loaded yet.
        """
        non_kwargs = dict(init_params.get("non_kwargs", {}))
        kwargs = {
            k: v for group in init_params.get("kwargs", {}).values() for k, v in group.items()
        }
        if adata is not None:
            # The weights replace whatever the constructor initialises.
            non_kwargs["output_init"] = "random"
            model = cls(adata, **non_kwargs, **kwargs)
        else:
            model = cls.__new__(cls)
            BaseModelClass.__init__(model, registry=registry)
            for name in ("modalities_", "kinds_", "features_", "preprocessing_", "layers_"):
                setattr(model, name, attributes[name])
            model.extras_ = attributes.get("extras_", {})
            model.preset_ = non_kwargs.get("preset", "default")
            model._build_module(non_kwargs.get("likelihoods"), kwargs)
        model.init_params_ = init_params
        for name, value in attributes.items():
            setattr(model, name, value)
        model._feature_spaces = None
        model.history_ = history_from_plain(getattr(model, "history_", None))
        return model

    # ------------------------------------------------------------------ training
    def train(
        self,
        *args,
        max_epochs_pretrain: int | None = None,
        max_epochs: int | None = None,
        batch_size: int | None = None,
        early_stopping: bool = True,
        early_stopping_patience: int | None = None,
        train_size: float = 0.9,
        validation_size: float | None = None,
        shuffle_set_split: bool = True,
        external_indexing: list[np.ndarray] | None = None,
        accelerator: str = "auto",
        devices: int | list[int] | str = "auto",
        data_on_device: bool | Literal["auto"] = "auto",
        plan_kwargs: dict | None = None,
        datasplitter_kwargs: dict | None = None,
        **trainer_kwargs,
    ):
        """Train both phases in one call (keyword arguments only).

        Parameters
        ----------
        *args
            Refused: ``model.train(200)`` would be ambiguous between the two phases, so a
            positional argument raises a ``TypeError`` naming both.
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
        train_size, validation_size, shuffle_set_split, external_indexing
            Cell split, as in scvi-tools (``external_indexing``: arrays of train, validation
            and test positions).
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
        **trainer_kwargs
            Passed to the Lightning trainer.
        """
        if args:
            raise TypeError(
                "train() takes keyword arguments only: pass max_epochs_pretrain= (phase 1) "
                f"and max_epochs= (phase 2), found {len(args)} positional argument(s) "
                f"{args!r}."
            )
        schedule = preset_kwargs(self.preset_, "train")
        given = {
            "max_epochs_pretrain": max_epochs_pretrain,
            "max_epochs": max_epochs,
            "batch_size": batch_size,
            "early_stopping_patience": early_stopping_patience,
        }
        schedule.update({k: v for k, v in given.items() if v is not None})
        return fit(
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

    # ------------------------------------------------------------------ inference
    def _modality_index(self, name: str, argument: str) -> int:
        if name not in self.modalities_:
            raise missing(argument, f"one of the model's modalities {self.modalities_}", repr(name))
        return self.modalities_.index(name)

    def _source(self, data, index: int, *, preprocess, missing_features, layer):
        """``(adata, matrix)``: the cells of ``data`` in modality ``index``'s feature space."""
        if data is None:
            data = self.adata
            if data is None:
                raise invalid(
                    "data",
                    "cells to translate",
                    "None, and the model was loaded without data",
                )
        space = self.feature_spaces[index]
        adata, layer = modality_of(data, space, layer)
        matrix = space.to_model_space(
            adata, preprocess=preprocess, missing_features=missing_features, layer=layer
        )
        ids = adata.var["gene_ids"].astype(str) if "gene_ids" in adata.var else None
        return adata, matrix, space.overlap(adata.var_names, None if ids is None else pd.Index(ids))

    def _extra(self, data, index: int, adata: AnnData):
        """The extra input of modality ``index`` for the cells of ``data`` (dense float32
        rows, aligned to the model's extra features), or ``None`` when it has none.
        """
        if not self.module.has_extra(index):
            return None
        data = self.adata if data is None else data
        name = self.modalities_[index]
        extra = self.extras_[name]
        if not isinstance(data, MuData) or extra["modality"] not in data.mod:
            raise missing(
                "data",
                f"a MuData holding modality {extra['modality']!r} beside {name!r} (the model "
                f"adds it to its {name} encoding)",
                type(data).__name__
                if not isinstance(data, MuData)
                else f"modalities {list(data.mod)}",
                "Compute gene activity with butterflyvi.pp.gene_activity and put both in one "
                "MuData with the same cells.",
            )
        part = data[extra["modality"]]
        if not part.obs_names.equals(adata.obs_names):
            raise invalid(
                "data",
                f"modality {extra['modality']!r} with the same cells as {name!r}",
                "other cells or another order",
            )
        space = FeatureSpace(extra["modality"], extra["kind"], list(extra["var_names"]))
        return space.to_model_space(part, preprocess=False, missing_features="auto")

    @torch.inference_mode()
    def translate(
        self,
        data: AnnData | MuData | None = None,
        *,
        source: str,
        batch_size: int = 1024,
        preprocess: bool | Literal["auto"] = "auto",
        missing: Literal["auto", "error", "zero"] = "auto",
        layer: str | None = None,
        threshold: float = 1e-4,
        recover_counts: bool = False,
        library_size: float | np.ndarray | None = None,
        add_to_mdata: bool = True,
        key_added: str | None = None,
        out_file: str | Path | None = None,
    ) -> AnnData:
        """Predict the other modality of each cell from its ``source`` modality.

        Parameters
        ----------
        data
            A MuData with modality ``source`` (default: the registered MuData), or a
            one-modality AnnData of new cells in the ``source`` feature space. Either may be
            opened backed (``mudata.read_h5mu(path, backed=True)``, ``anndata.read_h5ad(path,
            backed="r")``): the rows are then read from disk ``batch_size`` cells at a time.
        source
            Name of the measured modality.
        batch_size
            Cells per inference minibatch.
        preprocess
            Apply the preprocessing stored with the model to ``data`` first. ``"auto"``: when
            the data are raw counts (non-negative integers) without butterflyvi's
            preprocessing record.
        missing
            Features of the model absent from ``data`` (matched by name, or by Ensembl id in
            ``var["gene_ids"]`` where that matches more): ``"auto"`` fills them with zeros
            (with a warning) when the data hold at least half of the model's features and
            refuses otherwise; ``"error"`` refuses any; ``"zero"`` always fills. The overlap
            is reported in ``uns["butterflyvi_feature_overlap"]``.
        layer
            Layer of ``data`` to read (default ``.X``, or the registered layer for a MuData).
        threshold
            Predicted values below it become 0 (1e-4 as in the paper); the result is sparse.
        recover_counts
            For a target whose kind can recover counts (accessibility), also store binarised
            recovered counts in ``layers["recovered_counts"]`` (inverted TF-IDF, then each
            entry above both its row and column mean; with a Bernoulli likelihood the
            probabilities are binarised directly). A translated cell has no measured
            accessibility total, so the prediction's own implied total is used.
        library_size
            With a count likelihood (``"nb"``, ``"zinb"``) on the target: return expected
            counts for this library size (one number, or one per cell) instead of the
            normalised expression.
        add_to_mdata
            When ``data`` is a MuData, also add the prediction as modality ``key_added``
            (default ``"{target}_from_{source}"``), with var_names prefixed by that key to keep
            the MuData's var_names unique (original names in ``var["feature_name"]``).
        key_added
            Name of that modality.
        out_file
            Write the prediction to this ``.h5ad`` file block by block (``batch_size`` cells
            at a time) and return it opened backed: with backed ``data`` the memory used does
            not grow with the number of cells. The file appears only once complete; the
            prediction is then not added to a MuData, and ``recover_counts`` is refused.

        Returns
        -------
        AnnData of the cells of ``data`` in the target modality's feature space (var_names of
        the target modality), CSR float32, on the scale of the target's likelihood:
        ``"mse"`` the preprocessed scale (log-normalised expression, CLR protein, scaled
        TF-IDF); ``"bernoulli"`` the probability that each peak is open; ``"nb"``/``"zinb"``
        ``log1p`` of the expected counts per median training library (or expected counts with
        ``library_size``). ``uns["butterflyvi_translation"]`` records the direction and
        likelihood.
        """
        source_index = self._modality_index(source, "source")
        target_index = 1 - source_index
        target_space = self.feature_spaces[target_index]
        adata, matrix, overlap = self._source(
            data, source_index, preprocess=preprocess, missing_features=missing, layer=layer
        )
        likelihood = self.module.likelihoods[target_index]
        library = library_sizes(library_size, adata.n_obs)
        if library is not None and not likelihood.uses_counts:
            raise invalid(
                "library_size",
                "None for a target without a count likelihood",
                f"a library size for {target_space.modality!r} ({likelihood.name!r})",
            )
        device = self.device
        extra = self._extra(data, source_index, adata)

        def step(x: torch.Tensor, rows: slice) -> torch.Tensor:
            lib = None if library is None else torch.from_numpy(library[rows]).to(device)
            ext = None if extra is None else dense_rows(extra, rows, device)
            return self.module.translate(x, source_index, target_index, lib, ext)

        uns = {
            TRANSLATION_UNS_KEY: {
                "source": source,
                "target": target_space.modality,
                "likelihood": likelihood.name,
                "scale": "expected counts" if library is not None else likelihood.prediction,
            },
            OVERLAP_UNS_KEY: overlap,
        }
        if out_file is not None:
            if recover_counts:
                raise invalid("recover_counts", "False with out_file", "True")
            writer = CsrRowsWriter(out_file, target_space.n_features)
            to_csr = thresholded(threshold)
            try:
                run_batches(
                    self.module,
                    matrix,
                    step,
                    batch_size=batch_size,
                    device=device,
                    post=lambda block: writer.append(to_csr(block)),
                )
                path = writer.finish(adata.obs.copy(), target_space.var(), uns)
            except BaseException:
                writer.abort()
                raise
            return open_backed(path)
        blocks = run_batches(
            self.module,
            matrix,
            step,
            batch_size=batch_size,
            device=device,
            post=thresholded(threshold),
        )
        prediction = AnnData(X=stack_rows(blocks), obs=adata.obs.copy(), var=target_space.var())
        prediction.uns.update(uns)
        if recover_counts:
            recover = get_kind(target_space.kind).recover
            if recover is None or target_space.preprocessing is None:
                raise invalid(
                    "recover_counts",
                    "a target whose kind recovers counts and that was preprocessed with "
                    "butterflyvi.pp (accessibility)",
                    f"{target_space.modality!r} ({target_space.kind})",
                )
            prediction.layers["recovered_counts"] = recover(
                prediction, target_space.preprocessing, likelihood
            )
        if isinstance(data, MuData) and add_to_mdata:
            add_prediction(data, prediction, key_added or f"{target_space.modality}_from_{source}")
        return prediction

    @torch.inference_mode()
    def get_latent_representation(
        self,
        data: AnnData | MuData | None = None,
        *,
        modality: str,
        batch_size: int = 1024,
        preprocess: bool | Literal["auto"] = "auto",
        missing: Literal["auto", "error", "zero"] = "auto",
        layer: str | None = None,
    ) -> np.ndarray:
        """Mean of the shared latent posterior of each cell, from one modality.

        Parameters are as in :meth:`translate`; ``modality`` names the modality read.

        Returns
        -------
        Array of shape ``(n_cells, n_latent)``.
        """
        index = self._modality_index(modality, "modality")
        adata, matrix, _ = self._source(
            data, index, preprocess=preprocess, missing_features=missing, layer=layer
        )
        extra = self._extra(data, index, adata)
        blocks = run_batches(
            self.module,
            matrix,
            lambda x, rows: self.module.latent_mean(
                x, index, None if extra is None else dense_rows(extra, rows, self.device)
            ),
            batch_size=batch_size,
            device=self.device,
        )
        return np.concatenate(blocks, axis=0)

    @property
    def is_loaded_without_data(self) -> bool:
        """Whether the model has no registered data (loaded from a file without them)."""
        return self.adata is None
