"""Tiny synthetic paired RNA + ATAC MuData for the unit tests (one builder, many sizes)."""

from __future__ import annotations

import warnings

import mudata as md

import butterflyvi as bf


def tiny_paired(
    n_cells: int = 60,
    *,
    n_genes: int = 30,
    n_peaks: int = 80,
    n_cell_types: int = 3,
    n_chromosomes: int = 2,
    peak_density: float = 0.15,
    seed: int = 0,
    preprocess: bool = True,
) -> md.MuData:
    """``bf.datasets.synthetic_paired`` raw counts; with ``preprocess``, RNA and ATAC
    preprocessed keeping every gene and peak (the sizes are too small for the filters)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdata = bf.datasets.synthetic_paired(
            n_cells,
            n_genes=n_genes,
            n_peaks=n_peaks,
            n_cell_types=n_cell_types,
            n_chromosomes=n_chromosomes,
            peak_density=peak_density,
            seed=seed,
        )
        if preprocess:
            bf.pp.preprocess_rna(mdata["rna"], n_top_genes=1000)
            bf.pp.preprocess_atac(mdata["atac"], min_cell_fraction=0.0)
            mdata.update()
    return mdata


#: Tolerances of a comparison between computations that legitimately round differently
#: (another batch size, thread count, or rows read from disk): a few float32 ulps of values
#: of order 1. Bitwise equality is asserted only where the computation is the same.
FLOAT32_RTOL = 1e-5
FLOAT32_ATOL = 1e-6


def assert_float32_close(actual, expected) -> None:
    """``actual`` equals ``expected`` up to float32 rounding (see ``FLOAT32_RTOL``)."""
    import numpy as np

    np.testing.assert_allclose(actual, expected, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL)


def dense(matrix):
    """A matrix — CSR, dense, or an h5py dataset of a backed file — as a numpy array (a
    translation is dense or CSR depending on its ``layout``).
    """
    import numpy as np
    import scipy.sparse as sp

    if sp.issparse(matrix):
        return matrix.toarray()
    if hasattr(matrix, "to_memory"):  # an anndata backed sparse dataset
        return matrix.to_memory().toarray()
    return np.asarray(matrix)
