"""The one embedding helper (PCA → kNN graph → Leiden / UMAP, :func:`embed`) and the
k-nearest-neighbour graph of scanpy it builds on, working for any number of cells.

scanpy 1.11's approximate search (pynndescent, which it takes above ~8,000 cells) returns a
``scipy.sparse.csr_array``, which scanpy then queries with ``getnnz`` — gone from sparse
*arrays* in scipy 1.15 — and fails. Above :data:`EXACT_LIMIT` cells the graph is built here
by scikit-learn's exact ``KNeighborsTransformer`` (a ``csr_matrix``, which scanpy accepts;
O(n²) distance evaluations, about a minute for 100,000 cells on 50 components on 2 cores);
below it scanpy's own exact search runs as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from anndata import AnnData

#: scanpy searches exactly up to this many cells (and approximately above).
EXACT_LIMIT = 4096


def neighbors(
    adata: AnnData, *, n_neighbors: int, use_rep: str | None = None, seed: int = 0
) -> None:
    """``scanpy.pp.neighbors`` (UMAP connectivities) on an exact Euclidean kNN graph."""
    import scanpy as sc
    from sklearn.neighbors import KNeighborsTransformer

    k = int(min(n_neighbors, adata.n_obs - 1))
    transformer = None
    if adata.n_obs > EXACT_LIMIT:
        # scanpy counts each cell as its own first neighbour, as this transformer does.
        transformer = KNeighborsTransformer(n_neighbors=k - 1, mode="distance")
    sc.pp.neighbors(
        adata, n_neighbors=k, use_rep=use_rep, random_state=seed, transformer=transformer
    )


@dataclass
class Embedding:
    """What :func:`embed` computed (``None`` where not asked for)."""

    pca: np.ndarray | None
    leiden: np.ndarray | None
    umap: np.ndarray | None
    n_pcs: int
    n_neighbors: int


def embed(
    matrix=None,
    *,
    representation: np.ndarray | None = None,
    n_pcs: int = 50,
    n_neighbors: int = 15,
    resolution: float | None = None,
    umap: bool = False,
    flavor: str = "igraph",
    seed: int = 0,
) -> Embedding:
    """PCA → kNN graph → Leiden and/or UMAP: the one embedding of the package (metrics,
    plots, pairing clusters and the portal).

    Parameters
    ----------
    matrix
        Cells × features (sparse or dense), reduced by PCA to ``min(n_pcs, n_cells - 1,
        n_features - 1)`` components; or ``None`` with ``representation``.
    representation
        Cells × dimensions used as they are for the graph (e.g. a model's latent space).
    n_pcs
        Most principal components (without ``representation``).
    n_neighbors
        Neighbours of the graph (scanpy's UMAP connectivities, exact search).
    resolution
        Leiden resolution; ``None``: no clustering.
    umap
        Compute a 2-D UMAP.
    flavor
        Leiden implementation: ``"igraph"`` (2 iterations, undirected) or ``"leidenalg"``.
    seed
        Seed of PCA, Leiden and UMAP.
    """
    import scanpy as sc

    from ._threads import keep_torch_threads

    n_cells = matrix.shape[0] if matrix is not None else representation.shape[0]
    work = AnnData(X=matrix, obs=pd.DataFrame(index=[str(i) for i in range(n_cells)]))
    n_comps = 0
    with keep_torch_threads():
        if representation is None:
            n_comps = int(min(n_pcs, n_cells - 1, matrix.shape[1] - 1))
            sc.pp.pca(work, n_comps=n_comps, random_state=seed)
            rep = "X_pca"
        else:
            work.obsm["X_rep"] = np.asarray(representation)
            rep = "X_rep"
        if resolution is not None or umap:
            neighbors(work, n_neighbors=n_neighbors, use_rep=rep, seed=seed)
        if resolution is not None:
            options = {"n_iterations": 2, "directed": False} if flavor == "igraph" else {}
            sc.tl.leiden(
                work, resolution=float(resolution), random_state=seed, flavor=flavor, **options
            )
        if umap:
            sc.tl.umap(work, random_state=seed)
    graph = work.uns.get("neighbors", {}).get("params", {})
    return Embedding(
        pca=work.obsm.get("X_pca"),
        leiden=work.obs["leiden"].to_numpy() if resolution is not None else None,
        umap=work.obsm.get("X_umap"),
        n_pcs=n_comps,
        n_neighbors=int(graph.get("n_neighbors", n_neighbors)),
    )
