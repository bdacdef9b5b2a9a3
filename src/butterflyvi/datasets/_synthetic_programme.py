"""Cell-type programmes of the synthetic generator: all the parameters shared by every cell."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._alias import alias_table

#: Share of each ATAC cell's open-peak draws taken from its type's specific peak set.
SPECIFIC_SHARE = 0.5
#: Inverse dispersion of the negative binomial RNA and protein counts.
RNA_THETA = 3.0
ADT_THETA = 10.0


@dataclass(frozen=True)
class Programme:
    """Parameters of the synthetic data, drawn once from the seed.

    Attributes
    ----------
    type_probs
        Probability of each cell type, shape ``(n_types,)``.
    gene_props
        Expected share of each gene in a cell's RNA library per type, ``(n_types, n_genes)``,
        rows summing to one.
    library_median
        Median RNA library size.
    set_members, set_offsets, set_sizes
        Type-specific peak sets, concatenated: type ``t`` opens preferentially
        ``set_members[set_offsets[t] : set_offsets[t] + set_sizes[t]]``.
    background
        Background probability of each peak, ``(n_peaks,)``, summing to one.
    background_accept, background_alias
        Alias table of ``background`` (see `alias_table`).
    protein_gene, protein_background, protein_signal
        Linked gene, background and signal scale of each protein.

    """

    type_probs: np.ndarray
    gene_props: np.ndarray
    library_median: float
    set_members: np.ndarray
    set_offsets: np.ndarray
    set_sizes: np.ndarray
    background: np.ndarray
    background_accept: np.ndarray
    background_alias: np.ndarray
    protein_gene: np.ndarray
    protein_background: np.ndarray
    protein_signal: np.ndarray

    @property
    def n_peaks(self) -> int:
        """Number of peaks."""
        return len(self.background)

    def peak_probs(self, cell_type: int) -> np.ndarray:
        """Probability that one open-peak draw of a cell of ``cell_type`` hits each peak."""
        probs = (1 - SPECIFIC_SHARE) * self.background
        start = self.set_offsets[cell_type]
        members = self.set_members[start : start + self.set_sizes[cell_type]]
        probs[members] += SPECIFIC_SHARE / len(members)
        return probs


def make_programme(
    rng: np.random.Generator,
    *,
    n_genes: int,
    n_peaks: int,
    n_proteins: int,
    n_cell_types: int,
    peak_density: float,
) -> Programme:
    """Draw the type programmes (see `Programme`)."""
    type_probs = rng.dirichlet(np.full(n_cell_types, 5.0))

    base = rng.lognormal(mean=0.0, sigma=1.5, size=n_genes)
    log_fold = np.zeros((n_cell_types, n_genes))
    n_markers = max(1, n_genes // 20)
    for t in range(n_cell_types):
        markers = rng.choice(n_genes, size=n_markers, replace=False)
        log_fold[t, markers] = rng.normal(2.0, 0.5, size=n_markers)
    gene_props = base * np.exp(log_fold)
    gene_props /= gene_props.sum(axis=1, keepdims=True)

    share = min(0.5, max(0.05, 4 * SPECIFIC_SHARE * peak_density))
    set_size = min(n_peaks, max(1, round(share * n_peaks)))
    sets = [np.sort(rng.permutation(n_peaks)[:set_size]) for _ in range(n_cell_types)]
    set_sizes = np.array([len(s) for s in sets], dtype=np.int64)
    set_offsets = np.concatenate([[0], np.cumsum(set_sizes)[:-1]]).astype(np.int64)
    weights = rng.lognormal(mean=0.0, sigma=1.0, size=n_peaks)
    accept, alias = alias_table(weights) if n_peaks else (np.ones(0), np.zeros(0, dtype=int))

    protein_gene = rng.choice(n_genes, size=n_proteins, replace=n_proteins > n_genes)
    return Programme(
        type_probs=type_probs,
        gene_props=gene_props,
        library_median=float(max(1000, n_genes)),
        set_members=np.concatenate(sets).astype(np.int64),
        set_offsets=set_offsets,
        set_sizes=set_sizes,
        background=weights / weights.sum() if n_peaks else weights,
        background_accept=accept,
        background_alias=alias,
        protein_gene=protein_gene,
        protein_background=rng.lognormal(np.log(20.0), 0.5, size=n_proteins),
        protein_signal=rng.lognormal(np.log(200.0), 0.5, size=n_proteins),
    )


def draws_for_open_peaks(
    programme: Programme, *, cell_type: int, max_open: int
) -> tuple[np.ndarray, np.ndarray]:
    """Table mapping a number of draws to the expected number of distinct open peaks.

    Draws are with replacement, so ``a`` draws open fewer than ``a`` peaks; inverting this
    table makes the number of open peaks per cell match the requested density. The peak
    probabilities are pooled into 1,024 log-spaced bins (relative error well below 1 %).

    Returns
    -------
    ``(expected_open, draws)``, both non-decreasing, for interpolation.

    """
    probs = programme.peak_probs(cell_type)
    log_p = np.log(probs)
    edges = np.linspace(log_p.min(), log_p.max() + 1e-9, 1025)
    which = np.digitize(log_p, edges) - 1
    n_in_bin = np.bincount(which, minlength=1024)
    mean_p = np.bincount(which, weights=probs, minlength=1024) / np.maximum(n_in_bin, 1)
    log_miss = np.log1p(-np.minimum(mean_p, 1 - 1e-12))
    draws = np.unique(np.round(np.geomspace(1, 4 * max_open + 1, 96)).astype(np.int64) - 1)
    expected = (-np.expm1(np.outer(draws, log_miss)) * n_in_bin).sum(axis=1)
    return expected, draws


def peak_table(rng: np.random.Generator, *, n_peaks: int, n_chromosomes: int) -> pd.DataFrame:
    """Peak coordinates in genome order: ``chrom``, ``start``, ``end``, named ``chrN-start-end``."""
    weights = 1.0 / (np.arange(n_chromosomes) + 5.0)
    per_chrom = rng.multinomial(n_peaks, weights / weights.sum())
    chrom_codes = np.repeat(np.arange(n_chromosomes), per_chrom)
    width = rng.integers(200, 1500, size=n_peaks)
    gaps = rng.integers(2000, 20000, size=n_peaks)
    start = np.empty(n_peaks, dtype=np.int64)
    bounds = np.concatenate([[0], np.cumsum(per_chrom)])
    for i in range(n_chromosomes):
        lo, hi = bounds[i], bounds[i + 1]
        start[lo:hi] = 10_000 + np.cumsum(gaps[lo:hi])
    end = start + width
    chroms = [f"chr{c}" for c in range(1, n_chromosomes + 1)]
    chrom = pd.Categorical.from_codes(chrom_codes, categories=chroms)
    names = [f"{c}-{s}-{e}" for c, s, e in zip(chrom, start.tolist(), end.tolist(), strict=True)]
    return pd.DataFrame(
        {"chrom": chrom, "start": start, "end": end, "feature_types": "Peaks"},
        index=pd.Index(names, dtype=str),
    )
