"""Reusable input validators.

Every validator either returns quietly or raises :class:`ValueError` with a message that names
the offending argument, says what was expected and what was found. None of them modifies its
input, and none densifies a sparse matrix: sparse matrices are checked on their stored values
(``.data``), dense arrays in row blocks so that no full-size temporary is allocated.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from .._constants import ACCESSIBILITY, EXPRESSION, KINDS, PP_UNS_KEY, PROTEIN

__all__ = [
    "REQUIRED_STATE_KEYS",
    "check_choice",
    "check_fraction",
    "check_matrix",
    "check_positive_int",
    "check_state",
    "check_unique_names",
    "get_matrix",
    "get_state",
]

#: Keys each kind of fitted preprocessing state must hold (see ``butterflyvi.pp``).
REQUIRED_STATE_KEYS: dict[str, tuple[str, ...]] = {
    EXPRESSION: ("kind", "target_sum", "log1p", "n_top_genes", "flavor", "source_layer"),
    ACCESSIBILITY: ("kind", "scale", "min_cell_fraction", "n_cells_fit", "source_layer"),
    PROTEIN: ("kind", "method", "source_layer"),
}

# Elements per block when scanning dense arrays (keeps temporaries at a few MB).
_DENSE_BLOCK_ELEMENTS = 1 << 21


def _fmt_count(n: int) -> str:
    return f"{n:,}"


def _stored_values(X: Any) -> Iterable[np.ndarray]:
    """Yield the values of ``X`` block by block without densifying it.

    Also reads anndata's on-disk sparse datasets (the matrices of an AnnData opened backed)
    in chunks of their stored values, so checking a backed MuData never loads it.
    """
    group = getattr(X, "group", None)
    if group is not None and not sparse.issparse(X) and "data" in group:
        data = group["data"]
        for start in range(0, data.shape[0], _DENSE_BLOCK_ELEMENTS):
            yield np.asarray(data[start : start + _DENSE_BLOCK_ELEMENTS])
        return
    if sparse.issparse(X):
        X = X if X.format in ("csr", "csc", "coo") else X.tocsr()
        yield np.asarray(X.data)
        return
    arr = np.asarray(X)
    if arr.ndim != 2:
        yield arr.reshape(-1)
        return
    step = max(1, _DENSE_BLOCK_ELEMENTS // max(1, arr.shape[1]))
    for start in range(0, arr.shape[0], step):
        yield arr[start : start + step].reshape(-1)


def check_matrix(
    X: Any,
    *,
    name: str,
    require_counts: bool = False,
    allow_empty: bool = False,
    hint: str | None = None,
) -> None:
    """Validate a cells × features matrix.

    Parameters
    ----------
    X
        A dense :class:`numpy.ndarray` or any :mod:`scipy.sparse` matrix/array.
    name
        How the matrix is called in error messages, e.g. ``"adata.layers['counts']"``.
    require_counts
        If ``True``, also require non-negative, integer-valued entries (raw counts).
    allow_empty
        If ``False`` (default), a matrix with 0 rows or 0 columns is refused.
    hint
        Extra sentence appended to the error message of the count checks (e.g. which
        ``layer`` to pass instead).

    Raises
    ------
    ValueError
        If ``X`` is not two-dimensional, not numeric, empty (unless ``allow_empty``), holds
        NaN or infinite values, or—with ``require_counts``—negative or non-integer values.

    """
    suffix = f" {hint}" if hint else ""
    if not (sparse.issparse(X) or isinstance(X, np.ndarray)):
        try:
            X = np.asarray(X)
        except Exception as err:  # pragma: no cover - exotic containers
            raise ValueError(
                f"`{name}`: expected a numpy array or scipy sparse matrix, found {type(X).__name__}."
            ) from err
    if len(X.shape) != 2:
        raise ValueError(
            f"`{name}`: expected a 2-dimensional cells × features matrix, found shape {X.shape}."
        )
    dtype = X.dtype
    if not (np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.bool_)):
        raise ValueError(f"`{name}`: expected a numeric matrix, found dtype {dtype}.")
    if not allow_empty and (X.shape[0] == 0 or X.shape[1] == 0):
        raise ValueError(
            f"`{name}`: expected at least one cell and one feature, found shape "
            f"{X.shape[0]} × {X.shape[1]} (empty matrix)."
        )
    if np.issubdtype(dtype, np.bool_):
        return
    is_integer_dtype = np.issubdtype(dtype, np.integer)
    n_nonfinite = n_negative = n_fraction = 0
    example_nonfinite = example_negative = example_fraction = None
    for block in _stored_values(X):
        if block.size == 0:
            continue
        if not is_integer_dtype:
            bad = ~np.isfinite(block)
            k = int(bad.sum())
            if k:
                n_nonfinite += k
                if example_nonfinite is None:
                    example_nonfinite = block[bad][0]
        if require_counts:
            neg = block < 0
            k = int(neg.sum())
            if k:
                n_negative += k
                if example_negative is None:
                    example_negative = block[neg][0]
            if not is_integer_dtype:
                with np.errstate(invalid="ignore"):
                    frac = np.isfinite(block) & (block != np.round(block))
                k = int(frac.sum())
                if k:
                    n_fraction += k
                    if example_fraction is None:
                        example_fraction = block[frac][0]
    if n_nonfinite:
        raise ValueError(
            f"`{name}`: expected finite values, found {_fmt_count(n_nonfinite)} NaN or infinite "
            f"entries (e.g. {example_nonfinite})."
        )
    if n_negative:
        raise ValueError(
            f"`{name}`: expected raw counts (non-negative integers), found "
            f"{_fmt_count(n_negative)} negative entries (e.g. {example_negative}).{suffix}"
        )
    if n_fraction:
        raise ValueError(
            f"`{name}`: expected raw counts (non-negative integers), found "
            f"{_fmt_count(n_fraction)} non-integer entries (e.g. {example_fraction:g}); the "
            f"matrix looks normalised or transformed already.{suffix}"
        )


def get_matrix(adata: AnnData, layer: str | None, *, argument: str = "layer") -> Any:
    """Return ``adata.X`` (``layer=None``) or ``adata.layers[layer]``, refusing unknown layers.

    Parameters
    ----------
    adata
        The annotated data matrix.
    layer
        Layer name, or ``None`` for ``adata.X``.
    argument
        Name of the argument in the caller, for the error message.

    Raises
    ------
    ValueError
        If ``layer`` is not a key of ``adata.layers``, or ``adata.X`` is ``None``.

    """
    if not isinstance(adata, AnnData):
        raise ValueError(f"`adata`: expected an AnnData, found {type(adata).__name__}.")
    if layer is None:
        if adata.X is None:
            raise ValueError(
                f"`{argument}=None` selects `adata.X`, but `adata.X` is None; pass the layer "
                f"holding the data (available layers: {sorted(adata.layers.keys())})."
            )
        return adata.X
    if layer not in adata.layers:
        raise ValueError(
            f"`{argument}`: expected one of the layers of `adata` "
            f"{sorted(adata.layers.keys())} or None for `adata.X`, found {layer!r}."
        )
    return adata.layers[layer]


def matrix_name(layer: str | None) -> str:
    """Human-readable name of ``adata.X`` or ``adata.layers[layer]`` for messages."""
    return "adata.X" if layer is None else f"adata.layers[{layer!r}]"


def counts_hint(adata: AnnData, layer: str | None) -> str:
    """Suggest passing the raw-count layer when counts are required but not found."""
    others = [k for k in adata.layers.keys() if k != layer]
    if others:
        return (
            "Raw counts are required: if they are in a layer, pass it with `layer=` "
            f"(available layers: {others})."
        )
    return "Raw counts are required: pass them in `adata.X` or name their layer with `layer=`."


def check_unique_names(names: Collection[str] | pd.Index, *, name: str) -> None:
    """Refuse duplicated feature or cell names.

    Raises
    ------
    ValueError
        If ``names`` holds duplicates; the message gives how many and a few examples.

    """
    index = pd.Index(names)
    if index.is_unique:
        return
    dup = index[index.duplicated()].unique()
    raise ValueError(
        f"`{name}`: expected unique names, found {_fmt_count(len(dup))} duplicated "
        f"(e.g. {list(dup[:5])}); make them unique, e.g. with `adata.var_names_make_unique()`."
    )


def check_positive_int(value: Any, *, name: str) -> int:
    """Return ``value`` as ``int`` if it is a positive integer, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"`{name}`: expected a positive integer, found {value!r}.")
    return int(value)


