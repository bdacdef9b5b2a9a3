"""Another peak caller's view of the same cells: peaks shifted, split, merged and dropped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .._validation import check_seed, invalid
from ..pp._peaks import peak_coordinates


def recalled_peaks(
    atac: AnnData,
    *,
    shift: float = 0.3,
    split: float = 0.1,
    merge: float = 0.1,
    drop: float = 0.05,
    seed: int = 0,
) -> AnnData:
    """Simulate re-called peaks: the counts of ``atac`` on a peak set that differs as another
    pipeline's would.

    Each peak is, independently: dropped with probability ``drop`` (its counts lost); merged
    with the next peak of its chromosome with probability ``merge`` (one peak spanning both,
    counts summed); split in two halves with probability ``split`` (each count goes to one
    half at random); otherwise moved by up to ``shift`` × its length either way (counts kept).
    New peaks are named ``chrom:start-end``.

    Parameters
    ----------
    atac
        Cells × peaks raw counts with coordinates (``var`` chrom/start/end or peak names).
    shift, split, merge, drop
        The fractions above.
    seed
        Seed of the draws.

    Returns
    -------
    AnnData of the same cells × the re-called peaks (CSR float32 counts), ``var``
    ``chrom``/``start``/``end``.
    """
    check_seed(seed, name="seed")
    if split + merge + drop > 1:
        raise invalid(
            "split, merge, drop", "probabilities with a sum of at most 1", f"{split + merge + drop}"
        )
    rng = np.random.default_rng(seed)
    peaks = peak_coordinates(atac.var).reset_index(drop=True)
    order = np.lexsort((peaks["start"].to_numpy(), peaks["chrom"].astype(str).to_numpy()))
    peaks = peaks.iloc[order].reset_index(drop=True)
    counts = sp.csc_matrix(atac.X, dtype=np.float32)[:, order]
    fate = rng.choice(4, len(peaks), p=[drop, merge, split, 1 - drop - merge - split])
    last = np.r_[peaks["chrom"].to_numpy()[1:] != peaks["chrom"].to_numpy()[:-1], True]
    fate[(fate == 1) & last] = 3  # the last peak of a chromosome has nothing to merge with
    fate[np.r_[False, fate[:-1] == 1]] = 3  # a merged peak's partner is not used again
    columns, starts, ends, chroms = [], [], [], []
    length = (peaks["end"] - peaks["start"]).to_numpy()
    for kind, keep in ((1, fate == 1), (2, fate == 2), (3, fate == 3)):
        idx = np.flatnonzero(keep)
        if kind == 1:
            columns.append(counts[:, idx] + counts[:, idx + 1])
            starts.append(peaks["start"].to_numpy()[idx])
            ends.append(np.maximum(peaks["end"].to_numpy()[idx + 1], peaks["end"].to_numpy()[idx]))
            chroms.append(peaks["chrom"].to_numpy()[idx])
        elif kind == 2:
            block = counts[:, idx].tocoo()
            left = rng.binomial(block.data.astype(np.int64), 0.5).astype(np.float32)
            shape = block.shape
            columns.append(sp.csc_matrix((left, (block.row, block.col)), shape=shape))
            columns.append(sp.csc_matrix((block.data - left, (block.row, block.col)), shape=shape))
            middle = peaks["start"].to_numpy()[idx] + length[idx] // 2
            starts += [peaks["start"].to_numpy()[idx], middle]
            ends += [middle, peaks["end"].to_numpy()[idx]]
            chroms += [peaks["chrom"].to_numpy()[idx]] * 2
        else:
            moved = np.round(rng.uniform(-shift, shift, len(idx)) * length[idx]).astype(np.int64)
            columns.append(counts[:, idx])
            starts.append(np.maximum(peaks["start"].to_numpy()[idx] + moved, 0))
            ends.append(np.maximum(peaks["end"].to_numpy()[idx] + moved, 1))
            chroms.append(peaks["chrom"].to_numpy()[idx])
    var = pd.DataFrame(
        {
            "chrom": np.concatenate(chroms),
            "start": np.concatenate(starts),
            "end": np.concatenate(ends),
        }
    )
    var.index = (
        var["chrom"].astype(str) + ":" + var["start"].astype(str) + "-" + var["end"].astype(str)
    )
    order = np.lexsort((var["start"].to_numpy(), var["chrom"].astype(str).to_numpy()))
    var = var.iloc[order]
    unique = ~var.index.duplicated()  # two pieces that landed on the same interval: keep one
    matrix = sp.hstack(columns).tocsc()[:, order[unique]].tocsr().astype(np.float32)
    return AnnData(X=matrix, obs=atac.obs.copy(), var=var[unique])
