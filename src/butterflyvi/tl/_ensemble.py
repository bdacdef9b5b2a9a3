"""A translation that blends the model with the simple predictors, weighted on validation
cells by the OpenProblems ``predict_modality`` score.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from anndata import AnnData
from mudata import MuData

from .._constants import TRANSLATION_UNS_KEY
from .._validation import check_choice, invalid, missing, wrong_type
from ..metrics import predict_modality, scaled_scores
from ._baselines import knn_translate, ridge_translate

#: Members an ensemble can blend.
MEMBERS = ("model", "ridge", "knn", "mean")
#: Global scales and value thresholds tried after the weights (RMSE and MAE depend on them,
#: the correlations do not).
SCALES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2)
THRESHOLD_QUANTILES = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9)
#: Validation cells and features the weights are scored on at most (a seeded subsample).
SEARCH_CELLS, SEARCH_FEATURES = 400, 3000


def _dense(matrix) -> np.ndarray:
    return (matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)).astype(np.float32)


def _validation_cells(reference: MuData, model, validation, fraction: float, seed: int):
    """Names of the reference cells the weights are chosen on (never trained on)."""
    names = reference.obs_names
    if validation is not None:
        chosen = (
            names[np.asarray(validation)]
            if np.asarray(validation).dtype.kind in "iu"
            else validation
        )
        return names[names.isin(list(chosen))]
    indices = getattr(model, "validation_indices", None) if model is not None else None
    if indices is not None and model.adata is not None and model.adata.obs_names.equals(names):
        if len(indices) == 0:
            raise invalid("model", "a model trained with validation cells", "none (train_size=1)")
        return names[np.sort(np.asarray(indices))]
    if not 0 < fraction < 1:
        raise invalid("validation_fraction", "a fraction in (0, 1)", repr(fraction))
    rng = np.random.default_rng(seed)
    n = max(2, round(fraction * len(names)))
    return names[np.sort(rng.choice(len(names), n, replace=False))]


class _Members:
    """The members' predictions of some cells, fitted on some reference cells."""

    def __init__(self, members, *, model, source, target, layer, target_layer, options):
        self.members = list(members)
        self.model, self.source, self.target = model, source, target
        self.layer, self.target_layer = layer, target_layer
        self.options = options

    def predict(self, query, reference: MuData) -> dict[str, np.ndarray]:
        out = {}
        common = {
            "reference": reference,
            "source": self.source,
            "target": self.target,
            "layer": self.layer,
            "target_layer": self.target_layer,
            "transductive": self.options["transductive"],
            "random_state": self.options["seed"],
        }
        for member in self.members:
            if member == "model":
                out[member] = _dense(
                    self.model.translate(query, source=self.source, threshold=0, layer=self.layer).X
                )
            elif member == "ridge":
                out[member] = _dense(ridge_translate(query, **common, **self.options["ridge"]).X)
            elif member == "knn":
                out[member] = _dense(knn_translate(query, **common, **self.options["knn"]).X)
            else:  # the reference's mean, every cell
                truth = _target(reference, self.target, self.target_layer)
                mean = np.asarray(truth.mean(axis=0)).ravel().astype(np.float32)
                out[member] = np.tile(mean, (_n_obs(query, self.source), 1))
        return out


def _target(reference: MuData, target: str, layer: str | None):
    adata = reference.mod[target]
    return adata.X if layer is None else adata.layers[layer]


def _n_obs(query, source: str) -> int:
    return query.mod[source].n_obs if isinstance(query, MuData) else query.n_obs


