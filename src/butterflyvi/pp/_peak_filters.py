"""Peak and gene filters of CrossMP's preprocessing: by openness, chromosome, overlaps."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from .._validation import check_fraction, check_positive_int, get_matrix, invalid, missing
from ._mudata import on_modality
from ._peaks import peak_coordinates
from ._sparse import make_actual, to_csr

__all__ = ["filter_peaks", "keep_autosomes", "merge_overlapping_peaks", "remove_sex_chromosomes"]

#: Chromosome names counted as sex chromosomes (with or without the ``chr`` prefix).
SEX_CHROMOSOMES = ("X", "Y")
_INTERVAL = re.compile(r"^(?P<chrom>[^:]+):(?P<start>\d+)-(?P<end>\d+)$")


def _open_cells(adata: AnnData) -> np.ndarray:
    """Cells in which each feature is open (value > 0), from X; never densified."""
    X = to_csr(get_matrix(adata, None))
    positive = X.data > 0
    return np.bincount(X.indices[positive], minlength=X.shape[1]).astype(np.int64)


@on_modality
def filter_peaks(
    adata: AnnData,
    *,
    min_cells: int | None = None,
    min_cell_fraction: float | None = None,
    max_cell_fraction: float | None = None,
    copy: bool = False,
) -> AnnData | None:
    """Keep peaks open in enough cells and in not too many (CrossMP: ``min_cells=5``,
    ``max_cell_fraction=0.1``).

    A peak is open in a cell where its value in ``X`` is > 0 (raw counts or binarised).

    Parameters
    ----------
    adata
        Cells × peaks.
    min_cells
        Drop peaks open in fewer cells.
    min_cell_fraction
        Drop peaks open in a smaller share of the cells.
    max_cell_fraction
        Drop peaks open in a larger share of the cells (CrossMP removes peaks open in more
        than 10 % of cells as uninformative).
    copy
        Return a filtered copy instead of filtering ``adata`` in place.

    Returns
    -------
    ``None`` (or the copy). Writes ``var["n_cells_open"]`` and subsets the peaks (with a
    MuData modality, call ``mdata.update()`` afterwards).
    """
    if min_cells is not None:
        min_cells = check_positive_int(min_cells, name="min_cells")
    if min_cell_fraction is not None:
        min_cell_fraction = check_fraction(min_cell_fraction, name="min_cell_fraction")
    if max_cell_fraction is not None:
        max_cell_fraction = check_fraction(max_cell_fraction, name="max_cell_fraction")
    n_open = _open_cells(adata)
    keep = np.ones(adata.n_vars, dtype=bool)
    if min_cells is not None:
        keep &= n_open >= min_cells
    if min_cell_fraction is not None:
        keep &= n_open >= min_cell_fraction * adata.n_obs
    if max_cell_fraction is not None:
        keep &= n_open <= max_cell_fraction * adata.n_obs
    if not keep.any():
        raise invalid(
            "min_cells, min_cell_fraction, max_cell_fraction",
            "filters that keep at least one peak",
            f"none kept of {adata.n_vars:,} (open in {int(n_open.min())}–{int(n_open.max())} "
            f"of {adata.n_obs:,} cells)",
        )
    if copy:
        adata = adata.copy()
    make_actual(adata)
    adata.var["n_cells_open"] = n_open
    if not keep.all():
        adata._inplace_subset_var(keep)
    return adata if copy else None


def _gene_chromosomes(var: pd.DataFrame) -> pd.Series:
    """Each gene's chromosome from ``var["chrom"]``/``"chromosome"``/``"seqname"`` or 10x
    ``var["interval"]`` (``chr1:100-200``).
    """
    for column in ("chrom", "chromosome", "seqname"):
        if column in var:
            return var[column].astype(str)
    if "interval" in var:
        parsed = var["interval"].astype(str).str.extract(_INTERVAL)
        if parsed["chrom"].isna().all():
            raise invalid("var['interval']", "10x intervals like 'chr1:100-200'", "none that parse")
        return parsed["chrom"].fillna("NA")
    raise missing(
        "adata.var",
        "gene coordinates: a 'chrom' (or 'chromosome', 'seqname') column, or 10x 'interval'",
        f"the columns {list(var.columns)}",
        "Add the chromosome of each gene (e.g. from a GTF) before removing sex chromosomes.",
    )


def _feature_chromosomes(adata: AnnData, feature_type: str) -> pd.Series:
    """Each feature's chromosome, without ``chr`` and in upper case (``"1"``, ``"X"``)."""
    if feature_type not in ("auto", "peaks", "genes"):
        raise invalid("feature_type", "'auto', 'peaks' or 'genes'", repr(feature_type))
    chrom = None
    if feature_type in ("auto", "peaks"):
        try:
            chrom = peak_coordinates(adata.var)["chrom"].astype(str)
        except ValueError:
            if feature_type == "peaks":
                raise
    if chrom is None:
        chrom = _gene_chromosomes(adata.var)
    return chrom.str.replace(r"^chr", "", regex=True, case=False).str.upper()


def _keep_features(adata: AnnData, keep: np.ndarray, *, copy: bool) -> AnnData | None:
    if copy:
        adata = adata.copy()
    if not keep.all():
        make_actual(adata)
        adata._inplace_subset_var(keep)
    return adata if copy else None


