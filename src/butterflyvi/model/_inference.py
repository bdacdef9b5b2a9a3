"""Running a trained module over new cells, minibatch by minibatch."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch
from anndata import AnnData
from mudata import MuData
from mudata import set_options as set_mudata_options

from .._validation import invalid, missing, wrong_type
from ..module import csr_tensor
from ._features import FeatureSpace, iterate_rows
from ._stream import RowsWriter, open_backed


@dataclass
class Translation:
    """A checked translation job: the source cells in the model's space and the target."""

    cells: AnnData
    matrix: Any
    extra: Any
    library: np.ndarray | None
    source: int
    target: int
    target_space: FeatureSpace
    uns: dict
    batch: np.ndarray | None = None
    target_batch: np.ndarray | None = None
    platt: Any = None

    def step(self, module, device) -> Callable[[torch.Tensor, slice], torch.Tensor]:
        """``step(x, rows)``: the prediction of one minibatch of source rows."""

        def run(x: torch.Tensor, rows: slice) -> torch.Tensor:
            library = None
            if self.library is not None:
                library = torch.from_numpy(self.library[rows]).to(device)
            extra = None if self.extra is None else dense_rows(self.extra, rows, device)
            batch, target_batch = (
                None if codes is None else torch.from_numpy(codes[rows]).to(device)
                for codes in (self.batch, self.target_batch)
            )
            out = module.translate(x, self.source, self.target, library, extra, batch, target_batch)
            if self.platt is not None:  # calibrated probabilities
                a, b = float(self.platt[0]), float(self.platt[1])
                out = torch.sigmoid(a * torch.logit(out.clamp(1e-7, 1 - 1e-7)) + b)
            return out

        return run


#: How a translation is returned: CSR, dense, or ``"auto"`` (dense above :data:`DENSE_ABOVE`).
Layout = Literal["auto", "dense", "sparse"]
#: ``"auto"`` returns a dense matrix when more than this fraction of the first block's values
#: are kept by the threshold (accessibility probabilities: nearly all): CSR would then take
#: 2-3x the memory of the dense matrix and cost more to build than to write.
DENSE_ABOVE = 0.5


def check_layout(layout: Layout) -> None:
    """Refuse an unknown ``layout`` (before any cell is read)."""
    if layout not in ("auto", "dense", "sparse"):
        raise invalid("layout", "'auto', 'dense' or 'sparse'", repr(layout))


class _Rows:
    """Thresholded prediction blocks collected in the layout chosen on the first block."""

    def __init__(self, threshold: float, layout: Layout):
        check_layout(layout)
        self.threshold = threshold
        self.layout = layout
        self.dense: bool | None = None

    def __call__(self, block: np.ndarray) -> np.ndarray | sp.csr_matrix:
        """``block`` with the values below the threshold set to 0, dense or CSR."""
        block = block.astype(np.float32, copy=False)
        kept = kept_values(block, self.threshold)
        if self.dense is None:
            share = np.count_nonzero(kept) / max(kept.size, 1)
            self.dense = self.layout == "dense" or (self.layout == "auto" and share > DENSE_ABOVE)
        if not self.dense:
            return to_csr(block, kept)
        block[~kept] = 0
        return block


class _Filled:
    """One dense array for all rows, filled block by block (no list of blocks to stack)."""

    def __init__(self, n_rows: int):
        self.n_rows = n_rows
        self.array: np.ndarray | None = None
        self.at = 0

    def add(self, block: np.ndarray) -> None:
        if self.array is None:
            self.array = np.empty((self.n_rows, block.shape[1]), dtype=np.float32)
        self.array[self.at : self.at + block.shape[0]] = block
        self.at += block.shape[0]


def predict_in_memory(
    module, job: Translation, batch_size: int, threshold: float, device, layout: Layout = "auto"
):
    """The prediction of ``job`` as an in-memory AnnData (values below ``threshold`` 0; dense
    or CSR as ``layout`` says).
    """
    rows = _Rows(threshold, layout)
    filled = _Filled(job.matrix.shape[0])

    def keep(block: np.ndarray):
        out = rows(block)
        if not rows.dense:
            return out
        filled.add(out)
        return None

    blocks = run_batches(
        module,
        job.matrix,
        job.step(module, device),
        batch_size=batch_size,
        device=device,
        post=keep,
        sparse=module.takes_sparse(job.source),
    )
    if rows.dense:
        matrix = filled.array
    elif blocks:
        matrix = stack_rows(blocks)
    else:
        matrix = np.zeros((0, job.target_space.n_features), dtype=np.float32)
    prediction = AnnData(X=matrix, obs=job.cells.obs.copy(), var=job.target_space.var())
    prediction.uns.update(job.uns)
    return prediction


