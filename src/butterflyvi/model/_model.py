"""``ButterflyModel``: scButterfly cross-modality translation as a scvi-tools model."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from anndata import AnnData
from mudata import MuData
from mudata import set_options as set_mudata_options
from scvi import REGISTRY_KEYS
from scvi.data import AnnDataManager, fields
from scvi.data._constants import _SETUP_ARGS_KEY
from scvi.dataloaders import DataSplitter
from scvi.model._utils import use_distributed_sampler
from scvi.model.base import BaseModelClass
from scvi.train import TrainRunner

from .. import pp
from .._constants import ACCESSIBILITY, PP_UNS_KEY
from ..module import MODALITY_KEYS, ButterflyModule
from ..train import VALIDATION_MONITOR, BestWeightsEarlyStopping, ButterflyTrainingPlan
from ._features import (
    RowBlocks,
    align_features,
    iterate_rows,
    reference_var,
    wants_preprocessing,
)
from ._interrupt import interrupts_as_keyboard_interrupt
from ._presets import PRESETS, preset_kwargs
from ._safe_load import frames_restored, load_safely, plain_attributes
from ._setup import (
    check_layer,
    check_paired,
    check_values,
    resolve_kinds,
    resolve_modalities,
    resolve_per_modality,
)

logger = logging.getLogger(__name__)

#: ``var`` columns kept with the model, so that translations carry them.
_STORED_VAR_COLUMNS = ("chrom", "start", "end", "idf", "feature_types", "gene_ids")


def feature_mean_std(
    matrix, *, binary: bool = False, block_rows: int = 10_000
) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation of a sparse or dense matrix (not densified).

    With ``binary``, of the matrix's non-zero pattern (the fraction of cells per feature). An
    on-disk matrix (of an AnnData opened backed) is read ``block_rows`` rows at a time.
    """
    if not (sp.issparse(matrix) or isinstance(matrix, np.ndarray)) and hasattr(matrix, "shape"):
        n_rows = matrix.shape[0]
        total = total_sq = 0.0
        for start in range(0, n_rows, block_rows):
            block = sp.csr_matrix(matrix[start : start + block_rows], dtype=np.float64)
            if binary:
                block.data = (block.data > 0).astype(np.float64)
            total = total + np.asarray(block.sum(axis=0)).ravel()
            total_sq = total_sq + np.asarray(block.multiply(block).sum(axis=0)).ravel()
        mean, mean_sq = total / n_rows, total_sq / n_rows
        return mean, np.sqrt(np.maximum(mean_sq - mean**2, 0.0))
    if binary:
        matrix = (matrix > 0).astype(np.float32)
    if sp.issparse(matrix):
        mean = np.asarray(matrix.mean(axis=0)).ravel()
        mean_sq = np.asarray(matrix.multiply(matrix).mean(axis=0)).ravel()
    else:
        matrix = np.asarray(matrix)
        mean, mean_sq = matrix.mean(axis=0), (matrix**2).mean(axis=0)
    return mean, np.sqrt(np.maximum(mean_sq - mean**2, 0.0))


def _plain(value):
    """Convert numpy scalars to Python scalars (so the saved model needs no pickled numpy objects)."""
    return value.item() if isinstance(value, np.generic) else value


