"""CrossMP's preprocessing of a paired RNA + ATAC MuData in one call."""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
from mudata import MuData

from .._validation import check_positive_int, invalid, missing, wrong_type
from ._atac import preprocess_atac
from ._mudata import replace_modalities
from ._peak_filters import (
    filter_peaks,
    keep_autosomes,
    merge_overlapping_peaks,
    remove_sex_chromosomes,
)
from ._rna import preprocess_rna

__all__ = ["preprocess_crossmp"]

logger = logging.getLogger(__name__)


def preprocess_crossmp(
    mdata: MuData,
    *,
    rna: str = "rna",
    atac: str = "atac",
    min_genes: int = 200,
    max_genes: int = 7000,
    min_peak_cells: int = 5,
    max_peak_fraction: float = 0.1,
    n_top_genes: int = 3000,
    clip_quantile: float = 0.005,
    chromosomes: Literal["autosomes", "no_sex"] = "autosomes",
    copy: bool = False,
) -> MuData | None:
    """CrossMP's preprocessing of paired RNA + ATAC raw counts (Lyu et al., Genes 2024).

    ATAC: peaks kept on the autosomes only (``chromosomes``), overlapping peaks merged, peaks
    open in fewer than ``min_peak_cells`` cells or more than ``max_peak_fraction`` of the
    cells dropped, binarised (``preprocess_atac(transform="binary")``). RNA: genes kept on the
    same chromosomes when the genes have coordinates (``var`` chrom or 10x ``interval``; otherwise
    kept, with a log message), cells with fewer than ``min_genes`` or more than ``max_genes``
    detected genes removed (from both modalities), median normalisation, log, the
    ``n_top_genes`` most variable genes, z-score with values beyond the ``clip_quantile``
    quantiles clipped (``preprocess_rna(scale="zscore")``).

    Parameters
    ----------
    mdata
        Paired raw counts (the same cells in both modalities).
    rna, atac
        Modality names.
    min_genes, max_genes
        Detected-gene bounds of a kept cell (CrossMP: 200 and 7,000).
    min_peak_cells, max_peak_fraction
        Peak filters (CrossMP: 5 cells, 10 %).
    n_top_genes
        Highly variable genes kept.
    clip_quantile
        Share of z-scored values clipped at each end (0.5 %).
    chromosomes
        ``"autosomes"`` (CrossMP's code: numbered chromosomes only, so its per-chromosome
        blocks are the autosomes; :func:`keep_autosomes`) or ``"no_sex"`` (only X and Y
        removed, keeping the mitochondrial genome and unplaced contigs;
        :func:`remove_sex_chromosomes`). The same on data with only numbered and sex
        chromosomes.
    copy
        Return a preprocessed copy instead of changing ``mdata``.

    Returns
    -------
    ``None`` if ``copy=False`` (``mdata``'s ``rna`` and ``atac`` are replaced), else a new
    MuData: ``rna`` and ``atac`` preprocessed, raw counts in ``layers["counts"]``, the fitted
    states in ``uns["butterflyvi_preprocessing"]`` (re-applied to new cells by a model), ready
    for ``ButterflyModel.setup_mudata`` and ``preset="crossmp"``.
    """
    if not isinstance(mdata, MuData):
        raise wrong_type("mdata", "a MuData", mdata)
    for name in (rna, atac):
        if name not in mdata.mod:
            raise missing("mdata", f"a modality {name!r}", f"modalities {list(mdata.mod)}")
    if chromosomes not in ("autosomes", "no_sex"):
        raise invalid("chromosomes", "'autosomes' or 'no_sex'", repr(chromosomes))
    chromosome_filter = keep_autosomes if chromosomes == "autosomes" else remove_sex_chromosomes
    min_genes = check_positive_int(min_genes, name="min_genes")
    max_genes = check_positive_int(max_genes, name="max_genes")
    rna_data = mdata[rna].copy()
    atac_data = mdata[atac].copy()
    if not rna_data.obs_names.equals(atac_data.obs_names):
        raise invalid(
            "mdata", f"{rna!r} and {atac!r} with the same cells in the same order", "others"
        )
    chromosome_filter(atac_data, feature_type="peaks")
    merge_overlapping_peaks(atac_data)
    filter_peaks(atac_data, min_cells=min_peak_cells, max_cell_fraction=max_peak_fraction)
    try:
        chromosome_filter(rna_data, feature_type="genes")
    except (KeyError, ValueError) as error:
        logger.info("CrossMP preprocessing: RNA genes kept on every chromosome (%s).", error)
    detected = np.asarray((rna_data.X > 0).sum(axis=1)).ravel()
    keep = (detected >= min_genes) & (detected <= max_genes)
    if keep.sum() < 2:
        raise invalid(
            "min_genes, max_genes",
            "bounds that keep at least 2 cells",
            f"{int(keep.sum())} of {len(keep):,} cells with {min_genes}–{max_genes} genes",
        )
    rna_data, atac_data = rna_data[keep].copy(), atac_data[keep].copy()
    preprocess_rna(rna_data, n_top_genes=n_top_genes, scale="zscore", clip_quantile=clip_quantile)
    preprocess_atac(atac_data, min_cell_fraction=0.0, transform="binary")
    if not copy:
        replace_modalities(mdata, {rna: rna_data, atac: atac_data})
        return None
    out = MuData({rna: rna_data, atac: atac_data})
    for key, value in mdata.uns.items():
        out.uns[key] = value
    return out
