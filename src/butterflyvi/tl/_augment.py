"""scButterfly-T: augmentation of paired data by re-pairing cells within a group."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from mudata import MuData

from .._constants import GROUP_KEY, ROUND_KEY
from .._validation import check_seed
from ._assemble import pairs_to_mudata
from ._checks import paired_positions, resolve_modalities, resolve_obs_column

MEASURED = "measured"
AUGMENTED = "augmented"


def augment(
    mdata: MuData,
    *,
    groupby: str = "cell_type",
    rounds: int = 2,
    seed: int | None = 0,
    modalities: Sequence[str] | None = None,
) -> MuData:
    """Augment paired data with new pairs made within groups (scButterfly-T).

    The measured pairs are kept. Then, for each round and each group of ``groupby``, the
    cells of the group are shuffled and modality X of each cell is paired with modality Y
    of the cell it was shuffled onto. The shuffle is a random *derangement*: no cell is
    paired with itself, so every augmented pair is a new pair (the original scButterfly
    code used a plain shuffle, which occasionally reproduces a measured pair). The same new
    pair can be drawn in two rounds (always so for groups of two cells).

    Parameters
    ----------
    mdata
        Paired data: the two modalities hold the same cells (matched by obs_names; their row
        order may differ). Not modified.
    groupby
        Group labels (cell types, or clusters from :func:`cluster_for_augmentation`): a column
        of ``mdata.obs``, ``"mod:column"`` of a modality's obs, or a column name found in the
        obs of the modalities.
    rounds
        Number of augmentation rounds (scButterfly: 2, which triples the training pairs).
    seed
        Seed of the random generator; the same seed gives the same pairs.
    modalities
        The two modalities ``(x, y)`` to pair; ``None`` for the two modalities of ``mdata``.

    Returns
    -------
    A new MuData with the two modalities, holding identical obs_names in the same order:
    first the measured pairs (named as the cells, in the row order of modality x), then the
    pairs of round 1, 2, … (named ``"{x_cell}+{y_cell}#r{round}"``, ordered by x cell). Each
    modality holds the rows of its source cells: X, every layer, obsm and obs columns, plus
    copies of var, varm, varp and uns (so the fitted preprocessing state travels along).
    ``obs`` (MuData level) holds:

    - ``"butterflyvi_origin"``: ``"measured"`` or ``"augmented"`` (categorical);
    - ``"butterflyvi_round"``: 0 for measured pairs, else the round;
    - ``"butterflyvi_source_cell_<mod>"`` for each modality: the name of the source cell;
    - ``"butterflyvi_group"``: the group label of the pair.

    ``uns["butterflyvi_pairing"]`` records the method, the arguments, the number of measured and
    augmented pairs and of unlabelled cells.

    With n cells, there are ``n + rounds * m`` pairs, where m counts the labelled cells in
    groups of at least two cells: cells with a missing (NaN) label keep only their measured
    pair (a warning gives their number), and a group of one cell gets no new pair (it could
    only repeat the measured one). So there are ``(1 + rounds) * n`` pairs when every cell
    is labelled and no group is a singleton.

    Raises
    ------
    KeyError
        If ``groupby`` is not an obs column (the message lists the available columns) or a
        modality is not in ``mdata``.
    ValueError
        If the modalities are not paired, ``rounds`` is negative or ``modalities`` is invalid.

    Examples
    --------
    >>> mdata_aug = bf.tl.augment(mdata, groupby="cell_type", rounds=2, seed=0)
    """
    if isinstance(rounds, bool) or not isinstance(rounds, int | np.integer) or rounds < 0:
        raise ValueError(f"rounds: expected a non-negative integer, found {rounds!r}.")
    seed = check_seed(seed)
    mod_x, mod_y = resolve_modalities(mdata, modalities)
    cells, pos_x, pos_y = paired_positions(mdata, mod_x, mod_y)
    labels = resolve_obs_column(mdata, groupby, cells, arg="groupby")

    codes, _ = pd.factorize(labels, use_na_sentinel=True)
    n_unlabelled = int((codes < 0).sum())
    if n_unlabelled:
        warnings.warn(
            f"{n_unlabelled} of {len(cells)} cells have no {groupby!r} label (NaN); they keep "
            "only their measured pair.",
            UserWarning,
            stacklevel=2,
        )

    rng = np.random.default_rng(seed)
    members = _group_members(codes)
    cell_x = [np.arange(len(cells))]
    cell_y = [np.arange(len(cells))]
    round_of = [np.zeros(len(cells), dtype=np.int64)]
    for r in range(1, int(rounds) + 1):
        xs, ys = [], []
        for group in members:
            if group.size < 2:
                continue
            xs.append(group)
            ys.append(group[_derangement(group.size, rng)])
        x_r = np.concatenate(xs) if xs else np.empty(0, dtype=np.intp)
        y_r = np.concatenate(ys) if ys else np.empty(0, dtype=np.intp)
        order = np.argsort(x_r, kind="stable")
        cell_x.append(x_r[order])
        cell_y.append(y_r[order])
        round_of.append(np.full(x_r.size, r, dtype=np.int64))
    idx_x, idx_y = np.concatenate(cell_x), np.concatenate(cell_y)
    round_all = np.concatenate(round_of)

    names_x = cells.to_numpy()[idx_x].astype(str)
    names_y = cells.to_numpy()[idx_y].astype(str)
    measured = round_all == 0
    obs_names = np.where(
        measured,
        names_x,
        np.char.add(
            np.char.add(np.char.add(names_x, "+"), names_y),
            np.char.add("#r", round_all.astype(str)),
        ),
    )

    group_values = labels.to_numpy()[idx_x]
    if isinstance(labels.dtype, pd.CategoricalDtype):
        group_values = pd.Categorical(group_values, categories=labels.cat.categories)
    record = {
        "method": "augment",
        "groupby": groupby,
        "rounds": int(rounds),
        "modalities": [mod_x, mod_y],
        "n_measured": int(measured.sum()),
        "n_augmented": int((~measured).sum()),
        "n_unlabelled": n_unlabelled,
    }
    if seed is not None:
        record["seed"] = seed
    return pairs_to_mudata(
        {mod_x: (mdata.mod[mod_x], pos_x[idx_x]), mod_y: (mdata.mod[mod_y], pos_y[idx_y])},
        obs_names=obs_names,
        origin=pd.Categorical(
            np.where(measured, MEASURED, AUGMENTED), categories=[MEASURED, AUGMENTED]
        ),
        obs={ROUND_KEY: round_all, GROUP_KEY: group_values},
        record=record,
        uns=dict(mdata.uns),
    )


def _group_members(codes: np.ndarray) -> list[np.ndarray]:
    """Return, for each group code ``0..k-1``, the sorted positions of its cells."""
    n_groups = int(codes.max()) + 1 if codes.size else 0
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_groups + 1))
    return [order[bounds[g] : bounds[g + 1]] for g in range(n_groups)]


def _derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """Return a uniformly random permutation of ``0..n-1`` with no fixed point (``n >= 2``).

    Rejection sampling: about e ≈ 2.7 draws on average, whatever ``n``.
    """
    identity = np.arange(n)
    while True:
        perm = rng.permutation(n)
        if not np.any(perm == identity):
            return perm
