"""Clustering of (translated) profiles against known cell types."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from anndata import AnnData
from sklearn import metrics as skm

from .._neighbors import embed
from ._inputs import as_table, check_finite, obs_labels


def clustering(
    adata: AnnData,
    *,
    label_key: str = "cell_type",
    n_pcs: int = 50,
    n_neighbors: int = 15,
    resolution: float = 1.0,
    seed: int = 0,
    layer: str | None = None,
    flavor: Literal["igraph", "leidenalg"] = "igraph",
) -> dict[str, float | int]:
    r"""Leiden clusters of a profile matrix compared with cell-type labels.

    Pipeline (scButterfly's evaluation, on a new AnnData holding only the matrix and
    plain cell names, so ``adata`` is never modified):
    :func:`scanpy.pp.pca` to ``min(n_pcs, n_cells - 1, n_features - 1)`` components →
    :func:`scanpy.pp.neighbors` (``n_neighbors``, Euclidean, UMAP connectivities) →
    :func:`scanpy.tl.leiden` at ``resolution``, all seeded with ``seed``. With
    ``flavor="igraph"`` (default; scanpy's announced default) Leiden runs on igraph with
    ``n_iterations=2`` on the undirected graph; ``flavor="leidenalg"`` uses the
    ``leidenalg`` package with scanpy's historical defaults (directed graph, iterate until
    stable), as the original scButterfly scripts did.

    With clusters :math:`K` and labels :math:`C`: ARI is the Rand index corrected for chance;
    :math:`\mathrm{NMI} = I(C;K)/\tfrac12(H(C)+H(K))`;
    :math:`\mathrm{AMI} = (I - E[I])/(\tfrac12(H(C)+H(K)) - E[I])`;
    homogeneity :math:`= 1 - H(C\mid K)/H(C)` (1 when every cluster holds one cell type),
    as in :mod:`sklearn.metrics` (arithmetic normalisation).

    Parameters
    ----------
    adata
        Cells × features, e.g. translated profiles; uses ``X`` or ``layer``.
    label_key
        Column of ``adata.obs`` with the cell types (no missing values).
    n_pcs
        Principal components (capped by ``min(n_cells, n_features) - 1``).
    n_neighbors
        Neighbours of the kNN graph (scanpy counts the cell itself; it lowers this for
        fewer than ``n_neighbors`` cells). The value used is returned.
    resolution
        Leiden resolution.
    seed
        Random state of PCA, neighbours and Leiden.
    layer
        Layer to use instead of ``X``.
    flavor
        Leiden implementation, ``"igraph"`` or ``"leidenalg"``.

    Returns
    -------
    dict
        ``ari``, ``ami``, ``nmi``, ``homogeneity``, ``n_clusters``, ``n_labels``, ``n_pcs``
        and ``n_neighbors`` (as used).

    Raises
    ------
    ValueError
        If ``label_key`` is missing or has missing values, the matrix has NaN/infinite
        values, or there are fewer than 3 cells or 2 features.

    """
    labels = obs_labels(adata, label_key, name="adata")
    if flavor not in ("igraph", "leidenalg"):
        raise ValueError(f"flavor: expected 'igraph' or 'leidenalg', found {flavor!r}.")
    table = as_table(adata, name="adata", layer=layer)
    n_cells, n_features = table.shape
    if n_cells < 3 or n_features < 2:
        raise ValueError(
            "adata: expected at least 3 cells and 2 features to cluster, found "
            f"{n_cells} × {n_features}."
        )
    check_finite(table.X, name="adata" if layer is None else f"adata.layers[{layer!r}]")
    n_comps = int(min(n_pcs, n_cells - 1, n_features - 1))
    if n_comps < 1:
        raise ValueError(f"n_pcs: expected at least 1, found {n_pcs}.")

    embedding = embed(
        table.X,
        n_pcs=n_comps,
        n_neighbors=n_neighbors,
        resolution=resolution,
        flavor=flavor,
        seed=seed,
    )
    clusters = embedding.leiden
    labels = labels.astype(str)

    return {
        "ari": float(skm.adjusted_rand_score(labels, clusters)),
        "ami": float(skm.adjusted_mutual_info_score(labels, clusters)),
        "nmi": float(skm.normalized_mutual_info_score(labels, clusters)),
        "homogeneity": float(skm.homogeneity_score(labels, clusters)),
        "n_clusters": int(pd.unique(clusters).size),
        "n_labels": int(pd.unique(labels).size),
        "n_pcs": n_comps,
        "n_neighbors": embedding.n_neighbors,
    }
