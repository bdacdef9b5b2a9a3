"""The task's normalisations of raw counts: GEX ``log_cp10k``, ADT ``clr``, ATAC ``tfidf``."""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp

Modality = Literal["GEX", "ADT", "ATAC"]

#: ``uns["normalization_id"]`` of each modality's normalised layer.
NORMALIZATION_IDS: dict[str, str] = {"GEX": "log_cp10k", "ADT": "clr", "ATAC": "tfidf"}


def _rows_scaled(counts: sp.csr_matrix, factors: np.ndarray) -> sp.csr_matrix:
    return sp.diags(factors.astype(np.float64)) @ counts


def log_cp10k(counts) -> sp.csr_matrix:
    """``log1p`` of counts per 10,000 (each cell scaled to a total of 10,000)."""
    counts = sp.csr_matrix(counts, dtype=np.float64)
    totals = np.asarray(counts.sum(axis=1)).ravel()
    scale = np.divide(1e4, totals, out=np.zeros_like(totals), where=totals > 0)
    out = _rows_scaled(counts, scale).tocsr()
    out.data = np.log1p(out.data)
    return out.astype(np.float32)


def clr(counts) -> sp.csr_matrix:
    """Centred log-ratio per cell: ``log1p(x / exp(mean_j log1p(x_j)))`` (Seurat's CLR over
    each cell's proteins, as the NeurIPS 2021 ADT files).
    """
    counts = sp.csr_matrix(counts, dtype=np.float64)
    logs = counts.copy()
    logs.data = np.log1p(logs.data)
    geometric = np.exp(np.asarray(logs.sum(axis=1)).ravel() / counts.shape[1])
    out = _rows_scaled(counts, 1.0 / geometric).tocsr()
    out.data = np.log1p(out.data)
    return out.astype(np.float32)


def tfidf(counts) -> sp.csr_matrix:
    """Muon's default TF-IDF: ``log1p(x / cell total · 10⁴) · log1p(n_cells / peak total)``."""
    counts = sp.csr_matrix(counts, dtype=np.float64)
    totals = np.asarray(counts.sum(axis=1)).ravel()
    tf = _rows_scaled(counts, np.divide(1e4, totals, out=np.zeros_like(totals), where=totals > 0))
    tf = tf.tocsr()
    tf.data = np.log1p(tf.data)
    peak_totals = np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log1p(
        np.divide(
            counts.shape[0], peak_totals, out=np.zeros_like(peak_totals), where=peak_totals > 0
        )
    )
    return (tf @ sp.diags(idf)).tocsr().astype(np.float32)


NORMALIZERS = {"GEX": log_cp10k, "ADT": clr, "ATAC": tfidf}
