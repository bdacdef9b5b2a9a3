"""Training data kept on the training device, minibatches sliced there.

scvi-tools' loaders read each minibatch's rows on the host and copy them to the device every
step, which starves a GPU when the model is as small as scButterfly's. When the registered
matrices fit on the device, :class:`DeviceDataSplitter` copies the training and validation
rows there once (dense when that is small enough, else CSR) and every minibatch is gathered
on the device: no host work and no host-to-device copy per step.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import scipy.sparse as sp
import torch
from scvi.dataloaders import DataSplitter

from ..module import csr_tensor, row_ids

#: A matrix is kept dense on the device below this many bytes (float32), else as CSR.
DENSE_LIMIT_BYTES = 2 * 1024**3


class DeviceRows:
    """The rows of one registered matrix on a device; ``rows(index)`` gathers a block, dense,
    or CSR (``keep_sparse``) where the matrix is kept as CSR.
    """

    def __init__(
        self,
        matrix,
        device: torch.device,
        dense_limit: int = DENSE_LIMIT_BYTES,
        *,
        keep_sparse: bool = False,
    ):
        n_rows, n_cols = matrix.shape
        self.n_cols = n_cols
        self.keep_sparse = keep_sparse
        if sp.issparse(matrix) and n_rows * n_cols * 4 > dense_limit:
            csr = sp.csr_matrix(matrix, dtype=np.float32)
            self.crow = torch.from_numpy(csr.indptr.astype(np.int64)).to(device)
            self.col = torch.from_numpy(csr.indices.astype(np.int64)).to(device)
            self.values = torch.from_numpy(csr.data).to(device)
            self.dense = None
        else:
            array = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)
            self.dense = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(device)

    def rows(self, index: torch.Tensor) -> torch.Tensor:
        """Float32 block of the rows ``index`` (a tensor on the same device): dense, or a CSR
        tensor with ``keep_sparse`` when the matrix is held as CSR.
        """
        if self.dense is not None:
            return self.dense.index_select(0, index)
        starts = self.crow[index]
        lengths = self.crow[index + 1] - starts
        device = self.values.device
        row_pointers = torch.zeros(len(index) + 1, dtype=torch.int64, device=device)
        torch.cumsum(lengths, 0, out=row_pointers[1:])
        row = row_ids(row_pointers)  # the gathered block's row of every entry
        source = starts[row] + torch.arange(row.shape[0], device=device) - row_pointers[row]
        columns, values = self.col[source], self.values[source]
        if self.keep_sparse:
            return csr_tensor(row_pointers, columns, values, (len(index), self.n_cols))
        block = torch.zeros(len(index), self.n_cols, device=device)
        block[row, columns] = values
        return block

    @property
    def nbytes(self) -> int:
        """Bytes held on the device."""
        if self.dense is not None:
            return self.dense.numel() * 4
        return self.crow.numel() * 8 + self.col.numel() * 8 + self.values.numel() * 4


class DeviceBatches:
    """Minibatches (dicts of registry key → tensor) of ``positions``, gathered on the device.

    Shuffled anew every epoch with a generator seeded from torch's global seed, so that a
    seeded run repeats.
    """

    def __init__(
        self,
        columns: dict[str, DeviceRows],
        positions: torch.Tensor,
        *,
        batch_size: int,
        shuffle: bool,
        drop_last: bool,
    ):
        self.columns = columns
        self.positions = positions
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = torch.Generator(device="cpu")
        self.generator.manual_seed(int(torch.initial_seed()) % (2**63))

    def __len__(self) -> int:
        n = len(self.positions)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        order = self.positions
        if self.shuffle:
            permutation = torch.randperm(len(order), generator=self.generator)
            order = order[permutation.to(order.device)]
        for b in range(len(self)):
            index = order[b * self.batch_size : (b + 1) * self.batch_size]
            yield {key: column.rows(index) for key, column in self.columns.items()}


class DeviceDataSplitter(DataSplitter):
    """scvi-tools' ``DataSplitter`` (same split) whose loaders serve from device memory.

    Parameters
    ----------
    adata_manager
        The model's ``AnnDataManager``.
    data_and_attributes
        Registry keys to serve.
    batch_size, drop_last
        Minibatch size; drop a last, smaller training minibatch.
    sparse_keys
        Registry keys served as CSR tensors where they are held as CSR (the input of an
        encoder that reads sparse input).
    **kwargs
        The split (``train_size``, ``validation_size``, ``shuffle_set_split``,
        ``external_indexing``), as for ``DataSplitter``.
    """

    def __init__(
        self,
        adata_manager,
        *,
        data_and_attributes: Sequence[str],
        batch_size: int,
        drop_last: bool = False,
        sparse_keys: Sequence[str] = (),
        **kwargs,
    ):
        super().__init__(adata_manager, **kwargs)
        self.sparse_keys = frozenset(sparse_keys)
        self.keys = list(data_and_attributes)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.columns: dict[str, DeviceRows] | None = None

    def setup(self, stage: str | None = None) -> None:
        """Split, then copy the training and validation rows to the trainer's device."""
        super().setup(stage)
        if self.columns is not None:
            return
        trainer = getattr(self, "trainer", None)
        device = trainer.strategy.root_device if trainer is not None else torch.device("cpu")
        used = np.concatenate([np.asarray(self.train_idx), np.asarray(self.val_idx)])
        self.used = used.astype(np.int64)
        self.columns = {
            key: DeviceRows(
                _rows(self.adata_manager.get_from_registry(key), used),
                device,
                keep_sparse=key in self.sparse_keys,
            )
            for key in self.keys
        }
        self.device = device

    def _loader(self, start: int, stop: int, *, shuffle: bool, drop_last: bool):
        positions = torch.arange(start, stop, device=self.device)
        return DeviceBatches(
            self.columns,
            positions,
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=drop_last,
        )

    def train_dataloader(self):
        """Shuffled training minibatches."""
        return self._loader(0, len(self.train_idx), shuffle=True, drop_last=self.drop_last)

    def val_dataloader(self):
        """Validation minibatches, in order (none without validation cells)."""
        if len(self.val_idx) == 0:
            return []
        n_train = len(self.train_idx)
        return self._loader(n_train, n_train + len(self.val_idx), shuffle=False, drop_last=False)

    @property
    def device_bytes(self) -> int:
        """Bytes the training data take on the device."""
        return sum(c.nbytes for c in (self.columns or {}).values())


def _rows(matrix, rows: np.ndarray):
    if hasattr(matrix, "iloc"):  # a registered DataFrame (obsm)
        matrix = matrix.to_numpy()
    if sp.issparse(matrix):
        return sp.csr_matrix(matrix)[rows]
    return np.asarray(matrix)[rows]


def estimate_bytes(adata_manager, keys: Sequence[str]) -> int:
    """Bytes the registered matrices of ``keys`` take on a device (dense or CSR, whichever
    :class:`DeviceRows` would choose), for all cells.
    """
    total = 0
    for key in keys:
        matrix = adata_manager.get_from_registry(key)
        n_rows, n_cols = matrix.shape
        dense = n_rows * n_cols * 4
        if sp.issparse(matrix) and dense > DENSE_LIMIT_BYTES:
            total += matrix.nnz * 12 + (n_rows + 1) * 8
        else:
            total += dense
    return total
