"""Input checks shared by every part of butterflyvi, with one message style.

Every message reads ``"<argument>: expected <what was expected>, found <what was found>."``,
optionally followed by a hint. One exception type per condition:

- :class:`TypeError`: an argument of the wrong type;
- :class:`MissingKeyError` (a ``KeyError`` and a ``ValueError``): a named layer, modality,
  column or key that is not there;
- :class:`ValueError`: any other bad value (NaN, negative counts, out of range, ...).

None of the checks modifies its input, and none densifies a sparse matrix: sparse matrices are
checked on their stored values, dense arrays and on-disk matrices in blocks.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ._constants import PP_UNS_KEY

# Elements per block when scanning dense arrays (keeps temporaries at a few MB).
_DENSE_BLOCK_ELEMENTS = 1 << 21


class MissingKeyError(KeyError, ValueError):
    """A named layer, modality, column or key is absent (also a ``ValueError``)."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


class ChecksumError(ValueError):
    """A file whose SHA-256 is not the one recorded for it (refused before it is read)."""


def message(argument: str, expected: str, found: str, hint: str | None = None) -> str:
    """``"argument: expected ..., found ...."`` plus an optional hint sentence."""
    text = f"{argument}: expected {expected}, found {found}"
    text = text if text.endswith((".", "?", "!")) else text + "."
    return f"{text} {hint}" if hint else text


def invalid(argument: str, expected: str, found: str, hint: str | None = None) -> ValueError:
    """A :class:`ValueError` in the house style."""
    return ValueError(message(argument, expected, found, hint))


def missing(argument: str, expected: str, found: str, hint: str | None = None) -> MissingKeyError:
    """A :class:`MissingKeyError` in the house style."""
    return MissingKeyError(message(argument, expected, found, hint))


def wrong_type(argument: str, expected: str, value: Any) -> TypeError:
    """A :class:`TypeError` in the house style (``found`` is the type of ``value``)."""
    return TypeError(message(argument, expected, type(value).__name__))


