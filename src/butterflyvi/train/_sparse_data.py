"""Minibatches that keep sparse inputs sparse for the encoders that read them as they are.

scvi-tools' ``DataSplitter(load_sparse_tensor=True)`` loads a sparse registered matrix's rows
as a sparse tensor and densifies every sparse tensor again after the transfer to the device.
:class:`SparseInputDataSplitter` keeps the CSR rows of the keys named in ``sparse_keys`` (the
accessibility input of a chromosome-blocked encoder) and densifies the others, so that a
200,000-peak minibatch is never laid out dense for the encoder.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from scvi.dataloaders import DataSplitter

from ..module import csr_tensor

_SPARSE_LAYOUTS = (torch.sparse_csr, torch.sparse_csc, torch.sparse_coo)


class SparseInputDataSplitter(DataSplitter):
    """scvi-tools' ``DataSplitter`` (same split) that serves the rows of ``sparse_keys`` as
    CSR tensors.

    Parameters
    ----------
    adata_manager
        The model's ``AnnDataManager``.
    sparse_keys
        Registry keys served sparse (when their registered matrix is sparse).
    **kwargs
        As for ``DataSplitter``.
    """

    def __init__(self, adata_manager, *, sparse_keys: Sequence[str], **kwargs):
        super().__init__(adata_manager, load_sparse_tensor=True, **kwargs)
        self.sparse_keys = frozenset(sparse_keys)

    def on_after_batch_transfer(self, batch, dataloader_idx):
        """CSR rows for ``sparse_keys`` (64-bit indices), dense tensors for the rest."""
        for key, value in batch.items():
            if not isinstance(value, torch.Tensor) or value.layout not in _SPARSE_LAYOUTS:
                continue
            if key in self.sparse_keys and value.layout == torch.sparse_csr:
                batch[key] = csr_tensor(
                    value.crow_indices().long(),
                    value.col_indices().long(),
                    value.values(),
                    tuple(value.shape),
                )
            else:
                batch[key] = value.to_dense()
        return batch
