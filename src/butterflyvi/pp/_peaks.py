"""Peak names: parsing, annotation, natural chromosome order and per-chromosome groups."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd
from anndata import AnnData

from ._mudata import on_modality
from ._sparse import make_actual

__all__ = ["annotate_peaks", "chromosome_groups", "chromosome_order", "parse_peak_names"]

# chrom, then ":start-end", "-start-end" or "_start_end" at the end of the name.
_PEAK_PATTERN = re.compile(
    r"(?P<chrom>.+?)(?::(\d+)-(\d+)|-(\d+)-(\d+)|_(\d+)_(\d+))\Z", flags=re.ASCII
)

ACCEPTED_FORMATS = (
    "'chr1:100-200', 'chr1-100-200', 'chr1_100_200', '1-100-200' and scaffolds such as "
    "'chrUn_GL000195v1:100-200', 'chrUn_GL000195v1_100_200' or 'GL000195.1-100-200'"
)

_PEAK_COLUMNS = ("chrom", "start", "end")


def parse_peak_names(names: Iterable[str]) -> pd.DataFrame:
    """Parse peak names into chromosome, start and end.

    Accepted forms are ``chrom:start-end``, ``chrom-start-end`` and ``chrom_start_end``,
    where ``chrom`` may itself contain ``_``, ``-``, ``.`` (scaffolds), e.g. ``chr1:100-200``,
    ``chr1-100-200``, ``chr1_100_200``, ``1-100-200``, ``chrUn_GL000195v1:100-200``,
    ``chrUn_GL000195v1_100_200``, ``GL000195.1-100-200``. The coordinates are the last two
    integer fields; the chromosome is kept as written (prefix included).

    Parameters
    ----------
    names
        Peak names, e.g. ``adata.var_names``.

    Returns
    -------
    A :class:`pandas.DataFrame` indexed by the names (same order) with the columns
    ``chrom`` (str), ``start`` (int64) and ``end`` (int64).

    Raises
    ------
    ValueError
        If any name does not match the accepted forms, or has ``start > end``; the message
        gives how many names failed and an example.

    """
    index = pd.Index(names if not isinstance(names, str) else [names], dtype=object)
    parts = pd.Series(index.astype(str), dtype=object).str.extract(_PEAK_PATTERN)
    failed = parts["chrom"].isna().to_numpy()
    if failed.any():
        bad = index[failed]
        raise ValueError(
            f"Peak names: {int(failed.sum()):,} of {len(index):,} names could not be parsed as "
            f"genomic intervals (e.g. {str(bad[0])!r}). Accepted formats: {ACCEPTED_FORMATS}. "
            "Alternatively give `var` the columns 'chrom', 'start' and 'end'."
        )
    numbers = parts.drop(columns="chrom")
    start_v = numbers.iloc[:, 0].fillna(numbers.iloc[:, 2]).fillna(numbers.iloc[:, 4])
    end_v = numbers.iloc[:, 1].fillna(numbers.iloc[:, 3]).fillna(numbers.iloc[:, 5])
    start_v = start_v.astype(np.int64).to_numpy()
    end_v = end_v.astype(np.int64).to_numpy()
    chrom = parts["chrom"].to_numpy(dtype=object)
    _check_intervals(index, start_v, end_v)
    return pd.DataFrame({"chrom": chrom, "start": start_v, "end": end_v}, index=index)


def _check_intervals(index: pd.Index, start: np.ndarray, end: np.ndarray) -> None:
    inverted = start > end
    if inverted.any():
        i = int(np.flatnonzero(inverted)[0])
        raise ValueError(
            f"Peak coordinates: expected start <= end, found {int(inverted.sum()):,} peaks with "
            f"start > end (e.g. {str(index[i])!r}: start {start[i]}, end {end[i]})."
        )


def _columns_from_var(var: pd.DataFrame) -> pd.DataFrame | None:
    """Return valid chrom/start/end columns of ``var`` (normalised), or ``None``."""
    if not all(c in var.columns for c in _PEAK_COLUMNS):
        return None
    chrom = var["chrom"]
    if chrom.isna().any():
        return None
    chrom_str = chrom.astype(str)
    if (chrom_str.str.len() == 0).any():
        return None
    coords = []
    for col in ("start", "end"):
        values = pd.to_numeric(var[col], errors="coerce")
        if values.isna().any():
            return None
        arr = values.to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
            return None
        coords.append(arr.astype(np.int64))
    if np.any(coords[0] > coords[1]):
        return None
    return pd.DataFrame(
        {"chrom": chrom_str.to_numpy().astype(object), "start": coords[0], "end": coords[1]},
        index=var.index,
    )


def peak_coordinates(var: pd.DataFrame) -> pd.DataFrame:
    """Chrom/start/end of the peaks of ``var``: its own columns if valid, else parsed names."""
    existing = _columns_from_var(var)
    if existing is not None:
        return existing
    if all(c in var.columns for c in _PEAK_COLUMNS):
        try:
            parsed = parse_peak_names(var.index)
        except ValueError as err:
            raise ValueError(
                "`var` has the columns 'chrom', 'start' and 'end', but they are not valid "
                "(expected non-empty chromosome names and integer coordinates with "
                f"0 <= start <= end), and the peak names cannot be parsed either: {err}"
            ) from err
        warnings.warn(
            "`var` columns 'chrom', 'start', 'end' are not valid (missing values, non-integer "
            "or inverted coordinates); using coordinates parsed from the peak names instead.",
            UserWarning,
            stacklevel=3,
        )
        return parsed
    return parse_peak_names(var.index)


@on_modality
def annotate_peaks(adata: AnnData, *, copy: bool = False) -> AnnData | None:
    """Annotate peaks with their genomic coordinates.

    Uses the existing ``var`` columns ``chrom``, ``start`` and ``end`` when all three are
    present and valid (non-missing chromosome names, integer coordinates with
    ``0 <= start <= end``); otherwise parses ``adata.var_names`` with
    :func:`parse_peak_names`. Nothing is changed if the names cannot be parsed.

    Parameters
    ----------
    adata
        Annotated data matrix with peaks as variables.
    copy
        Return an annotated copy instead of writing into ``adata``.

    Returns
    -------
    ``None`` if ``copy=False``, else a new :class:`~anndata.AnnData`. Writes:

    - ``var["chrom"]`` (str): chromosome as written in the peak name (prefix kept),
    - ``var["start"]``, ``var["end"]`` (int64): peak coordinates.

    Raises
    ------
    ValueError
        If the coordinates can neither be taken from ``var`` nor parsed from the names.

    """
    coords = peak_coordinates(adata.var)
    if copy:
        adata = adata.copy()
    make_actual(adata)
    for col in _PEAK_COLUMNS:
        adata.var[col] = coords[col].to_numpy()
    return adata if copy else None


_SEX_AND_MITO = {"X": 0, "Y": 1, "M": 2, "MT": 2}


def _chrom_key(chrom: str) -> tuple:
    name = str(chrom)
    bare = name[3:] if name[:3].lower() == "chr" else name
    if bare.isdigit():
        return (0, int(bare), "", name)
    upper = bare.upper()
    if upper in _SEX_AND_MITO:
        return (1, _SEX_AND_MITO[upper], upper, name)
    return (2, 0, bare, name)


def chromosome_order(chroms: Iterable[str]) -> list[str]:
    """Order chromosome names naturally.

    Numbered chromosomes first, numerically (1, 2, …, 10, …, 22), then X, Y, M/MT, then every
    other name (scaffolds, contigs) alphabetically. A ``chr`` prefix is ignored for ordering
    (case-insensitively) but kept in the returned names. Duplicates are dropped.

    Parameters
    ----------
    chroms
        Chromosome names, in any order and possibly repeated (e.g. ``var["chrom"]``).

    Returns
    -------
    The distinct names, in natural genome order.

    """
    unique = pd.unique(pd.Series(list(chroms), dtype=object).astype(str))
    return sorted(unique, key=_chrom_key)


def chromosome_groups(var: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """Group peaks by chromosome, in natural genome order, each sorted by position.

    Never assumes the peaks are sorted: every group holds the integer positions (into ``var``)
    of one chromosome's peaks, ordered by start (then end, then original position).

    Parameters
    ----------
    var
        Peak annotation, e.g. ``adata.var``. Uses its ``chrom``/``start``/``end`` columns when
        valid (as written by :func:`annotate_peaks`), otherwise parses its index.

    Returns
    -------
    A list of ``(chrom, positions)`` with ``positions`` an int64 array; chromosomes follow
    :func:`chromosome_order`. The positions of all groups together are a permutation of
    ``range(len(var))``.

    """
    coords = peak_coordinates(var)
    chrom = coords["chrom"].to_numpy().astype(str)
    start = coords["start"].to_numpy()
    end = coords["end"].to_numpy()
    position = np.arange(len(coords), dtype=np.int64)
    codes, uniques = pd.factorize(chrom)
    order = np.lexsort((position, end, start, codes))
    sorted_codes = codes[order]
    groups: dict[str, np.ndarray] = {}
    bounds = np.flatnonzero(np.diff(sorted_codes)) + 1
    for chunk in np.split(order, bounds):
        if chunk.size:
            groups[str(uniques[codes[chunk[0]]])] = chunk.astype(np.int64)
    return [(c, groups[c]) for c in chromosome_order(groups)]