def check_fraction(value: Any, *, name: str) -> float:
    """Return ``value`` as ``float`` if it lies in [0, 1], else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ValueError(f"`{name}`: expected a number in [0, 1], found {value!r}.")
    value = float(value)
    if not (0.0 <= value <= 1.0):
        raise ValueError(f"`{name}`: expected a number in [0, 1], found {value!r}.")
    return value


def check_choice(value: Any, *, name: str, choices: Collection[Any]) -> None:
    """Raise ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"`{name}`: expected one of {list(choices)}, found {value!r}.")


def check_state(state: Any, *, name: str = "state", kind: str | None = None) -> str:
    """Validate a fitted preprocessing state and return its kind.

    Parameters
    ----------
    state
        The mapping written by a ``butterflyvi.pp.preprocess_*`` function into
        ``adata.uns["butterflyvi_preprocessing"]``.
    name
        Argument name for error messages.
    kind
        If given, the kind the state must have.

    Raises
    ------
    ValueError
        If ``state`` is not a mapping, has an unknown ``"kind"`` or misses a required key.

    """
    if not isinstance(state, Mapping):
        raise ValueError(
            f"`{name}`: expected a mapping (the fitted state in "
            f"`adata.uns[{PP_UNS_KEY!r}]`), found {type(state).__name__}."
        )
    found = state.get("kind")
    found = str(found) if found is not None else None
    if found not in KINDS:
        raise ValueError(f"`{name}['kind']`: expected one of {list(KINDS)}, found {found!r}.")
    if kind is not None and found != kind:
        raise ValueError(f"`{name}['kind']`: expected {kind!r}, found {found!r}.")
    missing = [k for k in REQUIRED_STATE_KEYS[found] if k not in state]
    if missing:
        raise ValueError(
            f"`{name}`: a {found!r} state needs the keys {list(REQUIRED_STATE_KEYS[found])}, "
            f"found it without {missing}."
        )
    return found


def get_state(adata: AnnData, *, kind: str | None = None) -> dict[str, Any]:
    """Return the fitted preprocessing state stored in ``adata.uns``.

    Raises
    ------
    ValueError
        If ``adata`` was not preprocessed by ``butterflyvi.pp`` (or with another kind).

    """
    if PP_UNS_KEY not in adata.uns:
        raise ValueError(
            f"`adata`: expected a fitted preprocessing state in `adata.uns[{PP_UNS_KEY!r}]`, "
            "found none; run `butterflyvi.pp.preprocess_rna`, `preprocess_atac` or "
            "`preprocess_adt` first."
        )
    state = dict(adata.uns[PP_UNS_KEY])
    check_state(state, name=f"adata.uns[{PP_UNS_KEY!r}]", kind=kind)
    return state