def _objective(truth: np.ndarray, reference_rows: np.ndarray, seed: int):
    """The scaled harness score of a candidate on the validation cells (controls: zeros, the
    training mean, random training rows, the truth itself).
    """
    rng = np.random.default_rng(seed)
    controls = {
        "zeros": predict_modality(np.zeros_like(truth), truth),
        "mean_per_gene": predict_modality(np.tile(reference_rows.mean(0), (len(truth), 1)), truth),
        "random_predict": predict_modality(
            reference_rows[rng.integers(0, len(reference_rows), len(truth))], truth
        ),
        "solution": predict_modality(truth, truth),
    }

    def score(prediction: np.ndarray) -> float:
        scores = {**controls, "candidate": predict_modality(prediction, truth)}
        return scaled_scores(scores)["candidate"]["mean"]

    return score


def _finish(blend: np.ndarray, scale: float, threshold: float) -> np.ndarray:
    out = blend * scale
    if threshold > 0:
        out[out < threshold] = 0.0
    return out


def _choose(predictions: dict[str, np.ndarray], truth: np.ndarray, score, step: float, nonneg):
    """Weights on the simplex (grid ``step``), then a scale and a value threshold."""
    names = list(predictions)
    grid = np.round(np.arange(0, 1 + 1e-9, step), 6)
    best = (-np.inf, None)
    for weights in itertools.product(grid, repeat=len(names)):
        if abs(sum(weights) - 1) > 1e-6:
            continue
        blend = sum(w * predictions[n] for w, n in zip(weights, names, strict=True))
        value = score(blend)
        if value > best[0]:
            best = (value, dict(zip(names, map(float, weights), strict=True)))
    weights = best[1]
    blend = sum(weights[n] * predictions[n] for n in names)
    positive = blend[blend > 0]
    thresholds = (
        sorted(
            {
                float(np.quantile(positive, q)) if q > 0 and len(positive) else 0.0
                for q in THRESHOLD_QUANTILES
            }
        )
        if nonneg
        else [0.0]
    )
    best_finish = (-np.inf, 1.0, 0.0)
    for scale in SCALES:
        for threshold in thresholds:
            value = score(_finish(blend, scale, threshold * scale))
            if value > best_finish[0]:
                best_finish = (value, scale, threshold * scale)
    return weights, best_finish[1], best_finish[2], best_finish[0]


