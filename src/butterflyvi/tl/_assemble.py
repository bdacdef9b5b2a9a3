"""Building the MuData of training pairs: gathering rows and assembling the modalities."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from mudata import MuData

from .._constants import KIND_UNS_KEY, ORIGIN_KEY, PAIRING_UNS_KEY, SOURCE_CELL_PREFIX
from ..kinds import infer_kind

__all__ = ["assemble_mudata", "labels_to_str_keys", "pairs_to_mudata", "take_rows"]


def take_rows_matrix(matrix: Any, positions: np.ndarray) -> Any:
    """Return a new matrix holding the rows ``positions`` of ``matrix`` (repeats allowed).

    Sparse matrices are gathered in CSR form (converted once if needed; the input is not
    changed) and stay sparse; dense arrays and DataFrames are gathered with fancy indexing.

    Raises
    ------
    TypeError
        For matrix types that cannot be gathered in memory (e.g. dask or backed arrays).
    """
    if matrix is None:
        return None
    if sp.issparse(matrix):
        csr = matrix if matrix.format == "csr" else matrix.tocsr()
        return csr[positions]
    if isinstance(matrix, np.ndarray):
        return matrix[positions]
    if isinstance(matrix, pd.DataFrame):
        return matrix.iloc[positions]
    raise TypeError(
        f"Cannot gather rows of a {type(matrix).__name__}; load the data into memory "
        "(numpy or scipy.sparse) first."
    )


def take_rows(adata: AnnData, positions: np.ndarray, obs_names: Sequence[str]) -> AnnData:
    """Build a new AnnData from rows of ``adata``, named ``obs_names``.

    Returns
    -------
    A new AnnData with rows ``positions`` (repeats allowed) of X, every layer, obsm and obs
    (all columns, index replaced by ``obs_names``), copies of var, varm, varp and uns, and
    ``raw`` gathered the same way when present. ``obsp`` (cell-cell graphs) is not carried.
    """
    positions = np.asarray(positions, dtype=np.intp)
    index = pd.Index(obs_names, dtype=object)
    obs = adata.obs.iloc[positions].copy()
    obs.index = index
    obsm = {}
    for key, value in adata.obsm.items():
        rows = take_rows_matrix(value, positions)
        if isinstance(rows, pd.DataFrame):
            rows = rows.copy()
            rows.index = index
        obsm[key] = rows
    out = AnnData(
        X=take_rows_matrix(adata.X, positions),
        obs=obs,
        var=adata.var.copy(),
        uns=copy.deepcopy(dict(adata.uns)),
        obsm=obsm,
        varm={key: value.copy() for key, value in adata.varm.items()},
        varp={key: value.copy() for key, value in adata.varp.items()},
        layers={key: take_rows_matrix(value, positions) for key, value in adata.layers.items()},
    )
    if adata.raw is not None:
        out.raw = AnnData(
            X=take_rows_matrix(adata.raw.X, positions),
            obs=pd.DataFrame(index=index),
            var=adata.raw.var.copy(),
        )
    return out


def assemble_mudata(
    mods: Mapping[str, AnnData],
    *,
    obs: pd.DataFrame,
    uns: Mapping[str, Any] | None = None,
) -> MuData:
    """Assemble pairs into a MuData.

    Parameters
    ----------
    mods
        Modalities holding the same obs_names in the same order (checked).
    obs
        MuData-level columns, indexed like the modalities.
    uns
        MuData-level unstructured entries (copied).

    Returns
    -------
    A new MuData whose ``obs`` holds the columns of ``obs`` (and those mudata pulls from the
    modalities), with ``uns`` set and ``update()`` called.
    """
    names = None
    for mod, adata in mods.items():
        if names is None:
            names = adata.obs_names
        elif not adata.obs_names.equals(names):
            raise AssertionError(f"Internal error: modality {mod!r} is not aligned.")
    if names is None or not names.is_unique:
        raise ValueError(
            "obs_names: expected unique pair names, found repeats; the input obs_names must be "
            "unique and must not themselves look like generated pair names."
        )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pull_on_update.*", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*var_names are intersecting.*")
        warnings.filterwarnings("ignore", message=".*var_names are not unique.*")
        mdata = MuData(dict(mods))
        for column in obs.columns:
            mdata.obs[column] = obs[column].reindex(mdata.obs_names).to_numpy()
            if isinstance(obs[column].dtype, pd.CategoricalDtype):
                mdata.obs[column] = pd.Categorical(
                    mdata.obs[column], categories=obs[column].cat.categories
                )
        if uns:
            mdata.uns.update(copy.deepcopy(dict(uns)))
        mdata.update()
    return mdata


def labels_to_str_keys(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    """Return ``mapping`` with string keys and plain Python ints (writable to h5mu)."""
    return {str(k): int(v) if isinstance(v, int | np.integer) else v for k, v in mapping.items()}


def pairs_to_mudata(
    sources: Mapping[str, tuple[AnnData, np.ndarray]],
    *,
    obs_names: Sequence[str],
    origin: Any,
    obs: Mapping[str, Any],
    record: Mapping[str, Any],
    uns: Mapping[str, Any] | None = None,
    kinds: Mapping[str, str | None] | None = None,
) -> MuData:
    """The MuData of training pairs: row ``k`` of modality ``m`` is row
    ``positions[k]`` of ``sources[m][0]``.

    Adds the obs columns every pairing tool writes (``butterflyvi_origin`` and
    ``butterflyvi_source_cell_<mod>``), records each modality's kind in its
    ``uns["butterflyvi_kind"]`` where its name and data would not tell it (e.g. modalities
    called ``"control"`` and ``"stimulated"``; from ``kinds``, else inferred from the source),
    so that ``setup_mudata`` needs no ``kinds=``, and the pairing record in
    ``uns["butterflyvi_pairing"]``.

    Parameters
    ----------
    sources
        ``{modality: (adata, row positions)}``.
    obs_names
        Names of the pairs.
    origin
        The ``butterflyvi_origin`` column (one value for all, or one per pair).
    obs
        Further MuData-level columns, in pair order.
    record
        How the pairs were made.
    uns
        Further MuData-level entries.
    kinds
        Kind of each modality where it is known (``None``: inferred from its source).
    """
    index = pd.Index(obs_names)
    columns: dict[str, Any] = {
        ORIGIN_KEY: origin
        if isinstance(origin, pd.Categorical)
        else pd.Categorical(np.broadcast_to(np.asarray(origin, dtype=object), (len(index),)))
    }
    mods = {}
    for mod, (adata, positions) in sources.items():
        columns[f"{SOURCE_CELL_PREFIX}{mod}"] = adata.obs_names.to_numpy()[positions].astype(str)
        part = take_rows(adata, positions, index)
        kind = (kinds or {}).get(mod) or infer_kind(adata, mod)
        if kind is not None and infer_kind(part, mod) != kind:
            part.uns[KIND_UNS_KEY] = kind
        mods[mod] = part
    columns.update(obs)
    entries = dict(uns or {})
    entries[PAIRING_UNS_KEY] = dict(record)
    return assemble_mudata(mods, obs=pd.DataFrame(columns, index=index), uns=entries)
