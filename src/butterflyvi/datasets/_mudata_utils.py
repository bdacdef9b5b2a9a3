"""Assemble MuData objects with consistent cell order and global ``obs`` columns."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import anndata as ad
import mudata as md
import pandas as pd


def read_h5mu(path: Path) -> md.MuData:
    """Read an h5mu file without mudata's implicit column pulling (see `finalise_mudata`)."""
    with md.set_options(pull_on_update=False):
        return md.read_h5mu(path)


def build_mudata(mods: Mapping[str, ad.AnnData]) -> md.MuData:
    """Build a MuData from modalities and finalise it with `finalise_mudata`."""
    with md.set_options(pull_on_update=False):
        mdata = md.MuData(dict(mods))
    return finalise_mudata(mdata)


def finalise_mudata(mdata: md.MuData) -> md.MuData:
    """Check the cell order and copy the per-modality ``obs`` columns up, in place.

    mudata 0.3 names pulled columns ``"<mod>:<column>"`` (``"rna:cell_type"``). On top of
    those, every column present in all modalities with identical values is also stored
    unprefixed (``"cell_type"``), unless the global ``obs`` already has it.

    Parameters
    ----------
    mdata
        MuData whose modalities hold the same cells.

    Returns
    -------
    The same object, for chaining.

    Raises
    ------
    ValueError
        If the modalities do not hold the same cells in the same order.

    """
    names = list(mdata.mod)
    first = mdata.mod[names[0]].obs_names
    for name in names[1:]:
        other = mdata.mod[name].obs_names
        if not other.equals(first):
            raise ValueError(
                f"mods: expected modalities {names[0]!r} and {name!r} to hold the same cells in "
                f"the same order, found {len(first)} and {len(other)} cells "
                f"({len(first.intersection(other))} shared)."
            )
    mdata.pull_obs()
    for column in _agreeing_columns(mdata):
        if column not in mdata.obs.columns:
            values = mdata.mod[names[0]].obs[column].values  # keeps categoricals
            mdata.obs[column] = pd.Series(values, index=mdata.obs_names)
    if not mdata.obs_names.equals(first):
        raise ValueError("The global obs_names differ from those of the modalities.")
    return mdata


def _agreeing_columns(mdata: md.MuData) -> list[str]:
    """Columns present in every modality's ``obs`` with identical values."""
    tables = [adata.obs for adata in mdata.mod.values()]
    common = [c for c in tables[0].columns if all(c in t.columns for t in tables[1:])]
    return [c for c in common if all(_same(tables[0][c], t[c]) for t in tables[1:])]


def _same(a: pd.Series, b: pd.Series) -> bool:
    return a.reset_index(drop=True).astype(object).equals(b.reset_index(drop=True).astype(object))
