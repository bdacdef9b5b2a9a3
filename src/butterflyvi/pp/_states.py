"""The preprocessing states ``butterflyvi.pp`` fits: the keys each holds and the function
that re-applies it to new cells, by the ``"kind"`` tag the fitting function writes.

This table is pp's own record of its three ``preprocess_*`` functions; the kinds registry
(:mod:`butterflyvi.kinds`) points at the same entries, and kinds registered elsewhere bring
their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ._adt import apply_adt
from ._atac import apply_atac
from ._rna import apply_rna


class FittedState(NamedTuple):
    """The keys a fitted state holds and the function that re-applies it."""

    keys: tuple[str, ...]
    apply: Callable[..., tuple]


STATES: dict[str, FittedState] = {
    "expression": FittedState(
        ("kind", "target_sum", "log1p", "n_top_genes", "flavor", "source_layer"), apply_rna
    ),
    "accessibility": FittedState(
        ("kind", "scale", "min_cell_fraction", "n_cells_fit", "source_layer"), apply_atac
    ),
    "protein": FittedState(("kind", "method", "source_layer"), apply_adt),
}

#: ``{kind tag: required keys}`` of the states pp writes (for ``check_state``).
STATE_KEYS: dict[str, tuple[str, ...]] = {kind: state.keys for kind, state in STATES.items()}
