"""Pseudo-pairs of unpaired (diagonal) single-modality data sharing cell types."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from mudata import MuData

from .._validation import MissingKeyError, check_seed
from ._assemble import labels_to_str_keys, pairs_to_mudata
from ._checks import check_in_memory, check_mod_names

logger = logging.getLogger(__name__)

PSEUDO_PAIR = "pseudo_pair"


def pair_unpaired(
    adata_x: AnnData,
    adata_y: AnnData,
    *,
    groupby: str = "cell_type",
    seed: int | None = 0,
    mod_names: Sequence[str] = ("rna", "atac"),
    n_pairs: int | None = None,
) -> MuData:
    r"""Draw pseudo-pairs of cells of the same type from two unpaired datasets.

    For unpaired (diagonal) data: ``adata_x`` and ``adata_y`` measure one modality each, in
    different cells, labelled with shared cell types. Only types present in both are paired
    (scButterfly). With :math:`n_x`, :math:`n_y` cells and type fractions
    :math:`s^x_i = n^x_i / n_x`, :math:`s^y_i = n^y_i / n_y` (counted over the labelled
    cells), shared type *i* gets the share

    .. math:: s_i = (s^x_i + s^y_i) / \sum_{k\ \text{shared}} (s^x_k + s^y_k)

    and ``floor(s_i * (n_x + n_y) / 2 + 0.5)`` pairs (nearest integer, halves up), or, when
    ``n_pairs`` is given, a share of ``n_pairs`` by largest remainders (so they sum to exactly
    ``n_pairs``). Each pair joins an X cell and a Y cell of type *i*, each drawn uniformly
    at random with replacement (a cell may appear in several pairs).

    Parameters
    ----------
    adata_x, adata_y
        Single-modality data of different cells, each with obs column ``groupby``. Not
        modified.
    groupby
        The obs column with the shared cell types (in both inputs). Cells with a missing
        (NaN) label are not paired.
    seed
        Seed of the random generator; the same seed gives the same pairs.
    mod_names
        Names of the two modalities of the result, for ``adata_x`` and ``adata_y``.
    n_pairs
        Total number of pairs; ``None`` for ``(n_x + n_y) / 2`` as in scButterfly.

    Returns
    -------
    A new MuData with modalities ``mod_names``, holding identical obs_names
    ``"{x_cell}+{y_cell}#p{k}"`` (k the pair's position), pairs grouped by type in the order
    of first appearance in ``adata_x``. Each modality holds the rows of its source cells
    (X, every layer, obsm, obs columns) and copies of var, varm, varp and uns. ``obs`` holds
    ``"butterflyvi_origin"`` (``"pseudo_pair"``), ``groupby`` (the pair's type) and
    ``"butterflyvi_source_cell_<mod>"`` for each modality. ``uns["butterflyvi_pairing"]`` is a dict with
    ``"method"``, ``"groupby"``, ``"seed"``, ``"shared_types"``, ``"dropped_types"``
    (``{mod: [types of that side with no counterpart]}``), ``"n_cells_per_type"``
    (``{mod: {type: cells}}``), ``"n_pairs_per_type"`` (``{type: pairs}``) and
    ``"n_unlabelled"`` (``{mod: cells}``); type names are stored as strings. Dropped types
    are also reported by a logged warning.

    Raises
    ------
    KeyError
        If ``groupby`` is missing from either input.
    ValueError
        If the inputs share no type, obs_names repeat, or an argument is out of range.

    Examples
    --------
    >>> mdata_pairs = bf.tl.pair_unpaired(rna, atac, groupby="cell_type", seed=0)
    """
    seed = check_seed(seed)
    mod_x, mod_y = check_mod_names(mod_names)
    if n_pairs is not None and (
        isinstance(n_pairs, bool) or not isinstance(n_pairs, int | np.integer) or n_pairs < 1
    ):
        raise ValueError(f"n_pairs: expected a positive integer or None, found {n_pairs!r}.")
    labels = {}
    for arg, mod, adata in (("adata_x", mod_x, adata_x), ("adata_y", mod_y, adata_y)):
        if not isinstance(adata, AnnData):
            raise TypeError(f"{arg}: expected an AnnData, found {type(adata).__name__}.")
        check_in_memory(adata, name=arg)
        if not adata.obs_names.is_unique:
            raise ValueError(
                f"{arg}: expected unique obs_names, found repeats; make them unique first."
            )
        if groupby not in adata.obs.columns:
            raise MissingKeyError(
                f"groupby: expected a column of {arg}.obs ({list(adata.obs.columns)}), found "
                f"{groupby!r}."
            )
        labels[mod] = adata.obs[groupby]

    counts = {mod: labels[mod].value_counts(sort=False, dropna=True) for mod in labels}
    counts = {mod: c[c > 0] for mod, c in counts.items()}
    order = pd.unique(labels[mod_x].dropna().to_numpy())
    shared = [t for t in order if t in counts[mod_y].index]
    dropped = {
        mod_x: [t for t in order if t not in counts[mod_y].index],
        mod_y: [
            t for t in pd.unique(labels[mod_y].dropna().to_numpy()) if t not in counts[mod_x].index
        ],
    }
    if not shared:
        raise ValueError(
            f"adata_x, adata_y: expected shared {groupby!r} labels, found none: {mod_x} has "
            f"{list(counts[mod_x].index)}, {mod_y} has {list(counts[mod_y].index)}."
        )
    if dropped[mod_x] or dropped[mod_y]:
        logger.warning(
            "pair_unpaired: types without a counterpart are not paired: %s only: %s; %s only: %s.",
            mod_x,
            dropped[mod_x],
            mod_y,
            dropped[mod_y],
        )

    n_x, n_y = int(counts[mod_x].sum()), int(counts[mod_y].sum())
    share = np.array(
        [counts[mod_x].loc[t] / n_x + counts[mod_y].loc[t] / n_y for t in shared], dtype=np.float64
    )
    share /= share.sum()
    per_type = _pair_counts(share, n_x=n_x, n_y=n_y, n_pairs=n_pairs)

    rng = np.random.default_rng(seed)
    codes = {mod: _codes(labels[mod], shared) for mod in labels}
    idx_x, idx_y, pair_type = [], [], []
    for t, (label, n_t) in enumerate(zip(shared, per_type, strict=True)):
        if n_t == 0:
            continue
        idx_x.append(rng.choice(np.flatnonzero(codes[mod_x] == t), size=n_t, replace=True))
        idx_y.append(rng.choice(np.flatnonzero(codes[mod_y] == t), size=n_t, replace=True))
        pair_type.append(np.repeat(np.array([label], dtype=object), n_t))
    pos_x, pos_y = np.concatenate(idx_x), np.concatenate(idx_y)
    types = np.concatenate(pair_type)

    names_x = adata_x.obs_names.to_numpy()[pos_x].astype(str)
    names_y = adata_y.obs_names.to_numpy()[pos_y].astype(str)
    obs_names = [f"{a}+{b}#p{k}" for k, (a, b) in enumerate(zip(names_x, names_y, strict=True))]
    record = {
        "method": "pair_unpaired",
        "groupby": groupby,
        "shared_types": [str(t) for t in shared],
        "dropped_types": {mod: [str(t) for t in dropped[mod]] for mod in (mod_x, mod_y)},
        "n_cells_per_type": {mod: labels_to_str_keys(counts[mod].to_dict()) for mod in counts},
        "n_pairs_per_type": labels_to_str_keys(dict(zip(shared, per_type, strict=True))),
        "n_unlabelled": {mod: int(labels[mod].isna().sum()) for mod in labels},
    }
    if seed is not None:
        record["seed"] = seed
    return pairs_to_mudata(
        {mod_x: (adata_x, pos_x), mod_y: (adata_y, pos_y)},
        obs_names=obs_names,
        origin=PSEUDO_PAIR,
        obs={groupby: pd.Categorical(types, categories=shared)},
        record=record,
    )


def _pair_counts(share: np.ndarray, *, n_x: int, n_y: int, n_pairs: int | None) -> np.ndarray:
    """Return the number of pairs per type: rounded shares of ``(n_x+n_y)/2`` or ``n_pairs``."""
    if n_pairs is None:
        return np.floor(share * (n_x + n_y) / 2 + 0.5).astype(np.int64)
    exact = share * n_pairs
    base = np.floor(exact).astype(np.int64)
    remainder = int(n_pairs - base.sum())
    # Largest remainders first; ties broken by type order (stable sort).
    extra = np.argsort(-(exact - base), kind="stable")[:remainder]
    base[extra] += 1
    return base


def _codes(labels: pd.Series, shared: list) -> np.ndarray:
    """Return, per cell, the position of its label in ``shared`` (-1 if absent or NaN)."""
    return pd.Index(shared).get_indexer(labels.astype(object).to_numpy())
