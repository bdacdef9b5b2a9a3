"""Control/stimulated pairs by optimal transport, per cell type (perturbation response)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from mudata import MuData
from scipy import linalg

from .._constants import OT_COST_KEY
from .._validation import MissingKeyError, check_finite, check_seed
from ..kinds import infer_kind
from ._assemble import pairs_to_mudata, take_rows_matrix
from ._checks import check_in_memory, check_mod_names

logger = logging.getLogger(__name__)

OT_PAIR = "ot"
#: Groups up to this many cells get an exact PCA from their cell × cell Gram matrix.
_GRAM_MAX_CELLS = 2000


def pair_by_ot(
    adata: AnnData,
    *,
    condition_key: str = "condition",
    control: str = "control",
    stimulated: str = "stimulated",
    groupby: str = "cell_type",
    n_pcs: int = 50,
    holdout: str | Sequence[str] | None = None,
    max_cells_exact: int = 5000,
    seed: int | None = 0,
    mod_names: Sequence[str] = ("control", "stimulated"),
    fallback: Literal["sinkhorn", "minibatch"] = "sinkhorn",
    sinkhorn_reg: float = 0.05,
) -> MuData:
    """Pair each control cell with a stimulated cell of its group by optimal transport.

    For perturbation-response training (scButterfly): X = control, Y = stimulated
    expression. For each group of ``groupby`` (cell type), the control and stimulated cells
    are projected together on their first ``n_pcs`` principal components (sparse PCA with
    implicit centring), the cost is the Euclidean distance (``ot.dist``), and the exact
    transport plan with uniform weights is solved with ``ot.emd``. Each control cell is
    paired with the stimulated cell holding the largest entry of its row of the plan (a
    stimulated cell may serve several control cells).

    When a group has more than ``max_cells_exact ** 2`` control × stimulated cell pairs,
    ``fallback`` is used instead of the exact solver:

    - ``"sinkhorn"``: entropic OT (``ot.sinkhorn``) on costs rescaled to [0, 1] (min to max;
      a shift does not change the plan), with regularisation ``sinkhorn_reg`` (a blurrier
      plan than the exact one; still needs the dense cost matrix);
    - ``"minibatch"``: the control and stimulated cells are shuffled and split into the
      fewest chunks of at most ``max_cells_exact`` cells each, and chunk *j* of control
      cells is matched exactly to chunk *j* of stimulated cells (memory stays bounded).

    The principal components are capped: when ``n_pcs`` is at least the group's number of
    cells or of genes, all dimensions are kept, and the distances are exactly those between
    expression profiles. The input is expected log-normalised and is not normalised again.

    Parameters
    ----------
    adata
        Expression of control and stimulated cells (X, log-normalised). Not modified.
    condition_key
        obs column telling control from stimulated cells.
    control, stimulated
        The values of ``condition_key`` of control and stimulated cells.
    groupby
        obs column of the groups (cell types) within which cells are matched.
    n_pcs
        Principal components per group.
    holdout
        A group (or groups) left out of the pairs: the cell type to predict later.
    max_cells_exact
        Largest group solved exactly is ``max_cells_exact`` control × ``max_cells_exact``
        stimulated cells (in product).
    seed
        Seed of the PCA solver and of the ``"minibatch"`` shuffle.
    mod_names
        Names of the two modalities of the result (control, stimulated).
    fallback
        Solver for groups above ``max_cells_exact``: ``"sinkhorn"`` or ``"minibatch"``.
    sinkhorn_reg
        Entropic regularisation of the ``"sinkhorn"`` fallback, relative to the range of the
        costs.

    Returns
    -------
    A new MuData with two expression modalities ``mod_names``: the control cells (all
    paired control cells, outside ``holdout``, in input order) and their matched stimulated
    cells, with identical obs_names ``"{control_cell}+{stimulated_cell}"``. Each modality
    holds the rows of its source cells (X, every layer, obsm, obs columns) and copies of var,
    varm, varp and uns; both have the input's var_names. ``obs`` holds
    ``"butterflyvi_origin"`` (``"ot"``), ``groupby``, ``"butterflyvi_source_cell_<mod>"``
    for each modality, and ``"butterflyvi_ot_cost"`` (the pair's distance in its group's PCA
    space). Each modality records its kind (``uns["butterflyvi_kind"]``, expression), so
    ``setup_mudata(pairs, modalities=tuple(pairs.mod))`` needs no ``kinds=``.
    ``uns["butterflyvi_pairing"]`` records the arguments, per group the cells, the
    components and the solver used (``"emd"``, ``"sinkhorn"`` or ``"minibatch-emd"``), and
    the groups skipped because they lack control or stimulated cells (with a warning).

    Raises
    ------
    KeyError
        If ``condition_key`` or ``groupby`` is not an obs column.
    ValueError
        If ``control``/``stimulated`` or a ``holdout`` group is not found, X holds NaN/Inf,
        no group can be paired, or an argument is out of range.

    Examples
    --------
    >>> mdata_pert = bf.tl.pair_by_ot(adata, holdout="CD4T", n_pcs=50)
    """
    seed = check_seed(seed)
    mod_c, mod_s = check_mod_names(mod_names)
    _check_args(n_pcs=n_pcs, max_cells_exact=max_cells_exact, fallback=fallback, reg=sinkhorn_reg)
    if not isinstance(adata, AnnData):
        raise TypeError(f"adata: expected an AnnData, found {type(adata).__name__}.")
    check_in_memory(adata, name="adata")
    if not adata.obs_names.is_unique:
        raise ValueError("adata: expected unique obs_names, found repeats; make them unique first.")
    for arg, key in (("condition_key", condition_key), ("groupby", groupby)):
        if key not in adata.obs.columns:
            raise MissingKeyError(
                f"{arg}: expected a column of adata.obs ({list(adata.obs.columns)}), found {key!r}."
            )
    condition = adata.obs[condition_key].astype(object).to_numpy()
    conditions = pd.unique(condition[~pd.isna(condition)]).tolist()
    if control == stimulated:
        raise ValueError(
            f"control, stimulated: expected two different conditions, found {control!r} twice."
        )
    for arg, value in (("control", control), ("stimulated", stimulated)):
        if value not in conditions:
            raise ValueError(
                f"{arg}: expected a value of adata.obs[{condition_key!r}] ({conditions}), found "
                f"{value!r}."
            )
    labels = adata.obs[groupby]
    groups = pd.unique(labels.dropna().to_numpy()).tolist()
    held = _check_holdout(holdout, groups, groupby)
    if adata.X is None:
        raise ValueError("adata.X: expected log-normalised expression, found None.")
    check_finite(adata.X, name="adata.X")
    matrix = adata.X.tocsr() if sp.issparse(adata.X) and adata.X.format != "csr" else adata.X

    rng = np.random.default_rng(seed)
    codes = pd.Index(groups).get_indexer(labels.astype(object).to_numpy())
    is_ctrl, is_stim = condition == control, condition == stimulated
    pair_c, pair_s, pair_cost = [], [], []
    per_group: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for g, group in enumerate(groups):
        if group in held:
            continue
        ctrl = np.flatnonzero(is_ctrl & (codes == g))
        stim = np.flatnonzero(is_stim & (codes == g))
        if ctrl.size == 0 or stim.size == 0:
            skipped[str(group)] = f"{ctrl.size} control and {stim.size} stimulated cells"
            continue
        emb, k = _embed(take_rows_matrix(matrix, np.concatenate([ctrl, stim])), n_pcs, seed)
        match, cost, solver = _match(
            emb[: ctrl.size],
            emb[ctrl.size :],
            max_cells_exact=max_cells_exact,
            fallback=fallback,
            reg=sinkhorn_reg,
            rng=rng,
        )
        pair_c.append(ctrl)
        pair_s.append(stim[match])
        pair_cost.append(cost)
        per_group[str(group)] = {
            "n_control": int(ctrl.size),
            "n_stimulated": int(stim.size),
            "n_pcs": int(k),
            "solver": solver,
        }
    if skipped:
        warnings.warn(
            f"pair_by_ot: groups without both conditions are not paired: {skipped}.",
            UserWarning,
            stacklevel=2,
        )
    if not pair_c:
        raise ValueError(
            f"groupby: expected a group of {groupby!r} with both {control!r} and "
            f"{stimulated!r} cells outside holdout, found none; nothing to pair."
        )
    pos_c, pos_s, costs = np.concatenate(pair_c), np.concatenate(pair_s), np.concatenate(pair_cost)
    order = np.argsort(pos_c, kind="stable")
    pos_c, pos_s, costs = pos_c[order], pos_s[order], costs[order]

    names_c = adata.obs_names.to_numpy()[pos_c].astype(str)
    names_s = adata.obs_names.to_numpy()[pos_s].astype(str)
    obs_names = [f"{c}+{s}" for c, s in zip(names_c, names_s, strict=True)]
    group_values = labels.to_numpy()[pos_c]
    record: dict[str, Any] = {
        "method": "pair_by_ot",
        "condition_key": condition_key,
        "control": str(control),
        "stimulated": str(stimulated),
        "groupby": groupby,
        "n_pcs": int(n_pcs),
        "holdout": [str(h) for h in held],
        "max_cells_exact": int(max_cells_exact),
        "fallback": fallback,
        "groups": per_group,
        "skipped_groups": skipped,
    }
    if fallback == "sinkhorn":
        record["sinkhorn_reg"] = float(sinkhorn_reg)
    if seed is not None:
        record["seed"] = seed
    # Both modalities are the input's expression, whatever they are called.
    kind = infer_kind(adata) or "expression"
    return pairs_to_mudata(
        {mod_c: (adata, pos_c), mod_s: (adata, pos_s)},
        obs_names=obs_names,
        origin=OT_PAIR,
        obs={
            groupby: pd.Categorical(group_values, categories=[g for g in groups if g not in held]),
            OT_COST_KEY: costs.astype(np.float64),
        },
        record=record,
        kinds={mod_c: kind, mod_s: kind},
    )


def _check_args(*, n_pcs: Any, max_cells_exact: Any, fallback: Any, reg: Any) -> None:
    for name, value in (("n_pcs", n_pcs), ("max_cells_exact", max_cells_exact)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, found {value!r}.")
    if fallback not in ("sinkhorn", "minibatch"):
        raise ValueError(f"fallback: expected 'sinkhorn' or 'minibatch', found {fallback!r}.")
    if not isinstance(reg, int | float) or isinstance(reg, bool) or reg <= 0:
        raise ValueError(f"sinkhorn_reg: expected a positive number, found {reg!r}.")


def _check_holdout(holdout: Any, groups: list, groupby: str) -> list:
    """Return the held-out groups as a list, checking each one exists."""
    if holdout is None:
        return []
    if isinstance(holdout, list | tuple | set | np.ndarray | pd.Index | pd.Series):
        held = list(holdout)
    else:
        held = [holdout]
    missing = [h for h in held if h not in groups]
    if missing:
        raise ValueError(
            f"holdout: expected groups of adata.obs[{groupby!r}] ({groups}), found {missing}."
        )
    return list(held)


def _embed(block: Any, n_pcs: int, seed: int | None) -> tuple[np.ndarray, int]:
    """Return principal-component scores of the rows of ``block`` and their number.

    - At most ``n_pcs`` genes (and no more genes than cells): the rows themselves, densified
      (every dimension kept; distances are those of the expression profiles).
    - At most ``_GRAM_MAX_CELLS`` cells (or ``n_pcs``): exact PCA from the centred Gram
      matrix of the cells (cells × cells, so its cost does not grow with the genes).
    - Otherwise: truncated PCA with implicit centring (ARPACK on the sparse matrix).

    The components are capped at the number of cells or genes.
    """
    n_cells, n_genes = block.shape
    if n_genes <= min(n_pcs, n_cells):
        dense = block.toarray() if sp.issparse(block) else np.asarray(block)
        return dense.astype(np.float64), n_genes
    if n_cells <= max(_GRAM_MAX_CELLS, n_pcs):
        data = block.astype(np.float64)
        gram = data @ data.T
        gram = np.asarray(gram.toarray() if sp.issparse(gram) else gram)
        means = gram.mean(axis=0)
        gram = gram - means[None, :] - means[:, None] + means.mean()
        k = min(n_pcs, n_cells)
        values, vectors = linalg.eigh(gram, subset_by_index=[n_cells - k, n_cells - 1])
        return vectors[:, ::-1] * np.sqrt(np.clip(values[::-1], 0.0, None)), k
    from sklearn.decomposition import PCA

    data = block.astype(np.float64) if sp.issparse(block) else np.asarray(block, dtype=np.float64)
    pca = PCA(n_components=n_pcs, svd_solver="arpack", random_state=seed)
    return pca.fit_transform(data), n_pcs


def _match(
    emb_c: np.ndarray,
    emb_s: np.ndarray,
    *,
    max_cells_exact: int,
    fallback: str,
    reg: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Return, per control cell, the matched stimulated row, the pair's cost, and the solver."""
    n_c, n_s = emb_c.shape[0], emb_s.shape[0]
    if n_c * n_s <= max_cells_exact**2:
        return (*_solve(emb_c, emb_s, solver="emd", reg=reg), "emd")
    if fallback == "sinkhorn":
        return (*_solve(emb_c, emb_s, solver="sinkhorn", reg=reg), "sinkhorn")
    n_chunks = int(np.ceil(max(n_c, n_s) / max_cells_exact))
    chunks_c = np.array_split(rng.permutation(n_c), n_chunks)
    chunks_s = np.array_split(rng.permutation(n_s), n_chunks)
    match = np.empty(n_c, dtype=np.intp)
    cost = np.empty(n_c, dtype=np.float64)
    for rows_c, rows_s in zip(chunks_c, chunks_s, strict=True):
        m, c = _solve(emb_c[rows_c], emb_s[rows_s], solver="emd", reg=reg)
        match[rows_c], cost[rows_c] = rows_s[m], c
    return match, cost, "minibatch-emd"


def _solve(
    emb_c: np.ndarray, emb_s: np.ndarray, *, solver: str, reg: float
) -> tuple[np.ndarray, np.ndarray]:
    """Solve OT between two point clouds; return row-argmax matches and their costs."""
    import ot

    n_c, n_s = emb_c.shape[0], emb_s.shape[0]
    cost = ot.dist(emb_c, emb_s, metric="euclidean")
    a, b = np.full(n_c, 1.0 / n_c), np.full(n_s, 1.0 / n_s)
    if solver == "emd":
        plan, log = ot.emd(a, b, cost, numItermax=max(100_000, 100 * n_c * n_s), log=True)
        if log.get("result_code", 1) != 1:
            logger.warning("pair_by_ot: ot.emd did not converge: %s", log.get("warning"))
    else:
        # Shifting the costs leaves the plan unchanged, so scale by their range: ``reg`` is
        # then relative to the spread of the costs, whatever the units of the embedding.
        spread = cost.max() - cost.min()
        scaled = (cost - cost.min()) / spread if spread > 0 else np.zeros_like(cost)
        plan = ot.sinkhorn(a, b, scaled, reg, numItermax=10_000)
    match = np.asarray(plan).argmax(axis=1)
    return match, cost[np.arange(n_c), match]