@on_modality
def remove_sex_chromosomes(
    adata: AnnData, *, feature_type: str = "auto", copy: bool = False
) -> AnnData | None:
    """Remove peaks or genes on the sex chromosomes (``chrX``/``X``, ``chrY``/``Y``).

    Peaks are placed by ``var`` chrom/start/end or their names; genes need coordinates
    (``var["chrom"]``, ``"chromosome"``, ``"seqname"`` or 10x ``var["interval"]``) and get a
    clear error without them.

    Parameters
    ----------
    adata
        Cells × peaks or cells × genes.
    feature_type
        ``"peaks"``, ``"genes"`` or ``"auto"`` (peaks when the names parse as intervals or
        ``var`` has chrom/start/end, else genes).
    copy
        Return a copy instead of filtering in place.
    """
    chrom = _feature_chromosomes(adata, feature_type)
    return _keep_features(adata, ~chrom.isin(SEX_CHROMOSOMES).to_numpy(), copy=copy)


@on_modality
def keep_autosomes(
    adata: AnnData, *, feature_type: str = "auto", copy: bool = False
) -> AnnData | None:
    """Keep only peaks or genes on numbered chromosomes (``chr1``/``1`` …), as CrossMP does.

    Removes the sex chromosomes, the mitochondrial genome (``chrM``/``MT``) and unplaced or
    alternative contigs (``chrUn_…``, ``GL000…``, ``chr1_KI270706v1_random``): CrossMP's
    preprocessing keeps a feature when its chromosome name without ``chr`` is a number
    (``preprocess/preprocessing.py``, "autosomes_only"), so its per-chromosome blocks are the
    autosomes. Features are placed as in :func:`remove_sex_chromosomes`.

    Parameters
    ----------
    adata
        Cells × peaks or cells × genes.
    feature_type
        ``"peaks"``, ``"genes"`` or ``"auto"`` (peaks when the names parse as intervals or
        ``var`` has chrom/start/end, else genes).
    copy
        Return a copy instead of filtering in place.
    """
    chrom = _feature_chromosomes(adata, feature_type)
    keep = chrom.str.fullmatch(r"\d+").fillna(False).to_numpy(dtype=bool)
    if not keep.any():
        found = sorted(chrom.unique())[:5]
        raise invalid(
            "adata",
            "features on numbered chromosomes (chr1, 2, …)",
            f"none among {adata.n_vars:,} (chromosomes {found}…)",
        )
    return _keep_features(adata, keep, copy=copy)


@on_modality
def merge_overlapping_peaks(adata: AnnData, *, copy: bool = False) -> AnnData | None:
    """Merge peaks that overlap (share at least one base) on the same chromosome.

    Coordinates are read as written, both ends included: ``chr1:100-200`` and
    ``chr1:200-300`` share base 200 and merge into ``chr1:100-300``. A chain of overlapping
    peaks becomes one peak spanning them all. The counts of merged peaks are summed (``X``
    and every layer), sparse throughout. The result's peaks are in genome order, named
    ``chrom:start-end``, with ``var`` chrom/start/end and ``n_merged`` (peaks per merged peak);
    other ``var`` columns are dropped.

    Parameters
    ----------
    adata
        Cells × peaks (raw counts in ``X``).
    copy
        Return the merged data instead of replacing ``adata``'s peaks.
    """
    coords = peak_coordinates(adata.var)
    chrom = coords["chrom"].to_numpy().astype(str)
    start = coords["start"].to_numpy(np.int64)
    end = coords["end"].to_numpy(np.int64)
    order = np.lexsort((end, start, chrom))
    chrom_s, start_s, end_s = chrom[order], start[order], end[order]
    # A new merged peak starts at a new chromosome or after a gap beyond the running end.
    new = np.ones(len(order), dtype=bool)
    running_end = -1
    for i in range(len(order)):  # one pass; a running maximum needs the sequential scan
        if i > 0 and chrom_s[i] == chrom_s[i - 1] and start_s[i] <= running_end:
            new[i] = False
            running_end = max(running_end, end_s[i])
        else:
            running_end = end_s[i]
    group = np.cumsum(new) - 1
    n_groups = int(group[-1]) + 1 if len(group) else 0
    merged_start = np.minimum.reduceat(start_s, np.flatnonzero(new))
    merged_end = np.maximum.reduceat(end_s, np.flatnonzero(new))
    merged_chrom = chrom_s[new]
    names = [f"{c}:{s}-{e}" for c, s, e in zip(merged_chrom, merged_start, merged_end, strict=True)]
    assign = np.empty(len(order), dtype=np.int64)
    assign[order] = group
    summing = sparse.csr_matrix(
        (np.ones(len(order), dtype=np.float32), (np.arange(len(order)), assign)),
        shape=(len(order), n_groups),
    )
    var = pd.DataFrame(
        {
            "chrom": merged_chrom.astype(object),
            "start": merged_start,
            "end": merged_end,
            "n_merged": np.bincount(group, minlength=n_groups).astype(np.int64),
        },
        index=pd.Index(names),
    )
    X = None if adata.X is None else sparse.csr_matrix(to_csr(adata.X) @ summing)
    layers = {k: sparse.csr_matrix(to_csr(v) @ summing) for k, v in adata.layers.items()}
    merged = AnnData(
        X=X,
        obs=adata.obs.copy(),
        var=var,
        layers=layers,
        uns=dict(adata.uns),
        obsm=dict(adata.obsm),
    )
    if copy:
        return merged
    adata._init_as_actual(merged)
    return None
