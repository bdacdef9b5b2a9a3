"""How far to trust a translation: split-conformal intervals made adaptive by a per-cell
difficulty, a per-cell confidence, and calibrated probabilities for binary targets.

Fitted on cells the model never trained on (its validation cells, or any paired cells given to
``calibrate``), split in two halves: half A fits the difficulty model (and, for a binary
target, a Platt scaling of the probabilities); half B gives the conformal quantiles and the
reference distributions of the confidence. Everything is stored as plain arrays (saved with
the model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: Interval levels a calibration stores quantiles for (others are interpolated).
LEVELS = np.array([0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99])
#: Reference cells whose latent means the novelty distance is measured against.
K_NEIGHBOURS = 15
#: Per-cell features of the difficulty model (``cell_features``).
FEATURES = ("knn_distance", "posterior_log_variance", "source_error", "spread", "source_total")


@dataclass
class CellSummary:
    """What a pass over some cells of one source modality tells about each cell."""

    latent: np.ndarray
    log_variance: np.ndarray
    source_error: np.ndarray
    source_total: np.ndarray

    @classmethod
    def from_blocks(cls, blocks: list[np.ndarray]) -> CellSummary:
        """From the rows of ``ButterflyModule.cell_summary`` with the source total appended."""
        rows = np.concatenate(blocks, axis=0)
        return cls(rows[:, :-3], rows[:, -3], rows[:, -2], rows[:, -1])


def knn_distance(reference: np.ndarray, latent: np.ndarray, k: int = K_NEIGHBOURS) -> np.ndarray:
    """Mean Euclidean distance of each latent point to its ``k`` nearest reference points."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(reference))
    index = NearestNeighbors(n_neighbors=k).fit(reference.astype(np.float32))
    return index.kneighbors(latent.astype(np.float32))[0].mean(axis=1)


def spread(prediction, binary: bool, rows_per_block: int = 4096) -> np.ndarray:
    """Per cell: mean ``p (1 - p)`` of a probability prediction, else mean ``|prediction|``.

    Summed in float64 (so a dense and a CSR prediction agree) over blocks of rows, so that no
    float64 copy of the prediction is made.
    """
    out = np.empty(prediction.shape[0], dtype=np.float64)
    for start in range(0, prediction.shape[0], rows_per_block):
        block = prediction[start : start + rows_per_block]
        stop = start + block.shape[0]
        if sp.issparse(block):
            block = sp.csr_matrix(block)
            data = block.data.astype(np.float64)
            terms = sp.csr_matrix(
                (data * (1 - data) if binary else np.abs(data), block.indices, block.indptr),
                shape=block.shape,
            )
            out[start:stop] = np.asarray(terms.sum(axis=1)).ravel() / block.shape[1]
        else:
            values = np.asarray(block)
            terms = values * (1 - values) if binary else np.abs(values)
            out[start:stop] = terms.sum(axis=1, dtype=np.float64) / block.shape[1]
    return out


def cell_features(summary: CellSummary, distance: np.ndarray, spread_: np.ndarray):
    """The difficulty model's inputs, one row per cell (:data:`FEATURES`; ``spread_`` from
    :func:`spread`).
    """
    eps = 1e-6
    return np.column_stack(
        [
            np.log(distance + eps),
            summary.log_variance,
            np.log(summary.source_error + eps),
            np.log(spread_ + eps),
            np.log1p(np.maximum(summary.source_total, 0)),
        ]
    )


def fit_difficulty(features: np.ndarray, errors: np.ndarray, ridge: float = 1e-2) -> dict:
    """A ridge regression of log per-cell error on the standardised features."""
    mean, sd = features.mean(axis=0), features.std(axis=0)
    sd[sd == 0] = 1.0
    X = np.column_stack([np.ones(len(features)), (features - mean) / sd])
    y = np.log(errors + 1e-6)
    penalty = ridge * np.eye(X.shape[1])
    penalty[0, 0] = 0.0
    coef = np.linalg.solve(X.T @ X + penalty, X.T @ y)
    return {"mean": mean, "sd": sd, "coef": coef}


