"""Pseudo-pairs of unpaired cells from anchors: mutual nearest neighbours in a shared space,
scored and filtered as Seurat's integration anchors are (Stuart et al., Cell 2019), as in
scButterfly's variant for unpaired data. No labels are needed.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from anndata import AnnData
from mudata import MuData
from scipy.sparse.linalg import LinearOperator, svds
from sklearn.neighbors import NearestNeighbors

from .._validation import check_positive_int, check_seed, invalid
from ._assemble import pairs_to_mudata
from ._checks import check_in_memory, check_mod_names
from ._unpaired import PSEUDO_PAIR

logger = logging.getLogger(__name__)

#: Canonical components of the shared space.
N_COMPONENTS = 30
#: Neighbours of the anchor score and of the filter (Seurat's ``k.score`` and ``k.filter``).
K_SCORE, K_FILTER = 30, 200


def _standardised(adata: AnnData, features: list[str], name: str) -> np.ndarray:
    """Cells × ``features`` of ``adata``, each feature centred and scaled to unit variance."""
    values = adata[:, features].X
    values = values.toarray() if sp.issparse(values) else np.asarray(values, dtype=np.float64)
    values = values.astype(np.float64)
    if not np.isfinite(values).all():
        raise invalid(name, "finite values in X", "NaN or infinite values")
    sd = values.std(axis=0)
    sd[sd == 0] = 1.0
    return (values - values.mean(axis=0)) / sd


def canonical_space(x: np.ndarray, y: np.ndarray, n_components: int, seed: int):
    """Seurat's CCA: the leading singular vectors of ``x yᵀ`` (cells × cells, never formed),
    each cell's vector L2-normalised.
    """
    operator = LinearOperator(
        (x.shape[0], y.shape[0]),
        matvec=lambda v: x @ (y.T @ v),
        rmatvec=lambda u: y @ (x.T @ u),
        matmat=lambda v: x @ (y.T @ v),
        rmatmat=lambda u: y @ (x.T @ u),
        dtype=np.float64,
    )
    k = min(n_components, min(x.shape[0], y.shape[0]) - 1)
    start = np.random.default_rng(seed).standard_normal(min(x.shape[0], y.shape[0]))
    u, _, vt = svds(operator, k=k, v0=start)
    v = vt.T
    u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-12)
    v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return u.astype(np.float32), v.astype(np.float32)


def _neighbours(reference: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(reference))
    return NearestNeighbors(n_neighbors=k).fit(reference).kneighbors(query)[1]


def mutual_neighbours(u: np.ndarray, v: np.ndarray, k: int) -> np.ndarray:
    """``(n, 2)`` positions ``(i, j)`` of x-cells and y-cells among each other's ``k``
    nearest neighbours.
    """
    x_to_y = _neighbours(v, u, k)
    y_to_x = _neighbours(u, v, k)
    n_y = len(v)
    forward = np.arange(len(u))[:, None] * n_y + x_to_y  # each pair (i, j) as i * n_y + j
    backward = y_to_x * n_y + np.arange(n_y)[:, None]
    pairs = np.intersect1d(forward.ravel(), backward.ravel())  # sorted by i, then j
    return np.column_stack([pairs // n_y, pairs % n_y]).astype(np.int64)


def anchor_scores(u: np.ndarray, v: np.ndarray, anchors: np.ndarray, k: int) -> np.ndarray:
    """Seurat's score: the shared share of the two cells' neighbourhoods (their ``k`` nearest
    x-cells and ``k`` nearest y-cells), rescaled between its 1 % and 90 % quantiles to [0, 1].
    """
    both = np.vstack([u, v])
    offset = len(u)
    near_x_of = _neighbours(u, both, k)
    near_y_of = _neighbours(v, both, k) + offset
    neighbourhood = np.hstack([near_x_of, near_y_of])
    shared = np.array(
        [
            len(np.intersect1d(neighbourhood[i], neighbourhood[offset + j], assume_unique=True))
            for i, j in anchors
        ],
        dtype=np.float64,
    )
    low, high = np.quantile(shared, [0.01, 0.9]) if len(shared) else (0.0, 1.0)
    return np.clip((shared - low) / max(high - low, 1e-12), 0.0, 1.0)


def pair_by_anchors(
    adata_x: AnnData,
    adata_y: AnnData,
    *,
    shared_x: AnnData,
    shared_y: AnnData,
    k: int = 20,
    mod_names: tuple[str, str] = ("rna", "atac"),
    seed: int = 0,
) -> MuData:
    """Pseudo-pairs of unpaired cells from anchors in a shared space, without labels.

    Each cell of ``adata_x`` and of ``adata_y`` is described on the same features by
    ``shared_x`` and ``shared_y`` (e.g. RNA expression and ATAC gene activity of the same
    genes, :func:`butterflyvi.pp.gene_activity`). As Seurat's integration anchors: both are
    standardised per feature, projected by canonical correlation analysis (30 components,
    each cell's vector L2-normalised), and an **anchor** is a pair of cells among each
    other's ``k`` nearest neighbours (mutual nearest neighbours); anchors whose y-cell is not
    among the x-cell's 200 nearest y-cells in the standardised feature space are filtered
    out, and each is scored by the shared share of the two cells' neighbourhoods (30 nearest
    cells of each dataset), rescaled to [0, 1]. Anchors scoring 0 are dropped; every other
    anchor is one pair.

    Parameters
    ----------
    adata_x, adata_y
        The two modalities of different cells (not changed), what the pairs hold.
    shared_x, shared_y
        The same cells (same obs_names, in any order) on shared features (the features both
        have are used; at least 10).
    k
        Neighbours of the mutual-nearest-neighbour search (Seurat's ``k.anchor`` is 5; more
        anchors per cell suit training pairs).
    mod_names
        Names of the two modalities in the result.
    seed
        Seed of the canonical decomposition's start vector.

    Returns
    -------
    A new MuData shaped like :func:`pair_unpaired`'s: obs_names ``"{x_cell}+{y_cell}#p{k}"``,
    ``obs["butterflyvi_source_cell_<mod>"]``, ``obs["anchor_score"]``, and the record in
    ``uns["butterflyvi_pairing"]``.

    Examples
    --------
    >>> pairs = bf.tl.pair_by_anchors(rna, atac, shared_x=rna, shared_y=activity)
    """
    seed = check_seed(seed)
    mod_x, mod_y = check_mod_names(mod_names)
    k = check_positive_int(k, name="k")
    for name, adata in (
        ("adata_x", adata_x),
        ("adata_y", adata_y),
        ("shared_x", shared_x),
        ("shared_y", shared_y),
    ):
        if not isinstance(adata, AnnData):
            raise invalid(name, "an AnnData", type(adata).__name__)
        check_in_memory(adata, name=name)
        if not adata.obs_names.is_unique:
            raise invalid(name, "unique obs_names", "repeats", "Make them unique first.")
    for cells, shared, names in (
        (adata_x, shared_x, ("adata_x", "shared_x")),
        (adata_y, shared_y, ("adata_y", "shared_y")),
    ):
        absent = cells.obs_names.difference(shared.obs_names)
        if len(absent):
            raise invalid(
                names[1],
                f"every cell of {names[0]}",
                f"{len(absent)} of its cells missing (e.g. {absent[0]!r})",
            )
    features = [f for f in shared_x.var_names if f in set(shared_y.var_names)]
    if len(features) < 10:
        raise invalid(
            "shared_x, shared_y",
            "at least 10 features in common (the same genes, e.g. expression and gene activity)",
            f"{len(features)}",
        )
    x = _standardised(shared_x[adata_x.obs_names], features, "shared_x")
    y = _standardised(shared_y[adata_y.obs_names], features, "shared_y")
    u, v = canonical_space(x, y, N_COMPONENTS, seed)
    anchors = mutual_neighbours(u, v, k)
    n_found = len(anchors)
    if n_found:
        near = _neighbours(y.astype(np.float32), x[anchors[:, 0]].astype(np.float32), K_FILTER)
        kept = (near == anchors[:, 1][:, None]).any(axis=1)
        anchors = anchors[kept]
    scores = anchor_scores(u, v, anchors, K_SCORE) if len(anchors) else np.zeros(0)
    anchors, scores = anchors[scores > 0], scores[scores > 0]
    if not len(anchors):
        raise invalid(
            "shared_x, shared_y",
            "cells that resemble each other on the shared features",
            "no anchor between the two datasets",
            "Check that both describe the same genes on comparable scales.",
        )
    logger.info(
        "pair_by_anchors: %d mutual neighbours, %d kept after filtering and scoring",
        n_found,
        len(anchors),
    )
    names_x = adata_x.obs_names.to_numpy()[anchors[:, 0]].astype(str)
    names_y = adata_y.obs_names.to_numpy()[anchors[:, 1]].astype(str)
    obs_names = [f"{a}+{b}#p{i}" for i, (a, b) in enumerate(zip(names_x, names_y, strict=True))]
    record = {
        "method": "pair_by_anchors",
        "k": k,
        "n_features": len(features),
        "n_mutual_neighbours": n_found,
        "n_anchors": len(anchors),
        "n_cells_paired": {
            mod_x: len(np.unique(anchors[:, 0])),
            mod_y: len(np.unique(anchors[:, 1])),
        },
        "seed": seed,
    }
    return pairs_to_mudata(
        {mod_x: (adata_x, anchors[:, 0]), mod_y: (adata_y, anchors[:, 1])},
        obs_names=obs_names,
        origin=PSEUDO_PAIR,
        obs={"anchor_score": scores.astype(np.float32)},
        record=record,
    )
