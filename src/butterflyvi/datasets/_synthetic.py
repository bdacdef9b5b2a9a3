"""Synthetic paired single-cell data with real cell-type structure, built sparse by chunks."""

from __future__ import annotations

from numbers import Real

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._csr_builder import CSRBuilder
from ._mudata_utils import build_mudata
from ._synthetic_programme import Programme, draws_for_open_peaks, make_programme, peak_table
from ._synthetic_sampling import sample_adt, sample_atac, sample_rna

#: Spread (log scale) of the per-cell sequencing depth.
DEPTH_SIGMA = 0.4


def synthetic_paired(
    n_cells: int = 1000,
    *,
    n_genes: int = 2000,
    n_peaks: int = 10000,
    n_proteins: int = 0,
    n_cell_types: int = 8,
    n_chromosomes: int = 20,
    peak_density: float = 0.02,
    seed: int = 0,
    chunk_size: int = 10000,
) -> md.MuData:
    """Simulate paired RNA (+ ATAC, + protein) counts of cells from distinct cell types.

    - **Cell types**: drawn with unequal frequencies (Dirichlet). Each type up-regulates its
      own 5 % of the genes (log fold change ~ N(2, 0.5)) over a heavy-tailed baseline.
    - **RNA** (``"rna"``): negative binomial (Poisson–gamma, θ = 3) counts with a per-cell
      depth factor (log-normal) times a median library of ``max(1000, n_genes)``.
    - **ATAC** (``"atac"``, when ``n_peaks > 0``): each type has its own set of peaks
      (``max(5 %, 2 × peak_density)`` of the peaks, at most half). Each cell opens about
      ``peak_density × n_peaks`` peaks (times its depth factor; the same factor as its RNA):
      half from its type's set, half from heavy-tailed background weights over all peaks.
      Counts are binary-ish (a peak drawn twice gets a 2). Peaks are named
      ``chrN-start-end`` in genome order, with var ``chrom``/``start``/``end``; every cell has
      at least one open peak.
    - **Protein** (``"adt"``, when ``n_proteins > 0``): each protein is linked to a gene; its
      mean is a background plus a signal proportional to the latent rate of that gene in the
      cell, drawn negative binomial (θ = 10).

    Everything is built chunk by chunk directly as CSR (float32 integer counts); no dense
    cells × peaks matrix is ever formed, so 100,000 cells × 200,000 peaks at density 0.01
    fits in a few GB.

    Parameters
    ----------
    n_cells
        Number of cells.
    n_genes
        Number of genes.
    n_peaks
        Number of peaks; 0 leaves out the ``"atac"`` modality.
    n_proteins
        Number of proteins; 0 (default) leaves out the ``"adt"`` modality.
    n_cell_types
        Number of cell types.
    n_chromosomes
        Number of chromosomes the peaks are spread over (longer ones get more).
    peak_density
        Expected fraction of the peaks open in a cell, in (0, 0.5].
    seed
        Random seed; the result depends on ``seed`` and ``chunk_size`` only.
    chunk_size
        Cells simulated at once (bounds the temporary memory).

    Returns
    -------
    MuData with modalities ``"rna"`` (+ ``"atac"``, + ``"adt"``), the same cells in the same
    order, obs ``cell_type`` (categorical ``type0``…) in each modality and at the global level,
    var ``feature_types`` (10x names), and ``uns["synthetic"]`` holding the arguments.

    """
    _check_arguments(
        seed=seed,
        n_cells=n_cells,
        n_genes=n_genes,
        n_peaks=n_peaks,
        n_proteins=n_proteins,
        n_cell_types=n_cell_types,
        n_chromosomes=n_chromosomes,
        peak_density=peak_density,
        chunk_size=chunk_size,
    )
    params = {
        "n_cells": n_cells,
        "n_genes": n_genes,
        "n_peaks": n_peaks,
        "n_proteins": n_proteins,
        "n_cell_types": n_cell_types,
        "n_chromosomes": n_chromosomes,
        "peak_density": float(peak_density),
        "seed": seed,
        "chunk_size": chunk_size,
    }
    starts = range(0, n_cells, chunk_size)
    root = np.random.SeedSequence(seed)
    param_seq, cell_seq, *chunk_seqs = root.spawn(2 + len(starts))
    rng = np.random.default_rng(param_seq)
    programme = make_programme(
        rng,
        n_genes=n_genes,
        n_peaks=n_peaks,
        n_proteins=n_proteins,
        n_cell_types=n_cell_types,
        peak_density=peak_density,
    )

    cell_rng = np.random.default_rng(cell_seq)
    cell_types = cell_rng.choice(n_cell_types, size=n_cells, p=programme.type_probs)
    depth = cell_rng.lognormal(-(DEPTH_SIGMA**2) / 2, DEPTH_SIGMA, size=n_cells)
    n_draws = _atac_draws(cell_rng, programme, cell_types, depth, peak_density) if n_peaks else None

    matrices = _sample_matrices(
        programme,
        cell_types=cell_types,
        depth=depth,
        n_draws=n_draws,
        chunk_seqs=chunk_seqs,
        chunk_size=chunk_size,
    )

    labels = pd.Categorical.from_codes(cell_types, [f"type{t}" for t in range(n_cell_types)])
    obs = pd.DataFrame({"cell_type": labels}, index=_names("cell", n_cells))
    mods = {"rna": _anndata(matrices["rna"], obs, _names("gene", n_genes), "Gene Expression")}
    if n_peaks:
        var = peak_table(rng, n_peaks=n_peaks, n_chromosomes=n_chromosomes)
        mods["atac"] = ad.AnnData(X=matrices["atac"], obs=obs.copy(), var=var)
    if n_proteins:
        names = _names("protein", n_proteins)
        mods["adt"] = _anndata(matrices["adt"], obs, names, "Antibody Capture")
        mods["adt"].var["linked_gene"] = mods["rna"].var_names[programme.protein_gene].to_numpy()
    mdata = build_mudata(mods)
    mdata.uns["synthetic"] = params
    return mdata


