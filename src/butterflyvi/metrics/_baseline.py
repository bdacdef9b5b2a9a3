"""The trivial baseline reported beside every model: each feature's training mean."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ._inputs import as_table, check_finite

#: Largest baseline (cells × features) returned by default; see :func:`baseline_mean`.
MAX_BASELINE_ENTRIES = 100_000_000


def baseline_mean(
    train: Any,
    n_obs: int,
    *,
    obs_names: Sequence[str] | pd.Index | None = None,
    layer: str | None = None,
    max_entries: int = MAX_BASELINE_ENTRIES,
) -> AnnData:
    r"""Predict every cell as the per-feature mean of the training cells.

    .. math:: \hat x_{ij} = \bar x_j = \frac{1}{n_\text{train}} \sum_{k} x^\text{train}_{kj}

    for each of the ``n_obs`` cells :math:`i`. Evaluated with the same metrics as a model, it
    tells how much of a score comes for free: its per-cell correlations and all-entries
    AUROC reflect only how features differ on average, its per-peak AUROC is exactly 0.5 and
    its per-feature correlations are undefined (each feature is constant across cells).

    Parameters
    ----------
    train
        Training cells × features (AnnData, numpy array or scipy sparse matrix), on the scale
        the metrics compare (e.g. log-normalised RNA, binarised or TF-IDF ATAC).
    n_obs
        Number of cells to predict.
    obs_names
        Names of the predicted cells, e.g. ``test.obs_names`` so that the metrics align the
        baseline with ``test`` by name (they refuse differing names). Default ``"0"``, ``"1"``…
    layer
        Layer of ``train`` to use instead of ``X``.
    max_entries
        Refuse a baseline with more than this many entries (default 10^8).

    Returns
    -------
    AnnData
        ``n_obs`` × features, ``var`` copied from ``train`` (when an AnnData), float32. ``X``
        is a read-only broadcast of the mean vector (:func:`numpy.broadcast_to`, zero row
        stride), so it takes one row of memory; slicing keeps it that way, while ``.copy()``
        or writing to disk materialises ``n_obs × n_features × 4`` bytes, as do the
        all-entries AUROC/AUPR of :func:`accessibility` (they sort every entry). Hence the
        ``max_entries`` limit: above it, evaluate per block of test cells (call this function
        once per block, with that block's ``obs_names``). ``uns["butterflyvi_baseline"]``
        records the kind and the number of training cells.

    """
    table = as_table(train, name="train", layer=layer)
    n_train, n_features = table.shape
    if n_train == 0:
        raise ValueError("train: expected at least one training cell, found none.")
    if int(n_obs) != n_obs or n_obs < 1:
        raise ValueError(f"n_obs: expected a positive integer, found {n_obs!r}.")
    n_obs = int(n_obs)
    if n_obs * n_features > max_entries:
        raise ValueError(
            f"n_obs: expected a baseline of at most max_entries={max_entries:,} entries, found "
            f"{n_obs} × {n_features} = {n_obs * n_features:,}. Evaluate it per block of test cells "
            "(call `baseline_mean(train, len(block), obs_names=block.obs_names)` for each "
            "block and combine the per-cell values), or raise `max_entries` if memory allows."
        )
    if obs_names is not None:
        obs_names = pd.Index(obs_names).astype(str)
        if len(obs_names) != n_obs:
            raise ValueError(
                f"obs_names: expected one name per predicted cell ({n_obs}), found "
                f"{len(obs_names)}."
            )
    check_finite(table.X, name="train")

    if sparse.issparse(table.X):
        total = np.asarray(table.X.sum(axis=0, dtype=np.float64)).ravel()
    else:
        total = np.asarray(table.X).sum(axis=0, dtype=np.float64)
    mean = (total / n_train).astype(np.float32)
    X = np.broadcast_to(mean[None, :], (n_obs, n_features))

    var = _var_of(train, n_features)
    obs = pd.DataFrame(
        index=obs_names if obs_names is not None else pd.RangeIndex(n_obs).astype(str)
    )
    out = AnnData(X=X, obs=obs, var=var)
    out.uns["butterflyvi_baseline"] = {"kind": "training_mean", "n_train": int(n_train)}
    return out


def _var_of(train: Any, n_features: int) -> pd.DataFrame:
    """Return a copy of ``train.var`` for an AnnData, else plain feature names."""
    if isinstance(train, AnnData):
        return train.var.copy()
    return pd.DataFrame(index=pd.RangeIndex(n_features).astype(str))