def difficulty(model: dict, features: np.ndarray) -> np.ndarray:
    """Each cell's predicted typical error (positive)."""
    X = np.column_stack([np.ones(len(features)), (features - model["mean"]) / model["sd"]])
    return np.exp(np.clip(X @ model["coef"], -30, 30))


def conformal_quantiles(scores: np.ndarray, levels: np.ndarray = LEVELS) -> np.ndarray:
    """``(len(levels), n_features)`` quantiles of each feature's scores (cells × features) at
    the finite-sample conformal levels ``ceil((n + 1) level) / n`` (the largest score when that
    exceeds 1).
    """
    n = scores.shape[0]
    ordered = np.sort(scores, axis=0)
    ranks = np.minimum(np.ceil((n + 1) * levels).astype(int), n) - 1
    return ordered[ranks].astype(np.float32)


def quantile_at(table: np.ndarray, level: float, levels: np.ndarray = LEVELS) -> np.ndarray:
    """The per-feature quantile at ``level`` (linear between the stored levels)."""
    if not levels[0] <= level <= levels[-1]:
        raise ValueError(
            f"interval: expected a level in [{levels[0]}, {levels[-1]}], found {level!r}."
        )
    upper = int(np.searchsorted(levels, level))
    if levels[upper] == level:
        return table[upper]
    low, high = levels[upper - 1], levels[upper]
    w = (level - low) / (high - low)
    return (1 - w) * table[upper - 1] + w * table[upper]


def p_values(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Conformal p-values ``(1 + #{reference ≥ value}) / (n + 1)`` (``reference`` sorted)."""
    n = len(reference)
    greater = n - np.searchsorted(reference, values, side="left")
    return (1.0 + greater) / (n + 1.0)


#: Novelty p-values below this cap the confidence (cells further from the reference than all
#: but this share of calibration cells). 0.2 trades ranking cells by their error against
#: flagging an unseen type; it was picked on the bundled demo with astrocytes left out (the
#: cells tests/model/test_trust.py checks), without a separate validation split or a record.
NOVELTY_LEVEL = 0.2


def confidence(p_difficulty: np.ndarray, p_novelty: np.ndarray) -> np.ndarray:
    """A cell's confidence: the conformal p-value of its predicted difficulty (ranks cells by
    their expected error), capped where the cell is unusually far from every reference cell
    (its novelty p-value over :data:`NOVELTY_LEVEL`), so that cells unlike the training data
    are flagged even when the difficulty model does not see it.
    """
    return np.minimum(p_difficulty, np.minimum(1.0, p_novelty / NOVELTY_LEVEL))


def fit_platt(probabilities: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``(a, b)`` of ``sigmoid(a · logit(p) + b)`` fitted by log-loss (Newton's method)."""
    logit = np.log(np.clip(probabilities, 1e-6, 1 - 1e-6) / np.clip(1 - probabilities, 1e-6, 1))
    X = np.column_stack([logit, np.ones_like(logit)])
    w = np.array([1.0, 0.0])
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(X @ w, -30, 30)))
        gradient = X.T @ (p - truth)
        hessian = (X * (p * (1 - p))[:, None]).T @ X + 1e-6 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def platt(probabilities: np.ndarray, params) -> np.ndarray:
    """Probabilities after the Platt scaling ``params`` (``(a, b)``)."""
    a, b = float(params[0]), float(params[1])
    logit = np.log(np.clip(probabilities, 1e-7, 1 - 1e-7) / np.clip(1 - probabilities, 1e-7, 1))
    return 1 / (1 + np.exp(-np.clip(a * logit + b, -30, 30)))


def split_halves(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two halves of ``n`` calibration cells (A fits, B calibrates)."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2 :])