def _sample_matrices(
    programme: Programme,
    *,
    cell_types: np.ndarray,
    depth: np.ndarray,
    n_draws: np.ndarray | None,
    chunk_seqs: list[np.random.SeedSequence],
    chunk_size: int,
) -> dict[str, sp.csr_matrix]:
    """Sample every modality chunk by chunk straight into CSR builders."""
    n_cells, n_genes = len(cell_types), programme.gene_props.shape[1]
    n_proteins = len(programme.protein_gene)
    builders = {
        "rna": CSRBuilder(n_cols=n_genes, capacity=n_cells * min(n_genes, 1000) // 2),
    }
    if n_draws is not None:
        builders["atac"] = CSRBuilder(n_cols=programme.n_peaks, capacity=int(n_draws.sum()))
    if n_proteins:
        builders["adt"] = CSRBuilder(n_cols=n_proteins, capacity=n_cells * n_proteins)
    for index, seq in enumerate(chunk_seqs):
        chunk = slice(index * chunk_size, min((index + 1) * chunk_size, n_cells))
        rng = np.random.default_rng(seq)
        counts, linked = sample_rna(
            rng, programme, cell_types=cell_types[chunk], depth=depth[chunk]
        )
        builders["rna"].append_csr(counts)
        if "adt" in builders:
            builders["adt"].append_csr(sample_adt(rng, programme, linked_rates=linked))
        if "atac" in builders:
            rows = sample_atac(rng, programme, cell_types=cell_types[chunk], n_draws=n_draws[chunk])
            builders["atac"].append(*rows)
    return {name: builder.finish() for name, builder in builders.items()}


def _atac_draws(
    rng: np.random.Generator,
    programme: Programme,
    cell_types: np.ndarray,
    depth: np.ndarray,
    peak_density: float,
) -> np.ndarray:
    """Return the peak draws per cell that make the expected open peaks hit the density."""
    n_peaks = programme.n_peaks
    target = rng.poisson(peak_density * n_peaks * depth).clip(1, n_peaks)
    draws = np.empty(len(target), dtype=np.int64)
    for t in range(len(programme.type_probs)):
        mask = cell_types == t
        if not mask.any():
            continue
        expected, grid = draws_for_open_peaks(
            programme, cell_type=t, max_open=int(target[mask].max())
        )
        draws[mask] = np.round(np.interp(target[mask], expected, grid)).astype(np.int64)
    return np.maximum(draws, 1)


def _names(prefix: str, n: int) -> pd.Index:
    return pd.Index([f"{prefix}{i:0{len(str(max(n - 1, 0)))}d}" for i in range(n)], dtype=str)


def _anndata(x, obs: pd.DataFrame, names: pd.Index, feature_type: str) -> ad.AnnData:
    var = pd.DataFrame({"feature_types": feature_type}, index=names)
    return ad.AnnData(X=x, obs=obs.copy(), var=var)


def _check_arguments(**kwargs) -> None:
    """Raise a ValueError naming the first argument out of range."""
    minimum = {
        "n_cells": 1,
        "n_genes": 1,
        "n_peaks": 0,
        "n_proteins": 0,
        "n_cell_types": 1,
        "n_chromosomes": 1,
        "chunk_size": 1,
        "seed": 0,
    }
    for name, low in minimum.items():
        value = kwargs[name]
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ValueError(f"{name}: expected an integer >= {low}, found {value!r}.")
    density = kwargs["peak_density"]
    if isinstance(density, bool) or not isinstance(density, Real) or not 0 < density <= 0.5:
        raise ValueError(f"peak_density: expected a number in (0, 0.5], found {density!r}.")
