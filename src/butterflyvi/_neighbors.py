"""The k-nearest-neighbour graph of scanpy, working for any number of cells.

scanpy 1.11's approximate search (pynndescent, which it takes above ~8,000 cells) returns a
``scipy.sparse.csr_array``, which scanpy then queries with ``getnnz`` — gone from sparse
*arrays* in scipy 1.15 — and fails. Above :data:`EXACT_LIMIT` cells the graph is built here
by scikit-learn's exact ``KNeighborsTransformer`` (a ``csr_matrix``, which scanpy accepts;
O(n²) distance evaluations, about a minute for 100,000 cells on 50 components on 2 cores);
below it scanpy's own exact search runs as before.
"""

from __future__ import annotations

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
