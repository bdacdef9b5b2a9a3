"""Low-rank (truncated SVD) views of a training matrix, for the baseline predictors."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD


class LowRank:
    """Truncated SVD fitted on training rows; the identity when the matrix is already narrow.

    Parameters
    ----------
    n_components
        Components kept. With at least as many as the matrix has columns minus one (a small
        protein panel, say) no SVD is fitted and the columns are used as they are.
    random_state
        Seed of the randomised SVD.
    """

    def __init__(self, n_components: int, random_state: int = 0):
        self.n_components = n_components
        self.random_state = random_state
        self.svd: TruncatedSVD | None = None

    def fit(self, X) -> LowRank:
        """Fit on ``X`` (cells × features, dense or sparse)."""
        n_obs, n_vars = X.shape
        k = min(self.n_components, n_obs - 1, n_vars - 1)
        if k >= 1 and self.n_components < n_vars:
            self.svd = TruncatedSVD(
                n_components=k, algorithm="randomized", n_iter=7, random_state=self.random_state
            )
            self.svd.fit(X)
        return self

    @property
    def n_dims(self) -> int | None:
        """Dimensions of the transformed rows (``None``: those of the input)."""
        return None if self.svd is None else self.svd.n_components

    def transform(self, X) -> np.ndarray:
        """Rows of ``X`` in the low-rank space (float64)."""
        if self.svd is None:
            return X.toarray().astype(np.float64) if sp.issparse(X) else np.asarray(X, float)
        return self.svd.transform(X)

    def inverse(self, Z: np.ndarray) -> np.ndarray:
        """Rows back in the original feature space."""
        return Z if self.svd is None else Z @ self.svd.components_


def standardise_rows(Z: np.ndarray) -> np.ndarray:
    """Each row centred and scaled to unit standard deviation (constant rows only centred)."""
    sd = Z.std(axis=1, keepdims=True)
    sd[sd == 0] = 1.0
    return (Z - Z.mean(axis=1, keepdims=True)) / sd
