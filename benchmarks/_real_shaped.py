"""Accessibility of any size with the per-peak and per-cell shape of a real dataset.

``synthetic_paired`` opens peaks at about the same rate everywhere outside its cell-type
programmes. Real peaks are not like that: a few are open in a large share of the cells and
most in very few, and cells differ several-fold in depth. :func:`real_shaped_paired` keeps
both shapes of a real matrix (by default SNARE-seq's raw ATAC) and scales them to any number
of cells, peaks and mean density:

- peak weights are drawn from the real peaks' open fractions (with replacement);
- cell depths from the real cells' open-peak counts divided by their mean;
- cell ``i`` draws ``Poisson(depth_i × density × n_peaks)`` peaks with probability ∝ the
  weights; repeated draws count once (so the density comes out a little below ``density``;
  the record gives the measured one).

The accessibility carries no signal of the paired RNA (taken from ``synthetic_paired``
without peaks): this data is for speed and memory, not quality.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

#: Cells sampled at once (bounds the temporaries to a few hundred MB at 200,000 peaks).
_CHUNK_CELLS = 2_000


def reference_shape(atac) -> tuple[np.ndarray, np.ndarray]:
    """Open fraction of every peak and open-peak count of every cell of a raw ATAC matrix."""
    X = sparse.csr_matrix(atac.X)
    X.eliminate_zeros()
    per_peak = np.bincount(X.indices, minlength=X.shape[1]) / X.shape[0]
    per_cell = np.diff(X.indptr).astype(np.float64)
    return per_peak[per_peak > 0], per_cell[per_cell > 0]


def real_shaped_atac(
    n_cells: int,
    n_peaks: int,
    density: float,
    peak_fractions: np.ndarray,
    cell_counts: np.ndarray,
    seed: int = 0,
) -> sparse.csr_matrix:
    """A binary cells × peaks CSR matrix (float32) of the given shapes and mean density."""
    rng = np.random.default_rng(seed)
    weights = rng.choice(peak_fractions, size=n_peaks, replace=True)
    cumulative = np.cumsum(weights / weights.sum())
    cumulative[-1] = 1.0
    depth = rng.choice(cell_counts / cell_counts.mean(), size=n_cells, replace=True)
    draws = rng.poisson(depth * density * n_peaks).clip(1, n_peaks)
    indptr = np.zeros(n_cells + 1, dtype=np.int64)
    chunks = []
    for first in range(0, n_cells, _CHUNK_CELLS):
        stop = min(first + _CHUNK_CELLS, n_cells)
        cell = np.repeat(np.arange(first, stop, dtype=np.int64), draws[first:stop])
        peak = np.searchsorted(cumulative, rng.random(cell.size), side="right")
        keys = np.unique(cell * n_peaks + np.minimum(peak, n_peaks - 1))
        chunks.append((keys % n_peaks).astype(np.int32))
        indptr[first + 1 : stop + 1] = np.bincount(keys // n_peaks - first, minlength=stop - first)
    indptr = np.cumsum(indptr)
    indices = np.concatenate(chunks)
    data = np.ones(indices.size, dtype=np.float32)
    return sparse.csr_matrix((data, indices, indptr), shape=(n_cells, n_peaks))


def real_shaped_paired(n_cells: int, n_peaks: int, density: float, seed: int = 0):
    """``synthetic_paired``'s RNA beside SNARE-seq-shaped accessibility (a MuData)."""
    import anndata as ad
    import mudata as md

    import butterflyvi as bf
    from butterflyvi.datasets._synthetic_programme import peak_table

    reference = bf.datasets.load_shared("snareseq")["atac"]
    peak_fractions, cell_counts = reference_shape(reference)
    mdata = bf.datasets.synthetic_paired(n_cells, n_genes=2000, n_peaks=0, seed=seed)
    rna = mdata["rna"]
    X = real_shaped_atac(n_cells, n_peaks, density, peak_fractions, cell_counts, seed=seed)
    var = peak_table(np.random.default_rng(seed), n_peaks=n_peaks, n_chromosomes=20)
    atac = ad.AnnData(X=X, obs=rna.obs.copy(), var=var)
    return md.MuData({"rna": rna, "atac": atac})