def check_epochs(
    pretrain: Any,
    integrative: Any,
    *,
    names: tuple[str, str] = ("max_epochs_pretrain", "max_epochs"),
    limits: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """The two phases' epoch counts: non-negative integers (at most ``limits``) with a
    positive sum. ``names`` are the arguments as the caller spells them (``--epochs``, ...).
    """
    for name, value, limit in zip(
        names, (pretrain, integrative), limits or (None, None), strict=True
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise invalid(name, "a non-negative integer number of epochs", repr(value))
        if limit is not None and value > limit:
            raise invalid(name, f"at most {limit} epochs", repr(value))
    if pretrain + integrative == 0:
        raise invalid(
            ", ".join(names),
            "numbers of epochs with a positive sum",
            f"{pretrain} and {integrative}",
        )
    return int(pretrain), int(integrative)


def _fmt_count(n: int) -> str:
    return f"{n:,}"


# ---------------------------------------------------------------------------- scalars
def check_positive_int(value: Any, *, name: str) -> int:
    """``value`` as an ``int`` if it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise invalid(name, "a positive integer", repr(value))
    return int(value)


def positive_float(value: Any, *, name: str) -> float:
    """``value`` as a ``float`` if it is a finite positive number."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise invalid(name, "a positive number", repr(value)) from None
    if not np.isfinite(out) or out <= 0:
        raise invalid(name, "a positive number", repr(value))
    return out


def check_fraction(value: Any, *, name: str) -> float:
    """``value`` as a ``float`` if it lies in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise invalid(name, "a number in [0, 1]", repr(value))
    value = float(value)
    if not (0.0 <= value <= 1.0):
        raise invalid(name, "a number in [0, 1]", repr(value))
    return value


def check_choice(value: Any, *, name: str, choices: Collection[Any]) -> None:
    """Refuse ``value`` unless it is one of ``choices``."""
    if value not in choices:
        raise invalid(name, f"one of {list(choices)}", repr(value))


def check_seed(seed: Any, *, name: str = "seed") -> int | None:
    """``seed`` as an ``int`` (or ``None``)."""
    if seed is None or (isinstance(seed, int | np.integer) and not isinstance(seed, bool)):
        return None if seed is None else int(seed)
    raise TypeError(message(name, "an integer or None", repr(seed)))


def check_batch_size(value: Any, *, name: str = "batch_size", minimum: int = 1) -> int:
    """``value`` as an ``int`` if it is an integer of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        expected = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
        raise invalid(name, expected, repr(value))
    return int(value)


# ---------------------------------------------------------------------------- names
def check_unique_names(names: Collection[str] | pd.Index, *, name: str) -> None:
    """Refuse duplicated feature or cell names (how many, and a few examples)."""
    index = pd.Index(names)
    if index.is_unique:
        return
    dup = index[index.duplicated()].unique()
    raise invalid(
        name,
        "unique names",
        f"{_fmt_count(len(dup))} duplicated (e.g. {list(map(str, dup[:5]))})",
        "Make them unique, e.g. with `var_names_make_unique()` / `obs_names_make_unique()`.",
    )


# ---------------------------------------------------------------------------- matrices
def stored_values(X: Any) -> Iterable[np.ndarray]:
    """The values of ``X`` block by block, without densifying it.

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


def value_summary(X: Any) -> dict[str, float | int]:
    """Counts of non-finite, negative and non-integer stored values, and the maximum."""
    n_bad = n_negative = n_fraction = 0
    maximum = -np.inf
    for block in stored_values(X):
        if block.size == 0:
            continue
        if not np.issubdtype(block.dtype, np.floating):
            block = block.astype(np.float64)
        finite = np.isfinite(block)
        n_bad += int(block.size - np.count_nonzero(finite))
        if n_bad:
            continue
        n_negative += int(np.count_nonzero(block < 0))
        n_fraction += int(np.count_nonzero(block != np.round(block)))
        maximum = max(maximum, float(block.max()))
    return {
        "n_nonfinite": n_bad,
        "n_negative": n_negative,
        "n_fraction": n_fraction,
        "maximum": maximum,
    }


def looks_like_counts(matrix: Any, *, max_values: int = 100_000, max_rows: int = 1000) -> bool:
    """Whether the (first ``max_values``) stored values are non-negative integers.

    An on-disk matrix (of an AnnData opened backed) is judged on its first ``max_rows`` rows.
    """
    if not (sparse.issparse(matrix) or isinstance(matrix, np.ndarray)):
        matrix = matrix[: min(matrix.shape[0], max_rows)]
    values = matrix.data if sparse.issparse(matrix) else np.asarray(matrix).ravel()
    values = np.asarray(values[:max_values])
    if values.size == 0:
        return False
    return bool(np.all(values >= 0) and np.all(np.mod(values, 1) == 0))


def check_finite(matrix: Any, *, name: str) -> None:
    """Refuse a matrix (sparse, dense or on disk) holding NaN or infinite values."""
    n_bad = 0
    for block in stored_values(matrix):
        if block.size and np.issubdtype(block.dtype, np.floating):
            n_bad += int(block.size - np.count_nonzero(np.isfinite(block)))
    if n_bad:
        raise invalid(name, "finite values", f"{_fmt_count(n_bad)} NaN or infinite entries")


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
    if not (sparse.issparse(X) or isinstance(X, np.ndarray)):
        try:
            X = np.asarray(X)
        except Exception:  # pragma: no cover - exotic containers
            raise invalid(name, "a numpy array or scipy sparse matrix", type(X).__name__) from None
    if len(X.shape) != 2:
        raise invalid(name, "a 2-dimensional cells × features matrix", f"shape {X.shape}")
    dtype = X.dtype
    if not (np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.bool_)):
        raise invalid(name, "a numeric matrix", f"dtype {dtype}")
    if not allow_empty and (X.shape[0] == 0 or X.shape[1] == 0):
        raise invalid(
            name,
            "at least one cell and one feature",
            f"shape {X.shape[0]} × {X.shape[1]} (empty matrix)",
        )
    if np.issubdtype(dtype, np.bool_):
        return
    is_integer_dtype = np.issubdtype(dtype, np.integer)
    n_nonfinite = n_negative = n_fraction = 0
    example_nonfinite = example_negative = example_fraction = None
    for block in stored_values(X):
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
        raise invalid(
            name,
            "finite values",
            f"{_fmt_count(n_nonfinite)} NaN or infinite entries (e.g. {example_nonfinite})",
        )
    if n_negative:
        raise invalid(
            name,
            "raw counts (non-negative integers)",
            f"{_fmt_count(n_negative)} negative entries (e.g. {example_negative})",
            hint,
        )
    if n_fraction:
        raise invalid(
            name,
            "raw counts (non-negative integers)",
            f"{_fmt_count(n_fraction)} non-integer entries (e.g. {example_fraction:g}); the "
            "matrix looks normalised or transformed already",
            hint,
        )


def get_matrix(adata: AnnData, layer: str | None, *, argument: str = "layer") -> Any:
    """``adata.X`` (``layer=None``) or ``adata.layers[layer]``, refusing unknown layers.

    Raises
    ------
    MissingKeyError
        If ``layer`` is not a key of ``adata.layers``, or ``adata.X`` is ``None``.
    """
    if not isinstance(adata, AnnData):
        raise wrong_type("adata", "an AnnData", adata)
    if layer is None:
        if adata.X is None:
            raise missing(
                argument,
                "the layer holding the data, since adata.X is None",
                "None",
                f"Available layers: {sorted(adata.layers.keys())}.",
            )
        return adata.X
    if layer not in adata.layers:
        raise missing(
            argument,
            f"one of the layers {sorted(adata.layers.keys())} or None for adata.X",
            repr(layer),
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


# ---------------------------------------------------------------------------- cells
def check_same_cells(names: pd.Index, reference: pd.Index, *, argument: str, what: str) -> None:
    """Refuse cells that differ from ``reference`` or come in another order, or repeat.

    scvi-tools reads every modality in its own row order, so cells that differ or come in a
    different order would be paired silently by position.
    """
    if not names.equals(reference):
        shared = names.intersection(reference)
        if len(shared) == len(reference) == len(names):
            found = "the same cells in a different order"
        else:
            found = (
                f"{len(names)} cells, {len(shared)} of them among the {len(reference)} "
                "reference cells"
            )
        raise invalid(
            argument,
            f"{what} to hold the same cells in the same order as mdata.obs_names",
            found,
            "Pair the modalities explicitly first, e.g. `muon.pp.intersect_obs(mdata)` and "
            "then `mdata = mdata[common_cells].copy()` with one shared order, or use "
            "`butterflyvi.tl.pair_unpaired` for unpaired data.",
        )
    if not names.is_unique:
        duplicated = names[names.duplicated()].unique()
        raise invalid(
            argument,
            f"one row per cell in {what}",
            f"{len(duplicated)} repeated obs_names (e.g. {list(duplicated[:5])})",
            "Make them unique first, e.g. with `obs_names_make_unique()` on each modality "
            "and `mdata.update()`.",
        )


# ---------------------------------------------------------------------------- fitted state
def check_state(
    state: Any,
    *,
    required: Mapping[str, Sequence[str]],
    name: str = "state",
    kind: str | None = None,
) -> str:
    """Validate a fitted preprocessing state and return its kind.

    Parameters
    ----------
    state
        The mapping written by a ``butterflyvi.pp.preprocess_*`` function into
        ``adata.uns["butterflyvi_preprocessing"]``.
    required
        ``{kind: keys every state of that kind holds}``, from the caller (``pp`` for its
        own states, the kinds registry for any registered kind).
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
        raise invalid(
            name,
            f"a mapping (the fitted state in adata.uns[{PP_UNS_KEY!r}])",
            type(state).__name__,
        )
    found = state.get("kind")
    found = str(found) if found is not None else None
    if found not in required:
        raise invalid(f"{name}['kind']", f"one of {list(required)}", repr(found))
    if kind is not None and found != kind:
        raise invalid(f"{name}['kind']", repr(kind), repr(found))
    keys = tuple(required[found])
    absent = [k for k in keys if k not in state]
    if absent:
        raise invalid(
            name,
            f"a {found!r} state with the keys {list(keys)}",
            f"one without {absent}",
        )
    return found


def get_state(
    adata: AnnData, *, required: Mapping[str, Sequence[str]], kind: str | None = None
) -> dict[str, Any]:
    """The fitted preprocessing state stored in ``adata.uns`` (``required`` as in
    :func:`check_state`).

    Raises
    ------
    MissingKeyError
        If ``adata`` was not preprocessed by ``butterflyvi.pp``.
    ValueError
        If the state is of another kind or incomplete.
    """
    if PP_UNS_KEY not in adata.uns:
        raise missing(
            "adata",
            f"a fitted preprocessing state in adata.uns[{PP_UNS_KEY!r}]",
            "none",
            "Run butterflyvi.pp.preprocess_rna, preprocess_atac or preprocess_adt first.",
        )
    state = dict(adata.uns[PP_UNS_KEY])
    check_state(state, required=required, name=f"adata.uns[{PP_UNS_KEY!r}]", kind=kind)
    return state
