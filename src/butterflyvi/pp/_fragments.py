"""Cells × peaks counts from a 10x ``fragments.tsv.gz``, streamed."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .._constants import FEATURE_MATCH_KEY
from .._validation import check_positive_int, invalid
from ._map_peaks import as_peaks, chromosome_key

#: Fragments read at a time (a chunk of the file in memory, whatever its size).
CHUNK_ROWS = 1_000_000


class _PeakIndex:
    """Sorted peaks per chromosome, to find the peak holding each cut site."""

    def __init__(self, peaks: pd.DataFrame):
        self.by_chrom: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        keys = chromosome_key(peaks["chrom"])
        starts, ends = peaks["start"].to_numpy(), peaks["end"].to_numpy()
        for chrom in np.unique(keys):
            idx = np.flatnonzero(keys == chrom)
            order = np.argsort(starts[idx], kind="stable")
            idx = idx[order]
            if np.any(starts[idx][1:] < ends[idx][:-1]):
                raise invalid(
                    "peaks", "non-overlapping peaks", f"overlapping peaks on chromosome {chrom!r}"
                )
            self.by_chrom[chrom] = (starts[idx], ends[idx], idx)

    def lookup(self, chrom: str, positions: np.ndarray) -> np.ndarray:
        """The peak (position in ``peaks``) holding each 0-based position, or ``-1``."""
        found = self.by_chrom.get(chrom)
        out = np.full(len(positions), -1, dtype=np.int64)
        if found is None:
            return out
        starts, ends, idx = found
        i = np.searchsorted(starts, positions, side="right") - 1
        inside = (i >= 0) & (positions < ends[np.maximum(i, 0)])
        out[inside] = idx[i[inside]]
        return out


def count_fragments(
    fragments_file: str | os.PathLike,
    peaks: Sequence[str] | pd.Index | pd.DataFrame,
    *,
    barcodes: Sequence[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> AnnData:
    """Cells × peaks counts of Tn5 cut sites from a 10x ``fragments.tsv.gz``.

    As Cell Ranger ARC counts its peak matrix: each fragment has two cut sites, its two ends
    (0-based ``start`` and ``end - 1`` of the file's half-open interval), and each end inside
    a peak counts once (a fragment within one peak counts twice). The file is streamed in
    chunks of ``chunk_rows`` fragments (tabix-indexed or not), so memory does not grow with
    its size.

    Parameters
    ----------
    fragments_file
        A 10x fragments file (``chrom``, ``start``, ``end``, ``barcode``, ``count``;
        gzip-compressed or not; ``#`` lines skipped).
    peaks
        The peaks to count in: names such as ``chr1:100-200`` or a DataFrame with
        ``chrom``/``start``/``end`` (non-overlapping; ``chr1`` and ``1`` are the same).
    barcodes
        The cells to count, in this order (others are skipped). ``None``: every barcode of
        the file, in the order first seen.
    chunk_rows
        Fragments read at a time.

    Returns
    -------
    AnnData of the cells × peaks (CSR float32 counts), ``var`` with ``chrom``/``start``/
    ``end``, ``obs["n_fragments"]`` (fragments of the cell read, in peaks or not) and
    ``uns["feature_match"]`` (peaks with at least one cut site).
    """
    path = Path(fragments_file)
    if not path.is_file():
        raise FileNotFoundError(f"fragments_file: expected a fragments file, found none at {path}.")
    chunk_rows = check_positive_int(chunk_rows, name="chunk_rows")
    target = as_peaks(peaks)
    index = _PeakIndex(target)
    known = None if barcodes is None else pd.Index(list(barcodes))
    if known is not None and not known.is_unique:
        raise invalid("barcodes", "unique barcodes", "repeated ones")
    seen: dict[str, int] = {} if known is None else {b: i for i, b in enumerate(known)}
    rows, cols, per_chunk = [], [], []
    reader = pd.read_csv(
        path,
        sep="\t",
        comment="#",
        header=None,
        usecols=[0, 1, 2, 3],
        names=["chrom", "start", "end", "barcode"],
        dtype={"chrom": str, "start": np.int64, "end": np.int64, "barcode": str},
        chunksize=chunk_rows,
    )
    for chunk in reader:
        cells = _cell_positions(chunk["barcode"], seen, known)
        kept = cells >= 0
        per_chunk.append(np.bincount(cells[kept]))
        chunk, cells = chunk[kept], cells[kept]
        chroms = chromosome_key(chunk["chrom"].to_numpy())
        for chrom in np.unique(chroms):
            on = chroms == chrom
            for ends in (chunk["start"].to_numpy()[on], chunk["end"].to_numpy()[on] - 1):
                peak = index.lookup(chrom, ends)
                hit = peak >= 0
                rows.append(cells[on][hit])
                cols.append(peak[hit])
    n_cells = len(seen) if known is None else len(known)
    rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    counts = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_cells, len(target))
    )
    counts.sum_duplicates()
    n_fragments = np.zeros(n_cells, dtype=np.int64)
    for counted in per_chunk:
        n_fragments[: len(counted)] += counted
    names = list(known) if known is not None else list(seen)
    obs = pd.DataFrame({"n_fragments": n_fragments}, index=pd.Index(names, dtype=object))
    out = AnnData(X=counts, obs=obs, var=target.copy())
    covered = int((np.asarray(counts.sum(axis=0)).ravel() > 0).sum())
    out.uns[FEATURE_MATCH_KEY] = {
        "method": "fragments",
        "n_model_features": len(target),
        "n_matched": covered,
        "fraction": covered / max(len(target), 1),
    }
    return out


def _cell_positions(barcodes: pd.Series, seen: dict[str, int], known: pd.Index | None):
    """The cell of each fragment (``-1``: a barcode not asked for); new barcodes are added to
    ``seen`` when every barcode is counted.
    """
    if known is None:
        for barcode in pd.unique(barcodes):
            seen.setdefault(barcode, len(seen))
    return barcodes.map(seen).fillna(-1).to_numpy(dtype=np.int64)
