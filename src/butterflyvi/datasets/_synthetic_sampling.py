"""Per-chunk samplers of the synthetic generator (vectorised numpy, CSR output)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._alias import alias_draw
from ._synthetic_programme import ADT_THETA, RNA_THETA, SPECIFIC_SHARE, Programme

#: Largest dense block (cells × genes or proteins) sampled at once.
MAX_DENSE_ELEMENTS = 2**22


def sample_rna(
    rng: np.random.Generator,
    programme: Programme,
    *,
    cell_types: np.ndarray,
    depth: np.ndarray,
) -> tuple[sp.csr_matrix, np.ndarray | None]:
    """Negative binomial (Poisson–gamma) RNA counts of a chunk of cells.

    Parameters
    ----------
    rng
        Random generator of the chunk.
    programme
        Type programmes.
    cell_types
        Cell type code of each cell of the chunk.
    depth
        Per-cell depth factor (mean one), scaling the library size.

    Returns
    -------
    The counts (CSR float32) and, when the programme has proteins, the latent Poisson rates of
    the protein-linked genes (cells × proteins), from which the proteins are drawn.

    """
    n_genes = programme.gene_props.shape[1]
    rows = max(1, MAX_DENSE_ELEMENTS // n_genes)
    blocks, linked = [], []
    for lo in range(0, len(cell_types), rows):
        hi = min(lo + rows, len(cell_types))
        mean = (programme.library_median * depth[lo:hi])[:, None] * programme.gene_props[
            cell_types[lo:hi]
        ]
        rate = rng.gamma(RNA_THETA, mean / RNA_THETA)
        blocks.append(_dense_to_csr(rng.poisson(rate)))
        if len(programme.protein_gene):
            linked.append(rate[:, programme.protein_gene])
    counts = sp.vstack(blocks, format="csr")
    return counts, (np.concatenate(linked) if linked else None)


def sample_adt(
    rng: np.random.Generator, programme: Programme, *, linked_rates: np.ndarray
) -> sp.csr_matrix:
    """Protein counts driven by the latent rate of each protein's linked gene.

    The mean of protein ``p`` in cell ``c`` is ``background_p + signal_p × r_cg / mean(r_g)``
    with ``r_cg`` the latent RNA rate of its linked gene ``g`` (so proteins correlate with
    their genes across and within cell types), drawn negative binomial.
    """
    expected = programme.library_median * (programme.type_probs @ programme.gene_props)
    scale = expected[programme.protein_gene]
    mean = programme.protein_background + programme.protein_signal * linked_rates / scale
    rate = rng.gamma(ADT_THETA, mean / ADT_THETA)
    return _dense_to_csr(rng.poisson(rate))


def sample_atac(
    rng: np.random.Generator,
    programme: Programme,
    *,
    cell_types: np.ndarray,
    n_draws: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open peaks of a chunk of cells, as CSR rows (sorted column indices, counts).

    Each cell draws ``n_draws`` peaks with replacement: with probability ``SPECIFIC_SHARE``
    uniformly from its type's peak set, otherwise from the background weights over all peaks.
    A peak drawn ``k`` times gets the count ``k`` (mostly one: binary-ish counts).

    Returns
    -------
    ``(indices, data, row_nnz)`` for `CSRBuilder.append`.

    """
    n_cells, n_peaks = len(cell_types), programme.n_peaks
    total = int(n_draws.sum())
    row = np.repeat(np.arange(n_cells, dtype=np.int64), n_draws)
    specific = rng.random(total, dtype=np.float32) < SPECIFIC_SHARE
    keys = row * n_peaks  # becomes row * n_peaks + column

    types = cell_types[row[specific]]
    pick = (rng.random(len(types), dtype=np.float32) * programme.set_sizes[types]).astype(np.int64)
    keys[specific] += programme.set_members[programme.set_offsets[types] + pick]
    keys[~specific] += alias_draw(
        rng, programme.background_accept, programme.background_alias, total - len(types)
    )
    del row, specific, types, pick

    keys.sort()
    first = np.empty(total, dtype=bool)
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    keys = keys[starts]
    counts = np.diff(starts, append=total).astype(np.float32)
    rows = keys // n_peaks
    return (keys - rows * n_peaks).astype(np.int32), counts, np.bincount(rows, minlength=n_cells)


def _dense_to_csr(block: np.ndarray) -> sp.csr_matrix:
    """CSR float32 copy of a small dense block (faster than ``csr_matrix(block)``)."""
    n_rows, n_cols = block.shape
    flat = np.flatnonzero(block)
    rows = flat // n_cols
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    data = block.ravel()[flat].astype(np.float32)
    return sp.csr_matrix((data, (flat - rows * n_cols).astype(np.int32), indptr), shape=block.shape)
