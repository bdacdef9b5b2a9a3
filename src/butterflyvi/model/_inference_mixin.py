"""Inference: ``translate`` and ``get_latent_representation`` on registered or new cells."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import torch
from anndata import AnnData
from mudata import MuData

from .._constants import FEATURE_MATCH_KEY, TRANSLATION_UNS_KEY
from .._validation import invalid, missing
from ..kinds import get_kind
from ._features import FeatureSpace
from ._inference import (
    Translation,
    add_prediction,
    check_layout,
    dense_rows,
    library_sizes,
    modality_of,
    predict_in_memory,
    predict_to_file,
    run_batches,
)


class InferenceMixin:
    """``translate`` and ``get_latent_representation`` for :class:`~butterflyvi.ButterflyModel`."""

    def _modality_index(self, name: str, argument: str) -> int:
        if name not in self.modalities_:
            raise missing(argument, f"one of the model's modalities {self.modalities_}", repr(name))
        return self.modalities_.index(name)

    def _source(self, data, index: int, *, preprocess, missing_features, layer):
        """``(adata, matrix, report)``: the cells of ``data`` in modality ``index``'s
        feature space, and the report of how their features were matched.
        """
        if data is None:
            data = self.adata
            if data is None:
                raise invalid(
                    "data", "cells to translate", "None, and the model was loaded without data"
                )
        space = self.feature_spaces[index]
        adata, layer = modality_of(data, space, layer)
        match = space.match(adata)
        matrix = space.to_model_space(
            adata,
            preprocess=preprocess,
            missing_features=missing_features,
            layer=layer,
            match=match,
        )
        return adata, matrix, match.report

    def _extra(self, data, index: int, adata: AnnData):
        """The extra input of modality ``index`` for the cells of ``data`` (aligned to the
        model's extra features), or ``None`` when it has none.
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

    def _batch_codes(self, data, adata: AnnData) -> np.ndarray | None:
        """Each cell's batch among the model's (``-1``: unknown), or ``None`` without batches;
        read from ``obs[batch_key]`` of the modality or of the MuData.
        """
        if not getattr(self, "batches_", None):
            return None
        key = self.batch_key_
        column = None
        if key in adata.obs:
            column = adata.obs[key]
        elif isinstance(data, MuData) and key in data.obs:
            column = data.obs[key].reindex(adata.obs_names)
        if column is None:
            return np.full(adata.n_obs, -1, dtype=np.int64)
        lookup = {name: i for i, name in enumerate(self.batches_)}
        return column.astype(str).map(lookup).fillna(-1).to_numpy(dtype=np.int64)

    def _target_batch(self, batch: str | None, n_cells: int) -> np.ndarray | None:
        """Codes of the batch to decode as (``None``: each cell's own)."""
        if batch is None:
            return None
        if not getattr(self, "batches_", None):
            raise invalid("batch", "None for a model without a batch covariate", repr(batch))
        if str(batch) not in self.batches_:
            raise missing("batch", f"one of the model's batches {self.batches_}", repr(batch))
        return np.full(n_cells, self.batches_.index(str(batch)), dtype=np.int64)

    def _translation(
        self,
        data,
        source: str,
        *,
        preprocess,
        missing_features,
        layer,
        library_size,
        batch=None,
        calibrated: bool = True,
    ) -> Translation:
        """Everything a translation from ``source`` needs, checked."""
        source_index = self._modality_index(source, "source")
        target_index = 1 - source_index
        target_space = self.feature_spaces[target_index]
        adata, matrix, overlap = self._source(
            data,
            source_index,
            preprocess=preprocess,
            missing_features=missing_features,
            layer=layer,
        )
        likelihood = self.module.likelihoods[target_index]
        library = library_sizes(library_size, adata.n_obs)
        if library is not None and not likelihood.uses_counts:
            raise invalid(
                "library_size",
                "None for a target without a count likelihood",
                f"a library size for {target_space.modality!r} ({likelihood.name!r})",
            )
        uns = {
            TRANSLATION_UNS_KEY: {
                "source": source,
                "target": target_space.modality,
                "likelihood": likelihood.name,
                "scale": "expected counts" if library is not None else likelihood.prediction,
            },
            FEATURE_MATCH_KEY: overlap,
        }
        return Translation(
            cells=adata,
            matrix=matrix,
            extra=self._extra(data, source_index, adata),
            library=library,
            source=source_index,
            target=target_index,
            target_space=target_space,
            uns=uns,
            batch=self._batch_codes(data, adata),
            target_batch=self._target_batch(batch, adata.n_obs),
            platt=self._platt(source, target_space.modality) if calibrated else None,
        )

    def _platt(self, source: str, target: str):
        """The Platt scaling of a calibrated binary target's probabilities, or ``None``."""
        fitted = self._calibration_of(source, target)
        return None if fitted is None or fitted.get("platt") is None else fitted["platt"]

    def _recovered_counts(self, prediction: AnnData, space: FeatureSpace, likelihood):
        """Binarised counts recovered from a translation (``recover_counts=True``)."""
        recover = get_kind(space.kind).recover
        if recover is None or space.preprocessing is None:
            raise invalid(
                "recover_counts",
                "a target whose kind recovers counts and that was preprocessed with "
                "butterflyvi.pp (accessibility)",
                f"{space.modality!r} ({space.kind})",
            )
        return recover(prediction, space.preprocessing, likelihood)

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
        add_to_mdata: bool = False,
        key_added: str | None = None,
        out_file: str | Path | None = None,
        batch: str | None = None,
        interval: float | None = None,
        layout: Literal["auto", "dense", "sparse"] = "auto",
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
            Features of the model absent from ``data``: ``"auto"`` fills them with zeros
            (with a warning) when the data hold at least half of the model's features and
            refuses otherwise; ``"error"`` refuses any; ``"zero"`` always fills. Features are
            matched as :meth:`~butterflyvi.model.FeatureSpace.match` does — genes by name,
            Ensembl id, without a genome prefix or ignoring case (a species mismatch is
            refused); peaks by name, then by genomic overlap with the data's own peaks, whose
            counts are summed — and reported in ``uns["feature_match"]`` (``method``,
            ``n_model_features``, ``n_matched``, ``fraction``, ``renamed``, ...).
        layer
            Layer of ``data`` to read (default ``.X``, or the registered layer for a MuData).
        threshold
            Predicted values below it become 0 (1e-4 as in the paper).
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
            When ``data`` is a MuData, also write the prediction into it as modality
            ``key_added`` (default ``"{target}_from_{source}"``), with var_names prefixed by
            that key to keep the MuData's var_names unique (original names in
            ``var["feature_name"]``). By default ``data`` is left as it is.
        key_added
            Name of that modality.
        out_file
            Write the prediction to this ``.h5ad`` file block by block (``batch_size`` cells
            at a time) and return it opened backed: with backed ``data`` the memory used does
            not grow with the number of cells. The file appears only once complete; the
            prediction is then not added to a MuData, and ``recover_counts`` is refused;
            ``interval`` bounds are written as layers of the file.
        batch
            With a batch covariate (``batch_covariate=True``): translate as if every cell had
            been measured in this training (or adapted) batch. ``None``: each cell's own batch
            from ``obs[batch_key]`` (a batch the model does not know, or no such column: the
            mean batch vector). The source is always encoded with the cells' own batch.
        interval
            With a calibrated model: also return, at this level (e.g. 0.9), split-conformal
            bounds of every value in ``layers["lower"]`` and ``layers["upper"]`` (for a
            probability, bounds on it), and ``uns["interval"]``. Their coverage is the level
            for cells exchangeable with the calibration cells (``docs/method.md``, "Trust").
        layout
            ``"sparse"``: ``X`` (and the interval layers) as CSR; ``"dense"``: as a dense
            array; ``"auto"``: dense when more than half of the values of the first block are
            kept by ``threshold`` (accessibility probabilities nearly all are: CSR would take
            2-3x the memory), CSR otherwise (e.g. expression with many zeros).

        Calibrated models (every model trained by this version: :meth:`calibrate` runs at the
        end of :meth:`train`) always write ``obs["translation_confidence"]`` (in [0, 1],
        higher = more trustworthy: a conformal p-value of the cell's predicted difficulty and
        of its distance to the reference cells in the latent space, whichever is lower) and
        ``obs["translation_novelty"]``, and return calibrated probabilities for a binary target.

        Returns
        -------
        AnnData of the cells of ``data`` in the target modality's feature space (var_names of
        the target modality), float32 (CSR or dense, see ``layout``), on the scale of the target's likelihood:
        ``"mse"`` the preprocessed scale (log-normalised expression, CLR protein, scaled
        TF-IDF); ``"bernoulli"`` the probability that each peak is open; ``"nb"``/``"zinb"``
        ``log1p`` of the expected counts per median training library (or expected counts with
        ``library_size``). ``uns["butterflyvi_translation"]`` records the direction and
        likelihood.
        """
        check_layout(layout)
        job = self._translation(
            data,
            source,
            preprocess=preprocess,
            missing_features=missing,
            layer=layer,
            library_size=library_size,
            batch=batch,
        )
        if out_file is not None:
            if recover_counts:
                raise invalid("recover_counts", "False with out_file", "True")
            bounds = None if interval is None else self._bounds(job, interval)
            return predict_to_file(
                self.module,
                job,
                out_file,
                batch_size,
                threshold,
                self.device,
                self._confidence,
                bounds,
                uns=None if interval is None else {"interval": float(interval)},
                layout=layout,
            )
        prediction = predict_in_memory(self.module, job, batch_size, threshold, self.device, layout)
        self._trust(job, prediction, interval)
        if recover_counts:
            prediction.layers["recovered_counts"] = self._recovered_counts(
                prediction, job.target_space, self.module.likelihoods[job.target]
            )
        if isinstance(data, MuData) and add_to_mdata:
            add_prediction(
                data, prediction, key_added or f"{job.target_space.modality}_from_{source}"
            )
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
        codes = self._batch_codes(data, adata)
        blocks = run_batches(
            self.module,
            matrix,
            lambda x, rows: self.module.posterior(
                x,
                index,
                None if extra is None else dense_rows(extra, rows, self.device),
                None if codes is None else torch.from_numpy(codes[rows]).to(self.device),
            )["mean"],
            batch_size=batch_size,
            device=self.device,
            sparse=self.module.takes_sparse(index),
        )
        return np.concatenate(blocks, axis=0)
