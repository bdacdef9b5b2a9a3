"""The regressors of the simple baselines: ensembles of kNN and (kernel) ridge fits.

They map rows of a low-rank input space to rows of a low-rank target space; the data
handling lives in :mod:`._baselines`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.neighbors import KNeighborsRegressor


def knn_ensemble(
    Z_train: np.ndarray,
    W_train: np.ndarray,
    Z_query: np.ndarray,
    *,
    n_neighbors: int,
    n_folds: int,
    random_state: int,
) -> np.ndarray:
    """Mean of ``n_folds`` kNN regressions, each fitted on all training rows but one fold.

    With ``n_folds=1`` one regression on all rows.
    """
    if n_folds == 1:
        folds = [np.arange(Z_train.shape[0])]
    else:
        splitter = KFold(n_splits=n_folds, shuffle=True, random_state=random_state)
        folds = [fit_rows for fit_rows, _ in splitter.split(Z_train)]
    prediction = np.zeros((Z_query.shape[0], W_train.shape[1]))
    for rows in folds:
        k = min(n_neighbors, len(rows))
        regressor = KNeighborsRegressor(n_neighbors=k).fit(Z_train[rows], W_train[rows])
        prediction += regressor.predict(Z_query)
    return prediction / len(folds)


def ridge_ensemble(
    Z_train: np.ndarray,
    W_train: np.ndarray,
    Z_query: np.ndarray,
    *,
    kernel: Literal["rbf", "linear"],
    alpha: float,
    length_scale: float,
    n_fits: int,
    groups: np.ndarray | None,
    max_cells: int | None,
    random_state: int,
) -> np.ndarray:
    """Mean of ``n_fits`` ridge regressions, each on one half of the training groups.

    The groups (batches, donors; every cell its own group when ``groups`` is ``None``) are
    shuffled and halved, both halves fitted, and that repeated ``n_fits / 2`` times; with
    one group, each fit uses all rows. A half with more than ``max_cells`` rows is
    subsampled (the RBF kernel matrix grows with the square of the rows).
    """
    rng = np.random.default_rng(random_state)
    labels = np.arange(Z_train.shape[0]) if groups is None else np.asarray(groups)
    unique = np.unique(labels)
    subsets: list[np.ndarray] = []
    while len(subsets) < n_fits:
        if len(unique) == 1:
            subsets.append(np.arange(len(labels)))
            continue
        shuffled = rng.permutation(unique)
        half = len(shuffled) // 2
        for chosen in (shuffled[:half], shuffled[half:]):
            subsets.append(np.flatnonzero(np.isin(labels, chosen)))
    prediction = np.zeros((Z_query.shape[0], W_train.shape[1]))
    for rows in subsets[:n_fits]:
        if max_cells is not None and len(rows) > max_cells:
            rows = np.sort(rng.choice(rows, size=max_cells, replace=False))
        if kernel == "rbf":
            regressor = KernelRidge(alpha=alpha, kernel="rbf", gamma=1.0 / (2.0 * length_scale**2))
        else:
            regressor = Ridge(alpha=alpha)
        regressor.fit(Z_train[rows], W_train[rows])
        prediction += regressor.predict(Z_query)
    return prediction / n_fits