def predict_to_file(
    module,
    job: Translation,
    out_file: str | Path,
    batch_size: int,
    threshold: float,
    device,
    confidence: Callable | None = None,
    bounds: Callable | None = None,
    uns: dict | None = None,
    layout: Layout = "auto",
) -> AnnData:
    """The prediction of ``job`` written block by block to ``out_file``, returned backed
    (``uns``: entries added to the job's ``uns``; ``layout`` as in memory).

    ``confidence(job, spread, obs)`` adds the cells' confidence to ``obs`` from the per-cell
    spread of the predictions, collected block by block, and returns their difficulty;
    ``bounds(values, difficulty) -> (lower, upper)`` (for intervals) is then applied to the
    written rows, read back block by block, and written as ``layers`` of the same layout.
    """
    from ._calibration import spread

    rows = _Rows(threshold, layout)
    binary = bool(module.likelihoods[job.target].binarised)
    spreads: list[np.ndarray] = []
    writer: RowsWriter | None = None  # opened on the first block, once its layout is known

    def write(block: np.ndarray) -> None:
        nonlocal writer
        out = rows(block)  # the spread of what is returned, as in memory
        spreads.append(spread(out, binary))
        if writer is None:
            writer = RowsWriter(out_file, job.target_space.n_features, dense=rows.dense)
        writer.append(out)

    try:
        run_batches(
            module,
            job.matrix,
            job.step(module, device),
            batch_size=batch_size,
            device=device,
            post=write,
            sparse=module.takes_sparse(job.source),
        )
        if writer is None:  # no cells
            writer = RowsWriter(out_file, job.target_space.n_features)
        obs = job.cells.obs.copy()
        difficulty = None
        if confidence is not None and spreads:
            difficulty = confidence(job, np.concatenate(spreads), obs)
        if bounds is not None:
            _write_bounds(writer, bounds, difficulty, batch_size)
        path = writer.finish(obs, job.target_space.var(), {**job.uns, **(uns or {})})
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    return open_backed(path)


def _write_bounds(
    writer: RowsWriter, bounds: Callable, difficulty: np.ndarray, batch_size: int
) -> None:
    """``layers["lower"]`` and ``["upper"]`` from the written prediction, block by block."""
    lower, upper = writer.layer("lower"), writer.layer("upper")
    layout = np.asarray if writer.dense else sp.csr_matrix
    for start in range(0, writer.n_rows, batch_size):
        stop = min(start + batch_size, writer.n_rows)
        values = writer.x.rows(start, stop)
        values = values.toarray() if sp.issparse(values) else np.asarray(values)
        low, high = bounds(values, difficulty[start:stop])
        lower.append(layout(low))
        upper.append(layout(high))


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
    post: Callable[[np.ndarray], Any] | None = None,
    sparse: bool = False,
) -> list:
    """``fn(block, rows)`` of every ``batch_size``-row block of ``matrix``, in eval mode;
    ``post`` is applied to each result as it comes (so that only one dense block is held).
    With ``sparse``, the blocks of a sparse ``matrix`` are passed as CSR tensors.
    """
    module.eval()
    out = []
    for start, block in enumerate(iterate_rows(matrix, batch_size, keep_sparse=sparse)):
        rows = slice(start * batch_size, start * batch_size + block.shape[0])
        result = fn(to_tensor(block, device), rows).cpu().numpy()
        out.append(result if post is None else post(result))
    return out


def to_tensor(block: np.ndarray | sp.csr_matrix, device) -> torch.Tensor:
    """A dense block as a tensor, a CSR block as a ``torch.sparse_csr`` tensor, on ``device``."""
    if not sp.issparse(block):
        return torch.from_numpy(block).to(device)
    parts = (block.indptr, block.indices, block.data)
    row_pointers, columns, values = (torch.from_numpy(part).to(device) for part in parts)
    return csr_tensor(row_pointers.long(), columns.long(), values, block.shape)


def dense_rows(matrix, rows: slice, device) -> torch.Tensor:
    """Rows ``rows`` of a sparse or dense matrix as a float32 tensor on ``device``."""
    block = matrix[rows]
    block = block.toarray() if sp.issparse(block) else np.asarray(block)
    return torch.from_numpy(block.astype(np.float32, copy=False)).to(device)


def kept_values(block: np.ndarray, threshold: float) -> np.ndarray:
    """Mask of the values of ``block`` a translation keeps: non-zero and at least
    ``threshold``, or NaN.
    """
    keep = (block >= threshold) & (block != 0)
    keep |= np.isnan(block)
    return keep


def to_csr(block: np.ndarray, keep: np.ndarray) -> sp.csr_matrix:
    """The ``keep`` entries of a dense float32 block as CSR (int32 indices where they fit).

    Built directly from the mask (one pass for the row counts, one boolean gather each for
    columns and values): about 7× faster than scipy's dense → COO → CSR path on a translated
    block.
    """
    indptr = np.zeros(block.shape[0] + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    columns = np.broadcast_to(np.arange(block.shape[1], dtype=np.int32), block.shape)
    index_dtype = np.int32 if indptr[-1] <= np.iinfo(np.int32).max else np.int64
    return sp.csr_matrix(
        (block[keep], columns[keep], indptr.astype(index_dtype, copy=False)),
        shape=block.shape,
    )


def stack_rows(blocks: list[sp.csr_matrix]) -> sp.csr_matrix:
    """CSR blocks stacked into one CSR matrix; each block is released once copied."""
    n_rows = sum(b.shape[0] for b in blocks)
    nnz = sum(b.nnz for b in blocks)
    n_cols = blocks[0].shape[1] if blocks else 0
    index_dtype = np.int64 if nnz > np.iinfo(np.int32).max else np.int32
    data = np.empty(nnz, dtype=np.float32)
    indices = np.empty(nnz, dtype=index_dtype)
    indptr = np.zeros(n_rows + 1, dtype=index_dtype)
    row = at = 0
    blocks.reverse()  # popped from the end: each block released once copied, no list shifts
    while blocks:
        block = blocks.pop()
        data[at : at + block.nnz] = block.data
        indices[at : at + block.nnz] = block.indices
        indptr[row + 1 : row + block.shape[0] + 1] = block.indptr[1:] + at
        row += block.shape[0]
        at += block.nnz
        del block
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))


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
