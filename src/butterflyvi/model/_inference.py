"""Running a trained module over new cells, minibatch by minibatch."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import torch
from anndata import AnnData
from mudata import MuData
from mudata import set_options as set_mudata_options

from .._validation import invalid, missing, wrong_type
from ._features import FeatureSpace, iterate_rows


def modality_of(data: AnnData | MuData, space: FeatureSpace, layer: str | None):
    """The AnnData of ``space``'s modality in ``data``, and the layer to read.

    For a MuData, the modality of that name, read from the registered layer when it has one
    and no ``layer`` is given; an AnnData is taken as the modality itself.
    """
    if isinstance(data, MuData):
        if space.modality not in data.mod:
            raise missing(
                "data",
                f"a MuData with modality {space.modality!r}",
                f"modalities {list(data.mod)}",
            )
        adata = data[space.modality]
        if layer is None and space.layer in adata.layers:
            layer = space.layer
        return adata, layer
    if isinstance(data, AnnData):
        return data, layer
    raise wrong_type("data", "a MuData or AnnData", data)


def run_batches(
    module: torch.nn.Module,
    matrix,
    fn: Callable[[torch.Tensor, slice], torch.Tensor],
    *,
    batch_size: int,
    device: torch.device | str,
) -> list[np.ndarray]:
    """``fn(block, rows)`` of every ``batch_size``-row block of ``matrix``, in eval mode."""
    module.eval()
    out = []
    for start, block in enumerate(iterate_rows(matrix, batch_size)):
        rows = slice(start * batch_size, start * batch_size + block.shape[0])
        out.append(fn(torch.from_numpy(block).to(device), rows).cpu().numpy())
    return out


def sparse_rows(blocks: list[np.ndarray], threshold: float) -> sp.csr_matrix:
    """The blocks stacked into one CSR float32 matrix, values below ``threshold`` set to 0."""
    rows = []
    for block in blocks:
        block[block < threshold] = 0.0
        rows.append(sp.csr_matrix(block))
    return sp.vstack(rows, format="csr").astype(np.float32)


def library_sizes(library_size, n_cells: int) -> np.ndarray | None:
    """``library_size`` (one number or one per cell) as a float32 column, or ``None``."""
    if library_size is None:
        return None
    values = np.asarray(library_size, dtype=np.float64).reshape(-1)
    if values.size == 1:
        values = np.full(n_cells, float(values[0]))
    if values.size != n_cells or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise invalid(
            "library_size",
            f"a positive number or {n_cells:,} positive numbers (one per cell)",
            f"{values.size:,} values" if values.size != n_cells else "non-positive or NaN values",
        )
    return values.astype(np.float32)


def add_prediction(data: MuData, prediction: AnnData, key: str) -> None:
    """Add ``prediction`` to ``data`` as modality ``key`` with var_names ``"{key}:{name}"``.

    The prefix keeps the MuData's var_names unique when two modalities share feature names;
    the original names go to ``var["feature_name"]``.
    """
    stored = prefixed(prediction, key)
    data.mod[key] = stored
    # No pulling: the new modality's obs columns must not appear in data.obs.
    with warnings.catch_warnings(), set_mudata_options(pull_on_update=False):
        warnings.simplefilter("ignore", UserWarning)
        data.update()


def prefixed(prediction: AnnData, key: str) -> AnnData:
    """A copy of ``prediction`` with var_names ``"{key}:{name}"`` (original in
    ``var["feature_name"]``).
    """
    stored = prediction.copy()
    stored.var["feature_name"] = stored.var_names
    stored.var_names = [f"{key}:{name}" for name in stored.var_names]
    return stored
