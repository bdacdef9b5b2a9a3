"""``build_reference``, ``calibrate`` and ``annotate``: what a model keeps of its reference
cells, how far to trust its translations, and labels from the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from anndata import AnnData
from mudata import MuData

from .._validation import check_positive_int, invalid, missing
from ..module import row_totals
from . import _calibration as cal
from ._features import align_features
from ._inference import dense_rows, run_batches

#: Reference cells kept with a model (their latent means, labels and 2-D map).
REFERENCE_CELLS = 3000
#: Calibration holds a few dense cells × features arrays in float64 (about 60 bytes per
#: predicted value): above this many values per direction its cells are subsampled.
CALIBRATION_MAX_VALUES = 25_000_000
#: ... but never below this many cells.
CALIBRATION_MIN_CELLS = 200
#: Neighbours of a query cell in the reference (labels, map position).
ANNOTATION_NEIGHBOURS = 15


def _direction(source: str, target: str) -> str:
    return f"{source}->{target}"


class TrustMixin:
    """Reference cells, calibration and annotation for :class:`~butterflyvi.ButterflyModel`."""

    reference_: dict | None = None
    calibration_: dict | None = None

    # ------------------------------------------------------------------ passes over cells
    def _summaries(self, job) -> cal.CellSummary:
        """Latent means, posterior variance, own-reconstruction error and totals of the source
        cells of a translation job.
        """
        device = self.device

        def step(x: torch.Tensor, rows: slice) -> torch.Tensor:
            extra = None if job.extra is None else dense_rows(job.extra, rows, device)
            batch = None if job.batch is None else torch.from_numpy(job.batch[rows]).to(device)
            post = self.module.posterior(x, job.source, extra, batch)
            summary = self.module.cell_summary(x, job.source, post, batch)
            return torch.cat([summary, row_totals(x)], dim=1)

        blocks = run_batches(
            self.module,
            job.matrix,
            step,
            batch_size=1024,
            device=device,
            sparse=self.module.takes_sparse(job.source),
        )
        return cal.CellSummary.from_blocks(blocks)

    def _raw_prediction(self, job) -> np.ndarray:
        """The dense prediction of a job, without threshold or calibration."""
        blocks = run_batches(
            self.module,
            job.matrix,
            job.step(self.module, self.device),
            batch_size=1024,
            device=self.device,
            sparse=self.module.takes_sparse(job.source),
        )
        return np.concatenate(blocks, axis=0).astype(np.float64)

    def _observed(self, data, index: int, adata_source: AnnData) -> np.ndarray:
        """The measured values of modality ``index`` on its prediction's scale (the cells of
        ``adata_source``, dense).
        """
        space = self.feature_spaces[index]
        likelihood = self.module.likelihoods[index]
        target, matrix, _ = self._source(
            data, index, preprocess="auto", missing_features="auto", layer=None
        )
        if not target.obs_names.equals(adata_source.obs_names):
            raise invalid("data", "both modalities with the same cells", "other cells")
        x = torch.from_numpy(_dense(matrix))
        counts = None
        if likelihood.uses_counts:
            if "counts" not in target.layers:
                raise missing("data", f"layers['counts'] of {space.modality!r}", "none")
            counts = align_features(
                target.layers["counts"],
                target.var_names,
                pd.Index(space.var_names),
                missing="zero",
                what=f"data ({space.modality} counts)",
            )
            counts = torch.from_numpy(_dense(counts))
        return likelihood.observed(x, counts).numpy().astype(np.float64)

    def observed(self, data: MuData, *, modality: str) -> np.ndarray:
        """The measured values of ``modality`` on the scale its translation is predicted on
        (the model's stored preprocessing applied; for accessibility, peaks open or not), as
        a dense cells × model features array — what to compare a translation or its
        intervals with (e.g. :func:`butterflyvi.metrics.coverage`).

        Parameters
        ----------
        data
            Paired cells holding ``modality`` (and the model's other modality).
        modality
            The modality to read.
        """
        if not isinstance(data, MuData):
            raise invalid("data", "a MuData of paired cells", type(data).__name__)
        index = self._modality_index(modality, "modality")
        other = next(m for m in self.modalities_ if m != modality)
        if other not in data.mod:
            raise missing("data", f"modality {other!r} beside {modality!r}", str(list(data.mod)))
        return self._observed(data, index, data[other])

    # ------------------------------------------------------------------ reference
    def build_reference(
        self,
        data: MuData | None = None,
        *,
        label_key: str | None = None,
        n_cells: int = REFERENCE_CELLS,
        cells=None,
        seed: int = 0,
    ) -> None:
        """Keep reference cells with the model: their latent means from each modality, a 2-D
        map (UMAP of the latent means) and, with ``label_key``, their labels — what
        novelty, :meth:`annotate` and the portal's reference map read.

        Parameters
        ----------
        data
            Paired reference cells (default: the registered MuData, its training cells).
        label_key
            ``obs`` column of cell types (of the MuData or a modality).
        n_cells
            Reference cells kept at most (a seeded subsample).
        cells
            Positions of the cells to draw from (default: the training cells).
        seed
            Seed of the subsample and the map.
        """
        from .._neighbors import embed

        data = self.adata if data is None else data
        if not isinstance(data, MuData):
            raise invalid("data", "a MuData of paired reference cells", type(data).__name__)
        n_cells = check_positive_int(n_cells, name="n_cells")
        if cells is None:
            cells = getattr(self, "train_indices", None)
            cells = np.arange(data.n_obs) if cells is None or data is not self.adata else cells
        rng = np.random.default_rng(seed)
        cells = np.sort(rng.choice(np.asarray(cells), min(n_cells, len(cells)), replace=False))
        subset = _cells_in_memory(data, data.obs_names[cells])
        latent = {
            m: self.get_latent_representation(subset, modality=m).astype(np.float32)
            for m in self.modalities_
        }
        mean = np.mean(list(latent.values()), axis=0)
        umap = embed(representation=mean, n_neighbors=15, umap=True, seed=seed).umap
        labels = None
        if label_key is not None:
            labels = _labels(subset, label_key).tolist()
        self.reference_ = {
            "cells": subset.obs_names.astype(str).tolist(),
            "latent": {m: z.astype(np.float16) for m, z in latent.items()},
            "umap": umap.astype(np.float32),
            "labels": labels,
            "label_key": label_key,
        }

    def _reference_latent(self, modality: str) -> np.ndarray:
        if not self.reference_:
            raise invalid(
                "model", "a model with reference cells", "none", "Run model.build_reference()."
            )
        return np.asarray(self.reference_["latent"][modality], dtype=np.float32)

    # ------------------------------------------------------------------ calibration
    def calibrate(self, data: MuData | None = None, *, cells=None, seed: int = 0) -> None:
        """Calibrate the model's translations on paired cells it never trained on.

        Run automatically at the end of :meth:`train` on the validation cells. For each
        direction: the prediction is compared with the measured values; half of the cells fit
        a per-cell difficulty (a ridge regression of the log per-cell error on the cell's
        latent novelty, posterior variance, own-reconstruction error, predicted spread and
        total) and, for a binary target (P(peak open)), a Platt scaling of the probabilities;
        the other half gives per-feature conformal quantiles of ``|error| / difficulty`` and
        the reference distributions of the confidence. See ``docs/method.md``, "Trust".

        Parameters
        ----------
        data
            Paired cells (default: the registered MuData).
        cells
            Their positions to calibrate on (default: the model's validation cells when
            ``data`` is the registered MuData, else all).
        seed
            Seed of the halves (and of the subsample below).

        Notes
        -----
        Calibration holds dense cells × features arrays: where the cells times the larger
        modality's features exceed 25 million values (e.g. more than 227 cells at 110,000
        peaks), a random subset of the cells is used (at least 200), so that its memory does
        not grow with the data. ``calibration_["n_cells"]`` says how many were used.
        """
        data = self.adata if data is None else data
        if not isinstance(data, MuData):
            raise invalid("data", "a MuData of paired cells", type(data).__name__)
        if cells is None:
            cells = getattr(self, "validation_indices", None) if data is self.adata else None
            cells = np.arange(data.n_obs) if cells is None else cells
        if len(cells) < 20:
            raise invalid("cells", "at least 20 calibration cells", f"{len(cells)}")
        cells = _bounded_cells(np.asarray(cells), max(self.module.n_features), seed)
        if not self.reference_:
            self.build_reference(seed=seed)
        subset = _cells_in_memory(data, data.obs_names[np.sort(np.asarray(cells))])
        directions = {}
        for source in self.modalities_:
            target = next(m for m in self.modalities_ if m != source)
            directions[_direction(source, target)] = self._calibrate_direction(
                subset, source, target, seed
            )
        self.calibration_ = {
            "levels": cal.LEVELS.copy(),
            "n_cells": int(subset.n_obs),
            "directions": directions,
        }

    def _calibrate_direction(self, data: MuData, source: str, target: str, seed: int) -> dict:
        t = self._modality_index(target, "target")
        binary = bool(self.module.likelihoods[t].binarised)
        job = self._translation(
            data,
            source,
            preprocess="auto",
            missing_features="auto",
            layer=None,
            library_size=None,
            calibrated=False,
        )
        prediction = self._raw_prediction(job)
        truth = self._observed(data, t, job.cells)
        half_a, half_b = cal.split_halves(len(truth), seed)
        platt = None
        if binary:
            platt = cal.fit_platt(prediction[half_a].ravel(), truth[half_a].ravel())
            prediction = cal.platt(prediction, platt)
        summary = self._summaries(job)
        distance = cal.knn_distance(self._reference_latent(source), summary.latent)
        features = cal.cell_features(summary, distance, cal.spread(prediction, binary))
        errors = np.abs(truth - prediction).mean(axis=1)
        model = cal.fit_difficulty(features[half_a], errors[half_a])
        hardness = cal.difficulty(model, features[half_b])
        scores = np.abs(truth[half_b] - prediction[half_b]) / hardness[:, None]
        low = 0.0 if float(truth.min()) >= 0 else None
        return {
            "quantiles": cal.conformal_quantiles(scores),
            "difficulty": model,
            "calibration_difficulty": np.sort(hardness),
            "calibration_distance": np.sort(distance[half_b]),
            "platt": platt,
            "bounds": [low, 1.0 if binary else None],
            "n_cells": len(half_b),
        }

    def _calibration_of(self, source: str, target: str) -> dict | None:
        if not self.calibration_:
            return None
        return self.calibration_["directions"].get(_direction(source, target))

    def _trust(self, job, prediction: AnnData, interval: float | None) -> None:
        """Write confidence (and, with ``interval``, bounds) of a translation into it."""
        source, target = self.modalities_[job.source], self.modalities_[job.target]
        fitted = self._calibration_of(source, target)
        if fitted is None:
            if interval is not None:
                raise invalid("interval", "a calibrated model (model.calibrate())", "none")
            return
        binary = bool(self.module.likelihoods[job.target].binarised)
        hardness = self._confidence(job, cal.spread(prediction.X, binary), prediction.obs)
        if interval is None:
            return
        lower, upper = self._bounds(job, interval)(_dense(prediction.X), hardness)
        layout = sp.csr_matrix if sp.issparse(prediction.X) else np.asarray  # as X
        prediction.layers["lower"] = layout(lower)
        prediction.layers["upper"] = layout(upper)
        prediction.uns["interval"] = float(interval)

    def _bounds(self, job, interval: float) -> Callable:
        """``bounds(values, difficulty) -> (lower, upper)``: the split-conformal interval at
        level ``interval`` of predicted ``values`` (rows of cells) given those cells'
        ``difficulty`` (float32).
        """
        fitted = self._calibration_of(self.modalities_[job.source], self.modalities_[job.target])
        if fitted is None:
            raise invalid("interval", "a calibrated model (model.calibrate())", "none")
        quantiles = cal.quantile_at(fitted["quantiles"], float(interval))[None, :]
        low, high = fitted["bounds"]

        def bounds(values: np.ndarray, difficulty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            width = difficulty[:, None] * quantiles
            lower, upper = values - width, values + width
            if low is not None:
                np.maximum(lower, low, out=lower)
            if high is not None:
                np.minimum(upper, high, out=upper)
            return lower.astype(np.float32), upper.astype(np.float32)

        return bounds

    def _confidence(self, job, spread: np.ndarray, obs: pd.DataFrame) -> np.ndarray | None:
        """Write ``translation_confidence`` and ``translation_novelty`` into ``obs`` (the
        cells of a job whose predictions have the per-cell ``spread``); the cells' difficulty,
        or ``None`` without a calibration.
        """
        source, target = self.modalities_[job.source], self.modalities_[job.target]
        fitted = self._calibration_of(source, target)
        if fitted is None:
            return None
        summary = self._summaries(job)
        distance = cal.knn_distance(self._reference_latent(source), summary.latent)
        hardness = cal.difficulty(
            fitted["difficulty"], cal.cell_features(summary, distance, spread)
        )
        confidence = cal.confidence(
            cal.p_values(fitted["calibration_difficulty"], hardness),
            cal.p_values(fitted["calibration_distance"], distance),
        )
        obs["translation_confidence"] = confidence.astype(np.float32)
        obs["translation_novelty"] = distance.astype(np.float32)
        return hardness

    # ------------------------------------------------------------------ annotation
    def _reference_neighbours(self, data, source: str, n_neighbors: int):
        """Each cell's nearest reference cells in ``source``'s latent space and their
        ``1 / distance`` weights (rows summing to 1).
        """
        from sklearn.neighbors import NearestNeighbors

        reference = self._reference_latent(source)
        latent = self.get_latent_representation(data, modality=source)
        k = min(check_positive_int(n_neighbors, name="n_neighbors"), len(reference))
        distance, neighbours = NearestNeighbors(n_neighbors=k).fit(reference).kneighbors(latent)
        weights = 1.0 / np.maximum(distance, 1e-6)
        weights /= weights.sum(axis=1, keepdims=True)
        return neighbours, weights

    def _place(self, adata: AnnData, neighbours: np.ndarray, weights: np.ndarray) -> None:
        umap = self.reference_["umap"]
        adata.obsm["X_reference_umap"] = (
            (weights[:, :, None] * umap[neighbours]).sum(axis=1).astype(np.float32)
        )

    def place_on_reference(
        self,
        data: AnnData | MuData,
        *,
        source: str,
        n_neighbors: int = ANNOTATION_NEIGHBOURS,
    ) -> None:
        """Place cells on the reference map without recomputing it: each cell's position is
        the ``1 / distance``-weighted mean of its ``n_neighbors`` nearest reference cells' (in
        the latent space of its ``source`` modality). Writes ``obsm["X_reference_umap"]`` of
        ``data`` (of ``data[source]`` for a MuData). Needs reference cells, not labels.
        """
        adata = data.mod[source] if isinstance(data, MuData) else data
        self._place(adata, *self._reference_neighbours(data, source, n_neighbors))

    def annotate(
        self,
        data: AnnData | MuData,
        *,
        source: str,
        n_neighbors: int = ANNOTATION_NEIGHBOURS,
        min_confidence: float = 0.5,
    ) -> None:
        """Label cells from the reference and place them on the reference map.

        Each cell's ``n_neighbors`` nearest reference cells in the latent space (from its
        ``source`` modality) vote on its cell type (weights ``1 / distance``); the share of
        the winning type is its confidence, and below ``min_confidence`` the type is
        ``"unknown"``. The cell's map position is the weighted mean of its neighbours'
        (:meth:`place_on_reference`).

        Writes ``obs["predicted_cell_type"]``, ``obs["predicted_cell_type_confidence"]`` and
        ``obsm["X_reference_umap"]`` of ``data`` (of ``data[source]`` for a MuData).
        """
        adata = data.mod[source] if isinstance(data, MuData) else data
        labels = (self.reference_ or {}).get("labels")
        if labels is None:
            raise invalid(
                "model",
                "reference cells with labels",
                "a reference without labels",
                "Run model.build_reference(mdata, label_key='cell_type').",
            )
        neighbours, weights = self._reference_neighbours(data, source, n_neighbors)
        categories, codes = np.unique(np.asarray(labels, dtype=object), return_inverse=True)
        votes = np.zeros((len(neighbours), len(categories)))
        np.add.at(
            votes,
            (np.repeat(np.arange(len(neighbours)), neighbours.shape[1]), codes[neighbours].ravel()),
            weights.ravel(),
        )
        best = votes.argmax(axis=1)
        share = votes[np.arange(len(neighbours)), best]
        names = np.where(share >= min_confidence, categories[best], "unknown")
        adata.obs["predicted_cell_type"] = pd.Categorical(names)
        adata.obs["predicted_cell_type_confidence"] = share.astype(np.float32)
        self._place(adata, neighbours, weights)


def _cells_in_memory(data: MuData, names) -> MuData:
    """The cells ``names`` of ``data`` as an in-memory MuData (also from a backed one, whose
    views cannot be copied without a file).
    """
    view = data[names]
    if not getattr(data, "isbacked", False):
        return view.copy()
    subset = MuData({m: view.mod[m].to_memory() for m in view.mod})
    subset.obs = subset.obs.join(view.obs.drop(columns=subset.obs.columns, errors="ignore"))
    return subset


def _labels(data: MuData, key: str) -> np.ndarray:
    if key in data.obs:
        return data.obs[key].astype(str).to_numpy()
    for adata in data.mod.values():
        if key in adata.obs:
            return adata.obs[key].astype(str).to_numpy()
    raise missing("label_key", "a column of obs (of the MuData or a modality)", repr(key))


def _dense(matrix) -> np.ndarray:
    """``matrix`` as a float32 array; a float32 array itself, not a copy."""
    array = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)
    return array.astype(np.float32, copy=False)


def _bounded_cells(cells: np.ndarray, n_features: int, seed: int) -> np.ndarray:
    """``cells``, or a random subset of them whose predictions fit the calibration's budget."""
    most = max(CALIBRATION_MIN_CELLS, CALIBRATION_MAX_VALUES // max(n_features, 1))
    if len(cells) <= most:
        return cells
    return np.random.default_rng(seed).choice(cells, size=most, replace=False)


__all__: list[Any] = ["TrustMixin"]
