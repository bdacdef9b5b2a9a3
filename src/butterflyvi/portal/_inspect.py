"""Checking an upload before it is queued: readable, the source modality, counts, overlap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._uploads import UploadError

#: Rows read at a time when scanning an upload's values.
BLOCK_ROWS = 5000


def open_modality(path: Path, source: str, *, backed: bool = True):
    """The ``source`` modality of an uploaded .h5ad (the file itself) or .h5mu.

    HDF5 only: no pickle is read. With ``backed``, the matrix stays on disk.
    """
    import anndata
    import mudata

    try:
        if path.suffix == ".h5mu":
            data = mudata.read_h5mu(path, backed=backed)
            if source not in data.mod:
                raise UploadError(
                    422,
                    f"source: expected a modality of the uploaded MuData ({list(data.mod)}), "
                    f"found {source!r}.",
                )
            return data[source]
        return anndata.read_h5ad(path, backed="r" if backed else None)
    except UploadError:
        raise
    except Exception as error:
        raise UploadError(
            400,
            f"file: expected a readable {path.suffix} file (HDF5 written by anndata/mudata), "
            f"found one that cannot be read ({type(error).__name__}: {str(error)[:200]}).",
        ) from None


def scan_values(adata) -> dict[str, int]:
    """Counts of non-finite and negative values, read block by block."""
    n_bad = n_negative = 0
    matrix = adata.X
    if matrix is None:
        raise UploadError(422, "file: expected a matrix in X, found none.")
    for start in range(0, adata.n_obs, BLOCK_ROWS):
        block = matrix[start : start + BLOCK_ROWS]
        values = (
            block.data if hasattr(block, "data") and hasattr(block, "indptr") else np.asarray(block)
        )
        values = np.asarray(values, dtype=np.float64).ravel()
        n_bad += int(values.size - np.count_nonzero(np.isfinite(values)))
        n_negative += int(np.count_nonzero(values < 0))
    return {"n_nonfinite": n_bad, "n_negative": n_negative}


def inspect_upload(path: Path, *, source: str, space, min_overlap: float) -> dict[str, Any]:
    """Refuse an upload the model cannot translate; report cells and feature overlap.

    Parameters
    ----------
    path
        The stored upload.
    source
        The measured modality.
    space
        The model's :class:`~butterflyvi.model.FeatureSpace` of ``source``.
    min_overlap
        Share of the model's features the upload must hold.
    """
    adata = open_modality(path, source)
    try:
        if adata.n_obs == 0 or adata.n_vars == 0:
            raise UploadError(
                422, f"file: expected cells and features, found {adata.n_obs} × {adata.n_vars}."
            )
        scanned = scan_values(adata)
        if scanned["n_nonfinite"]:
            raise UploadError(
                422,
                f"file: expected finite values, found {scanned['n_nonfinite']:,} NaN or "
                "infinite entries.",
            )
        if scanned["n_negative"]:
            raise UploadError(
                422,
                f"file: expected non-negative values (raw counts), found "
                f"{scanned['n_negative']:,} negative entries.",
            )
        try:
            overlap = space.match(adata).report
        except ValueError as error:  # another species
            raise UploadError(422, f"file: {error}") from None
        if overlap["fraction"] < min_overlap:
            raise UploadError(
                422,
                f"file: expected at least {min_overlap:.0%} of the model's "
                f"{overlap['n_model_features']:,} {source} features, found "
                f"{overlap['n_matched']:,} ({overlap['fraction']:.1%}). Is it the right species "
                "and feature type (gene symbols or Ensembl ids; peaks with coordinates)?",
            )
        return {"n_cells": int(adata.n_obs), "feature_overlap": overlap}
    finally:
        file = getattr(adata, "file", None)
        if file is not None:
            file.close()
