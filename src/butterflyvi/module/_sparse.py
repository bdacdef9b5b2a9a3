"""CSR tensors (``torch.sparse_csr``): building them, and the few reads of one the networks
and the inference need without densifying it.
"""

from __future__ import annotations

import warnings

import torch


def csr_tensor(
    row_pointers: torch.Tensor,
    columns: torch.Tensor,
    values: torch.Tensor,
    shape: tuple[int, int],
) -> torch.Tensor:
    """A ``torch.sparse_csr`` tensor from its parts (not checked: the callers build valid
    ones), without torch's "beta" warning.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(row_pointers, columns, values, shape, check_invariants=False)


def row_ids(row_pointers: torch.Tensor) -> torch.Tensor:
    """The row of every stored entry of a CSR matrix with these row pointers."""
    n_rows = row_pointers.shape[0] - 1
    lengths = row_pointers[1:] - row_pointers[:-1]
    return torch.repeat_interleave(torch.arange(n_rows, device=row_pointers.device), lengths)


def dense(x: torch.Tensor) -> torch.Tensor:
    """``x`` itself, or densified when it is a CSR tensor (a sparse minibatch input)."""
    return x.to_dense() if x.layout == torch.sparse_csr else x


def dense_columns(x: torch.Tensor, columns: torch.Tensor | None) -> torch.Tensor:
    """The ``columns`` of ``x`` (all when ``None``), dense; a CSR ``x`` is read entry by
    entry, without densifying its other columns.
    """
    if columns is None:
        return dense(x)
    if x.layout != torch.sparse_csr:
        return x.index_select(1, columns)
    values = x.values()
    where = torch.full((x.shape[1],), -1, dtype=torch.int64, device=values.device)
    where[columns] = torch.arange(len(columns), device=values.device)
    position = where[x.col_indices()]
    kept = position >= 0
    out = torch.zeros(x.shape[0], len(columns), dtype=values.dtype, device=values.device)
    out[row_ids(x.crow_indices())[kept], position[kept]] = values[kept]
    return out


def row_totals(x: torch.Tensor) -> torch.Tensor:
    """Per-row sums of ``x`` (dense or CSR), as a ``(n, 1)`` column."""
    if x.layout != torch.sparse_csr:
        return x.sum(1, keepdim=True)
    values = x.values()
    totals = torch.zeros(x.shape[0], dtype=values.dtype, device=values.device)
    return totals.index_add_(0, row_ids(x.crow_indices()), values)[:, None]
