"""Re-apply a fitted preprocessing state to new cells."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any, Literal

import pandas as pd
from anndata import AnnData

from .._constants import PP_UNS_KEY
from .._validation import (
    check_choice,
    check_matrix,
    check_state,
    check_unique_names,
    counts_hint,
    get_matrix,
    matrix_name,
)
from .._validation import get_state as _get_state
from ._sparse import to_csr
from ._states import STATE_KEYS, STATES

__all__ = ["apply_fitted", "apply_preprocessing", "get_state"]


def get_state(adata: AnnData, *, kind: str | None = None) -> dict[str, Any]:
    """The preprocessing state a ``butterflyvi.pp.preprocess_*`` function stored in
    ``adata.uns["butterflyvi_preprocessing"]``, checked (a ``MissingKeyError`` without one,
    a ``ValueError`` for one of another kind or incomplete).
    """
    return _get_state(adata, required=STATE_KEYS, kind=kind)


def apply_preprocessing(
    adata: AnnData,
    *,
    state: Mapping[str, Any],
    var: pd.DataFrame,
    layer: str | None = None,
    missing: Literal["error", "zero"] = "error",
) -> AnnData:
    """Apply a fitted preprocessing state to the raw counts of new cells.

    The features of ``adata`` may come in any order and include extra ones; the result has
    exactly the features of ``var``, in that order. Applied to the raw counts of the cells the
    state was fitted on, this reproduces their preprocessed ``X``.

    - ``"expression"``: each cell is normalised to ``state["target_sum"]`` with its total over
      **all** genes of ``adata`` (as in the fit, where totals precede the gene selection),
      then ``log1p``, then restricted to ``var``.
    - ``"accessibility"``: binarise, restrict to ``var``, ``TF = x / row sum`` over the kept
      peaks, times ``var["idf"]``, divided by ``state["scale"]`` (values may exceed 1 for
      cells unlike the training cells).
    - ``"protein"``: CLR (see :func:`preprocess_adt`) over the proteins of ``var``.

    Parameters
    ----------
    adata
        New cells with raw (integer) counts in ``adata.X`` or ``adata.layers[layer]``. It is
        not modified.
    state
        The fitted state, ``reference.uns["butterflyvi_preprocessing"]``.
    var
        The reference features, ``reference.var`` (with ``idf`` for accessibility).
    layer
        Layer of ``adata`` holding the raw counts; ``None`` for ``adata.X``.
    missing
        What to do with features of ``var`` absent from ``adata``: ``"error"`` raises,
        ``"zero"`` fills them with zeros and warns.

    Returns
    -------
    A new :class:`~anndata.AnnData` with ``obs`` copied from ``adata``, ``var`` a copy of
    ``var``, and:

    - ``layers["counts"]``: the raw counts of the ``var`` features (CSR, float32),
    - ``X``: the transformed values (CSR, float32),
    - ``obs["n_open_peaks"]`` (accessibility only): open peaks per cell among ``var``,
    - ``uns["butterflyvi_preprocessing"]``: a copy of ``state``.

    Raises
    ------
    ValueError
        On an invalid state, NaN/Inf, negative or non-integer counts, duplicated feature
        names, or missing features with ``missing="error"``.

    """
    kind = check_state(state, required=STATE_KEYS)
    return apply_fitted(
        adata, state=state, var=var, layer=layer, missing=missing, apply=STATES[kind].apply
    )


def apply_fitted(
    adata: AnnData,
    *,
    state: Mapping[str, Any],
    var: pd.DataFrame,
    apply: Callable[..., tuple],
    layer: str | None = None,
    missing: Literal["error", "zero"] = "error",
) -> AnnData:
    """Apply a fitted state with its ``apply`` function (see ``Kind.apply``): the checks,
    feature matching and output of :func:`apply_preprocessing`, for any kind.
    """
    check_choice(missing, name="missing", choices=("error", "zero"))
    if not isinstance(var, pd.DataFrame):
        raise ValueError(f"var: expected a pandas DataFrame, found {type(var).__name__}.")
    check_unique_names(var.index, name="var.index")
    if len(var) == 0:
        raise ValueError("var: expected at least one reference feature, found none.")
    X = get_matrix(adata, layer)
    check_matrix(X, name=matrix_name(layer), require_counts=True, hint=counts_hint(adata, layer))
    source = pd.Index(adata.var_names)
    target = pd.Index(var.index)
    needed = source.isin(target)
    if not source[needed].is_unique:
        check_unique_names(source[needed], name="adata.var_names")
    n_missing = int((~target.isin(source)).sum())
    if n_missing:
        examples = list(target[~target.isin(source)][:5])
        message = (
            f"adata: {n_missing:,} of the {len(target):,} reference features are missing "
            f"(e.g. {examples})"
        )
        if missing == "error":
            raise ValueError(
                message + "; pass `missing='zero'` to fill them with zeros, or align the "
                "features first."
            )
        warnings.warn(message + "; they are filled with zeros.", UserWarning, stacklevel=2)

    transformed, counts, obs_extra = apply(to_csr(X), source, var, state)
    out = AnnData(
        X=transformed,
        obs=adata.obs.copy(),
        var=var.copy(),
        layers={"counts": counts},
    )
    for key, values in obs_extra.items():
        out.obs[key] = values
    out.uns[PP_UNS_KEY] = dict(state)
    return out