def ensemble_translate(
    data: AnnData | MuData,
    *,
    reference: MuData,
    source: str,
    target: str | None = None,
    model=None,
    members: Sequence[str] | None = None,
    validation: Sequence | np.ndarray | None = None,
    validation_fraction: float = 0.15,
    layer: str | None = None,
    target_layer: str | None = None,
    transductive: bool = False,
    ridge_kwargs: dict[str, Any] | None = None,
    knn_kwargs: dict[str, Any] | None = None,
    step: float = 0.1,
    random_state: int = 0,
    add_to_mdata: bool = False,
    key_added: str | None = None,
) -> AnnData:
    """Translate with a blend of a model and the simple predictors, weighted on validation
    cells.

    Each member — ``"model"`` (``model.translate``), ``"ridge"`` (:func:`ridge_translate`),
    ``"knn"`` (:func:`knn_translate`), ``"mean"`` (the reference's mean profile) — predicts
    the validation cells of ``reference`` from the other reference cells (the model never
    trained on them). Weights on the simplex (grid ``step``), then a global scale and a value
    threshold (small predicted values set to 0, for non-negative targets), are chosen to
    maximise the OpenProblems ``predict_modality`` score on those cells: its eight metrics,
    each scaled between the controls zeros / training mean / random training cells / the
    truth, averaged (:func:`butterflyvi.metrics.scaled_scores`). The simple predictors are then
    fitted on all reference cells and the blend is applied to ``data``.

    Parameters
    ----------
    data
        Cells to translate (a MuData with ``source``, or an AnnData of it).
    reference
        Paired cells (``source`` and ``target``), e.g. the model's training MuData.
    source, target
        Modalities of ``reference`` (``target``: the other one by default).
    model
        A trained :class:`~butterflyvi.ButterflyModel` translating ``source`` into
        ``target`` (needed by the ``"model"`` member).
    members
        Members to blend (default: all four when a model is given, else the others).
    validation
        Reference cells (names or positions) to choose the weights on. Default: the model's
        validation cells when it was trained on ``reference``, else a random
        ``validation_fraction`` of the reference (then a model given must not have trained on
        them).
    validation_fraction
        Share of reference cells held out when no validation cells are known.
    layer, target_layer
        Layers of the source and target values (``None``: ``X``).
    transductive
        Fit the simple predictors' source SVD on the query cells too (as the NeurIPS 2021
        winners did).
    ridge_kwargs, knn_kwargs
        Options of :func:`ridge_translate` and :func:`knn_translate`.
    step
        Grid step of the weights.
    random_state
        Seed of the validation draw, the predictors and the search subsample.
    add_to_mdata, key_added
        As in ``model.translate``.

    Returns
    -------
    AnnData of ``data``'s cells in the target's features (CSR float32), with
    ``uns["butterflyvi_translation"]`` recording the weights, scale, threshold and the
    validation score of each member and of the blend.
    """
    if not isinstance(reference, MuData):
        raise wrong_type("reference", "a MuData of paired cells", reference)
    members = list(members or (MEMBERS if model is not None else MEMBERS[1:]))
    for member in members:
        check_choice(member, name="members", choices=MEMBERS)
    if "model" in members and model is None:
        raise missing("model", "a trained ButterflyModel for the 'model' member", "None")
    if source not in reference.mod:
        raise missing("source", f"a modality of reference {list(reference.mod)}", repr(source))
    target = target or next(m for m in reference.mod if m != source)
    options = {
        "transductive": bool(transductive),
        "seed": int(random_state),
        "ridge": dict(ridge_kwargs or {}),
        "knn": dict(knn_kwargs or {}),
    }
    predictor = _Members(
        members,
        model=model,
        source=source,
        target=target,
        layer=layer,
        target_layer=target_layer,
        options=options,
    )
    held = _validation_cells(reference, model, validation, validation_fraction, random_state)
    fitted = reference[~reference.obs_names.isin(held)].copy()
    on_validation = predictor.predict(reference[held].copy(), fitted)
    truth_full = _dense(_target(reference[held], target, target_layer))
    rng = np.random.default_rng(random_state)
    rows = np.sort(rng.choice(len(held), min(SEARCH_CELLS, len(held)), replace=False))
    cols = np.sort(
        rng.choice(truth_full.shape[1], min(SEARCH_FEATURES, truth_full.shape[1]), replace=False)
    )
    truth = truth_full[np.ix_(rows, cols)]
    reference_rows = _dense(_target(fitted, target, target_layer))[:, cols]
    score = _objective(truth, reference_rows, random_state)
    subset = {name: values[np.ix_(rows, cols)] for name, values in on_validation.items()}
    nonneg = float(_dense(_target(fitted, target, target_layer)).min()) >= 0
    weights, scale, threshold, value = _choose(subset, truth, score, step, nonneg)
    member_scores = {name: score(values) for name, values in subset.items()}
    blend = sum(weights[n] * p for n, p in predictor.predict(data, reference).items())
    prediction = _finish(blend, scale, threshold)
    query = data.mod[source] if isinstance(data, MuData) else data
    out = AnnData(
        X=sp.csr_matrix(prediction.astype(np.float32)),
        obs=query.obs.copy(),
        var=reference.mod[target].var[[]].copy(),
    )
    out.uns[TRANSLATION_UNS_KEY] = {
        "source": source,
        "target": target,
        "method": "ensemble",
        "weights": weights,
        "scale": scale,
        "threshold": threshold,
        "validation_cells": len(held),
        "validation_score": value,
        "member_validation_scores": member_scores,
    }
    if isinstance(data, MuData) and add_to_mdata:
        from ..model._inference import add_prediction

        add_prediction(data, out, key_added or f"{target}_from_{source}")
    return out