class ButterflyModel(BaseModelClass):
    """Translate between two modalities of single cells (scButterfly).

    Dual-aligned variational autoencoders with a shared latent space, adversarial alignment
    of translated and measured embeddings, and a two-phase schedule (per-modality pretraining,
    then integrative training). Works for RNA ↔ ATAC, RNA ↔ protein and control ↔ stimulated
    expression; each modality's *kind* picks its networks and loss.

    Parameters
    ----------
    mdata
        MuData registered with :meth:`setup_mudata`.
    preset
        Named configuration. ``"paper"`` reproduces the published method exactly;
        ``"default"`` is the same method with the decoders started at the training mean
        (measured in ``docs/benchmarks.md``).
    output_init
        ``"mean"``: initialise each decoder's output layer at the per-feature mean (and
        standard deviation) of the registered training data; ``"random"``: the paper's
        initialisation. ``None`` takes the preset's choice.
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
    _data_splitter_cls = DataSplitter
    _train_runner_cls = TrainRunner

    def __init__(
        self,
        mdata: MuData,
        *,
        preset: str = "default",
        output_init: Literal["mean", "random"] | None = None,
        **module_kwargs,
    ):
        super().__init__(mdata)
        if preset not in PRESETS:
            raise ValueError(f"preset: expected one of {sorted(PRESETS)}, found {preset!r}.")
        args = self.adata_manager.registry[_SETUP_ARGS_KEY]
        self.modalities_ = list(args["modalities"])
        self.kinds_ = list(args["kinds"])
        layers = resolve_per_modality(args["layers"], self.modalities_, "layers")

        groups, n_features = [], []
        self.features_ = {}
        self.preprocessing_ = {}
        for modality, kind in zip(self.modalities_, self.kinds_, strict=True):
            adata = mdata[modality]
            n_features.append(adata.n_vars)
            groups.append(
                [g for _, g in pp.chromosome_groups(adata.var)] if kind == ACCESSIBILITY else None
            )
            columns = {
                c: [_plain(v) for v in adata.var[c].tolist()]
                for c in _STORED_VAR_COLUMNS
                if c in adata.var
            }
            self.features_[modality] = {
                "var_names": adata.var_names.astype(str).tolist(),
                "columns": columns,
            }
            state = adata.uns.get(PP_UNS_KEY)
            self.preprocessing_[modality] = (
                {k: _plain(v) for k, v in state.items()} if isinstance(state, Mapping) else None
            )
        self.layers_ = list(layers)

        kwargs = {**preset_kwargs(preset, "module"), **module_kwargs}
        self.module = self._module_cls(n_features, self.kinds_, chromosome_groups=groups, **kwargs)
        output_init = output_init or preset_kwargs(preset, "model")["output_init"]
        if output_init == "mean":
            stats = [
                feature_mean_std(self._registered_matrix(i), binary=self.module.fits_binarised(i))
                for i in range(2)
            ]
            self.module.initialize_outputs([s[0] for s in stats], [s[1] for s in stats])
        elif output_init != "random":
            raise ValueError(f"output_init: expected 'mean' or 'random', found {output_init!r}.")
        self.preset_ = preset
        self._model_summary_string = (
            f"ButterflyModel ({preset} preset): {self.modalities_[0]} ({self.kinds_[0]}, "
            f"{n_features[0]} features) ↔ {self.modalities_[1]} ({self.kinds_[1]}, "
            f"{n_features[1]} features)."
        )
        self.init_params_ = self._get_init_params(locals())

    def _registered_matrix(self, index: int):
        """The registered matrix of modality ``index`` (not copied)."""
        adata = self.adata[self.modalities_[index]]
        layer = self.layers_[index]
        return adata.X if layer is None else adata.layers[layer]

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
        **kwargs,
    ):
        """Register the two modalities of ``mdata`` with the model.

        Checks that both modalities hold the same cells in the same order (scvi-tools reads
        each modality in its own row order, so a mismatch would pair cells silently by
        position), that the matrices are finite and non-empty, and that accessibility
        modalities know each peak's chromosome. Nothing in ``mdata`` is changed.

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
            ``"expression"``, ``"accessibility"`` or ``"protein"`` per modality; inferred from
            the fitted preprocessing, ``var['feature_types']`` or the modality name when
            omitted.
        batch_key
            Optional ``mdata.obs`` column of batches, stored in the registry (the paper's
            model does not condition on it).
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
            if kind == ACCESSIBILITY and "chrom" not in adata.var:
                raise ValueError(
                    f"mdata: accessibility modality {modality!r} has no var['chrom']; run "
                    f"butterflyvi.pp.preprocess_atac(mdata[{modality!r}]) or "
                    "butterflyvi.pp.annotate_peaks to group peaks by chromosome."
                )
        if batch_key is not None and batch_key not in mdata.obs:
            raise KeyError(f"batch_key: {batch_key!r} is not a column of mdata.obs.")
        # Store the resolved names and kinds, so that loading never re-infers them.
        setup_method_args[_SETUP_ARGS_KEY].update(modalities=list(modalities), kinds=list(kinds))
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
        if batch_key is not None:
            mudata_fields.append(
                fields.MuDataCategoricalObsField(REGISTRY_KEYS.BATCH_KEY, batch_key, mod_key=None)
            )
        adata_manager = AnnDataManager(fields=mudata_fields, setup_method_args=setup_method_args)
        adata_manager.register_fields(mdata, **kwargs)
        cls.register_manager(adata_manager)

    # ------------------------------------------------------------------ saving and loading
    def _get_user_attributes(self):
        """The attributes :meth:`save` stores, with the history and registry in plain types.

        So that :meth:`load` can read ``model.pt`` with torch's weights-only unpickler.
        """
        return plain_attributes(super()._get_user_attributes())

    def save(self, dir_path: str, *args, **kwargs) -> None:
        """Save the model (scvi-tools' ``save``), leaving the registered MuData unchanged.

        With ``save_anndata=True``, writing the MuData would otherwise convert its string
        ``obs``/``var`` columns to categoricals and pull modality columns into
        ``mdata.obs``/``mdata.var``. Arguments are those of scvi-tools' ``BaseModelClass.save``.
        """
        with frames_restored(self.adata):
            super().save(dir_path, *args, **kwargs)

    @classmethod
    def load(cls, dir_path: str, adata: MuData | None = None, **kwargs):
        """Load a model saved with :meth:`save`, without unpickling arbitrary objects.

        scvi-tools reads ``model.pt`` with ``torch.load(..., weights_only=False)``, which runs
        whatever code a tampered file contains. Here ``model.pt`` is read once with
        ``weights_only=True`` (tensors, plain containers, strings, numbers and numpy arrays
        only), checked, and handed to scvi-tools' usual loading; a truncated, corrupted or
        tampered file raises a ``ValueError`` saying so. See ``docs/data_requirements.md``.

        Parameters
        ----------
        dir_path
            Folder written by :meth:`save`.
        adata
            MuData organised like the training data (registered again with the saved
            settings); ``None`` reads the MuData saved with the model.
        **kwargs
            ``accelerator``, ``device``, ``prefix``, ``backup_url``, ... as in scvi-tools'
            ``BaseModelClass.load``.
        """
        return load_safely(cls, super().load, dir_path, adata=adata, **kwargs)

    # ------------------------------------------------------------------ training
    def train(
        self,
        max_epochs_pretrain: int = 100,
        max_epochs: int = 200,
        *,
        batch_size: int = 64,
        early_stopping: bool = True,
        early_stopping_patience: int | None = 50,
        train_size: float = 0.9,
        validation_size: float | None = None,
        shuffle_set_split: bool = True,
        external_indexing: list[np.ndarray] | None = None,
        accelerator: str = "auto",
        devices: int | list[int] | str = "auto",
        plan_kwargs: dict | None = None,
        datasplitter_kwargs: dict | None = None,
        **trainer_kwargs,
    ):
        """Train both phases in one call.

        Parameters
        ----------
        max_epochs_pretrain
            Epochs of phase 1 (per-modality pretraining, 100 in the paper).
        max_epochs
            Epochs of phase 2 (integrative adversarial training, 200 in the paper).
        batch_size
            Minibatch size (64).
        early_stopping
            Stop phase 2 when the validation reconstruction + translation loss has not
            improved for ``early_stopping_patience`` epochs; the best epoch's weights are
            restored at the end either way (when a validation set exists).
        early_stopping_patience
            Patience in epochs (50).
        train_size, validation_size, shuffle_set_split, external_indexing
            Cell split, as in scvi-tools (``external_indexing``: arrays of train, validation
            and test positions).
        accelerator, devices
            Lightning device selection (``"auto"``: a GPU when there is one). Pass
            ``strategy="ddp_find_unused_parameters_true"`` for several devices.
        plan_kwargs
            Keyword arguments of :class:`~butterflyvi.train.ButterflyTrainingPlan` (``lr``,
            ``lr_discriminator``, ``kl_warmup_epochs``, ``adversarial_gate``, …).
        datasplitter_kwargs
            Extra keyword arguments of the scvi-tools ``DataSplitter``.
        **trainer_kwargs
            Passed to the Lightning trainer.
        """
        if max_epochs_pretrain < 0 or max_epochs < 0 or max_epochs_pretrain + max_epochs == 0:
            raise ValueError(
                "max_epochs_pretrain, max_epochs: expected non-negative numbers of epochs with "
                f"a positive sum, found {max_epochs_pretrain} and {max_epochs}."
            )
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int | np.integer)
            or batch_size < 2
        ):
            raise ValueError(
                "batch_size: expected an integer of at least 2 (BatchNorm needs 2 cells per "
                f"minibatch), found {batch_size!r}."
            )
        splitter = self._make_splitter(
            batch_size=batch_size,
            train_size=train_size,
            validation_size=validation_size,
            shuffle_set_split=shuffle_set_split,
            external_indexing=external_indexing,
            # Under DDP each process reads its own share of the minibatches (scvi-tools'
            # BatchDistributedSampler); without it Lightning wraps the batch sampler itself and
            # the minibatches come out malformed.
            extra={
                "distributed_sampler": use_distributed_sampler(trainer_kwargs.get("strategy")),
                **(datasplitter_kwargs or {}),
            },
        )
        plan = self._training_plan_cls(
            self.module,
            n_epochs_pretrain=max_epochs_pretrain,
            **{**preset_kwargs(self.preset_, "plan"), **(plan_kwargs or {})},
        )
        has_validation = splitter.n_val > 0
        callbacks = list(trainer_kwargs.pop("callbacks", []))
        best_weights = BestWeightsEarlyStopping(
            VALIDATION_MONITOR,
            start_epoch=max_epochs_pretrain,
            patience=early_stopping_patience if early_stopping else None,
        )
        if has_validation:
            callbacks.append(best_weights)
            trainer_kwargs.setdefault("check_val_every_n_epoch", 1)
        elif early_stopping:
            logger.warning("No validation cells: early stopping and best-weight restoring are off.")
        runner = self._train_runner_cls(
            self,
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
            with interrupts_as_keyboard_interrupt(plan):
                return runner()
        finally:
            self.best_epoch_ = best_weights.best_epoch
            if has_validation and best_weights.restore_best(plan):
                self.module.eval()

    def _make_splitter(
        self,
        *,
        batch_size,
        train_size,
        validation_size,
        shuffle_set_split,
        external_indexing,
        extra,
    ) -> DataSplitter:
        kwargs = {
            "train_size": train_size,
            "validation_size": validation_size,
            "shuffle_set_split": shuffle_set_split,
            "external_indexing": external_indexing,
            "batch_size": batch_size,
            **(extra or {}),
        }
        splitter = self._data_splitter_cls(self.adata_manager, **kwargs)
        if splitter.n_train < 2:
            raise ValueError(
                f"mdata: training needs at least 2 training cells, found {splitter.n_train} "
                f"(of {self.adata.n_obs} cells with train_size={train_size})."
            )
        if splitter.n_train % batch_size == 1 and "drop_last" not in kwargs:
            # A last minibatch of one cell breaks BatchNorm: drop it (a different cell each
            # epoch, since minibatches are shuffled).
            splitter = self._data_splitter_cls(self.adata_manager, drop_last=True, **kwargs)
        return splitter

    # ------------------------------------------------------------------ inference helpers
    def _modality_index(self, name: str, argument: str) -> int:
        if name not in self.modalities_:
            raise KeyError(
                f"{argument}: expected one of the model's modalities {self.modalities_}, "
                f"found {name!r}."
            )
        return self.modalities_.index(name)

    def _source_matrix(
        self,
        data: AnnData | MuData | None,
        source: int,
        *,
        preprocess: bool | str,
        missing: str,
        layer: str | None,
    ) -> tuple[AnnData, object]:
        """The cells of ``data`` in modality ``source``, in the model's feature space."""
        name = self.modalities_[source]
        if data is None:
            data = self.adata
        if isinstance(data, MuData):
            if name not in data.mod:
                raise KeyError(
                    f"data: the MuData has no modality {name!r}; it has {list(data.mod)}."
                )
            adata = data[name]
            if layer is None and self.layers_[source] in adata.layers:
                layer = self.layers_[source]
        elif isinstance(data, AnnData):
            adata = data
        else:
            raise TypeError(f"data: expected a MuData or AnnData, found {type(data).__name__}.")
        if adata.n_obs == 0:
            raise ValueError("data: expected at least one cell, found none.")
        if layer is not None and layer not in adata.layers:
            raise KeyError(
                f"layer: {layer!r} is not a layer of the data; it has {list(adata.layers)}."
            )
        matrix = adata.X if layer is None else adata.layers[layer]
        info = self.features_[name]
        state = self.preprocessing_.get(name)
        if adata.isbacked:
            # On disk: decide once, then read, preprocess and check the rows block by block.
            decided = wants_preprocessing(adata, matrix, preprocess, state is not None)

            def transform(block: AnnData):
                return self._source_matrix(
                    block, source, preprocess=decided, missing=missing, layer=layer
                )[1]

            return adata, RowBlocks(adata, transform, len(info["var_names"]))
        if wants_preprocessing(adata, matrix, preprocess, state is not None):
            prepared = pp.apply_preprocessing(
                adata, state=state, var=reference_var(info), layer=layer, missing=missing
            )
            return adata, prepared.X
        reference = pd.Index(info["var_names"])
        matrix = align_features(
            matrix, adata.var_names, reference, missing=missing, what=f"data ({name})"
        )
        values = matrix.data if sp.issparse(matrix) else np.asarray(matrix)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"data: modality {name!r} holds NaN or infinite values.")
        return adata, matrix

    def _run_batches(self, matrix, fn, batch_size: int) -> list[np.ndarray]:
        self.module.eval()
        device = self.device
        out = []
        for block in iterate_rows(matrix, batch_size):
            out.append(fn(torch.from_numpy(block).to(device)).cpu().numpy())
        return out

    # ------------------------------------------------------------------ public inference
    @torch.inference_mode()
    def translate(
        self,
        data: AnnData | MuData | None = None,
        *,
        source: str,
        batch_size: int = 1024,
        preprocess: bool | Literal["auto"] = "auto",
        missing: Literal["error", "zero"] = "error",
        layer: str | None = None,
        threshold: float = 1e-4,
        recover_counts: bool = False,
        add_to_mdata: bool = True,
        key_added: str | None = None,
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
            Features of the model absent from ``data``: ``"error"`` refuses, ``"zero"`` fills
            them with zeros (with a warning). Features are always matched by name.
        layer
            Layer of ``data`` to read (default ``.X``, or the registered layer for a MuData).
        threshold
            Predicted values below it become 0 (1e-4 as in the paper); the result is sparse.
        recover_counts
            For an accessibility target, also store binarised recovered counts (inverted
            TF-IDF, then each entry above both its row and column mean) in
            ``layers["recovered_counts"]``. A translated cell has no measured accessibility
            total, so the prediction's own implied total is used. With
            ``accessibility_target="binary"`` the prediction is already the probability that
            a peak is open, so only the binarisation is applied.
        add_to_mdata
            When ``data`` is a MuData, also add the prediction as modality ``key_added``
            (default ``"{target}_from_{source}"``), with var_names prefixed by that key to keep
            the MuData's var_names unique (original names in ``var["feature_name"]``).
        key_added
            Name of that modality.

        Returns
        -------
        AnnData of the cells of ``data`` in the target modality's feature space (var_names of
        the target modality), CSR float32: values in its preprocessed scale, except for an
        accessibility target fitted with ``accessibility_target="binary"`` (the default
        preset), whose values are the probabilities that each peak is open.
        """
        source_index = self._modality_index(source, "source")
        target_index = 1 - source_index
        target = self.modalities_[target_index]
        adata, matrix = self._source_matrix(
            data, source_index, preprocess=preprocess, missing=missing, layer=layer
        )
        blocks = self._run_batches(
            matrix, lambda x: self.module.translate(x, source_index, target_index), batch_size
        )
        rows = []
        for block in blocks:
            block[block < threshold] = 0.0
            rows.append(sp.csr_matrix(block))
        prediction = AnnData(
            X=sp.vstack(rows, format="csr").astype(np.float32),
            obs=adata.obs.copy(),
            var=reference_var(self.features_[target]),
        )
        prediction.uns["butterflyvi_translation"] = {"source": source, "target": target}
        state = self.preprocessing_.get(target)
        if recover_counts:
            if self.kinds_[target_index] != ACCESSIBILITY or state is None:
                raise ValueError(
                    "recover_counts: only for an accessibility target preprocessed with "
                    "butterflyvi.pp.preprocess_atac."
                )
            if self.module.fits_binarised(target_index):
                # The prediction already is the probability that a peak is open: there is no
                # TF-IDF to invert, only the same binarisation.
                recovered = pp.binarize_recovered(prediction.X)
            else:
                recovered = pp.recover_atac_counts(
                    prediction, state=state, var=prediction.var, binarize=True
                )
            prediction.layers["recovered_counts"] = recovered
        if isinstance(data, MuData) and add_to_mdata:
            key = key_added or f"{target}_from_{source}"
            stored = prediction.copy()
            stored.var["feature_name"] = stored.var_names
            stored.var_names = [f"{key}:{name}" for name in stored.var_names]
            data.mod[key] = stored
            # No pulling: the new modality's obs columns must not appear in data.obs.
            with warnings.catch_warnings(), set_mudata_options(pull_on_update=False):
                warnings.simplefilter("ignore", UserWarning)
                data.update()
        return prediction

    @torch.inference_mode()
    def get_latent_representation(
        self,
        data: AnnData | MuData | None = None,
        *,
        modality: str,
        batch_size: int = 1024,
        preprocess: bool | Literal["auto"] = "auto",
        missing: Literal["error", "zero"] = "error",
        layer: str | None = None,
    ) -> np.ndarray:
        """Mean of the shared latent posterior of each cell, from one modality.

        Parameters are as in :meth:`translate`; ``modality`` names the modality read.

        Returns
        -------
        Array of shape ``(n_cells, n_latent)``.
        """
        index = self._modality_index(modality, "modality")
        _, matrix = self._source_matrix(
            data, index, preprocess=preprocess, missing=missing, layer=layer
        )
        blocks = self._run_batches(matrix, lambda x: self.module.latent_mean(x, index), batch_size)
        return np.concatenate(blocks, axis=0)
