"""The device-resident training data path, exercised on the CPU (no GPU in CI): row
gathering from dense and CSR storage, epoch coverage, and training through it.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scvi
import torch

import butterflyvi as bf
from butterflyvi.model._training import resolve_data_on_device
from butterflyvi.train._device_data import DeviceBatches, DeviceRows

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta"),
]


@pytest.mark.parametrize("dense_limit", [0, 10**9], ids=["csr", "dense"])
def test_rows_are_gathered_exactly(dense_limit):
    rng = np.random.default_rng(0)
    matrix = sp.random(50, 30, density=0.1, format="lil", random_state=0, dtype=np.float32)
    matrix[7] = 0  # an empty row
    matrix = matrix.tocsr()
    stored = DeviceRows(matrix, torch.device("cpu"), dense_limit=dense_limit)
    assert (stored.dense is None) == (dense_limit == 0)
    index = torch.from_numpy(rng.choice(50, size=20, replace=True))
    index[0] = 7
    np.testing.assert_array_equal(stored.rows(index).numpy(), matrix[index.numpy()].toarray())
    kept_sparse = DeviceRows(matrix, torch.device("cpu"), dense_limit=dense_limit, keep_sparse=True)
    rows = kept_sparse.rows(index)
    assert rows.layout == (torch.sparse_csr if dense_limit == 0 else torch.strided)
    np.testing.assert_array_equal(rows.to_dense().numpy(), matrix[index.numpy()].toarray())


def test_an_epoch_serves_every_row_once():
    columns = {"x": DeviceRows(np.arange(23, dtype=np.float32)[:, None], torch.device("cpu"))}
    batches = DeviceBatches(columns, torch.arange(23), batch_size=5, shuffle=True, drop_last=False)
    seen = torch.cat([b["x"][:, 0] for b in batches]).long()
    assert len(batches) == 5 and sorted(seen.tolist()) == list(range(23))
    second = torch.cat([b["x"][:, 0] for b in batches]).long()
    assert second.tolist() != seen.tolist()  # reshuffled each epoch
    dropping = DeviceBatches(columns, torch.arange(23), batch_size=5, shuffle=True, drop_last=True)
    assert len(dropping) == 4 and all(len(b["x"]) == 5 for b in dropping)


def _train(mdata, on_device):
    scvi.settings.seed = 0
    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = bf.ButterflyModel(mdata, n_latent=8, n_hidden=32)
    model.train(
        max_epochs_pretrain=3,
        max_epochs=3,
        batch_size=32,
        data_on_device=on_device,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    return model


def test_training_through_device_resident_data(small_mdata):
    model = _train(small_mdata.copy(), True)
    again = _train(small_mdata.copy(), True)
    key = "pretrain_reconstruction_0"
    history = model.history[key].to_numpy(float).ravel()
    assert np.isfinite(history).all() and history[-1] < history[0]  # it learns
    # seeded: the same minibatches, the same weights
    for a, b in zip(model.module.parameters(), again.module.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    standard = _train(small_mdata.copy(), False)
    loss_standard = standard.history[key].to_numpy(float).ravel()
    assert abs(history[-1] - loss_standard[-1]) < 0.25 * abs(loss_standard[0])
    prediction = model.translate(small_mdata, source="rna")
    assert prediction.shape == small_mdata["atac"].shape


def test_auto_stays_on_the_host_without_a_gpu_and_bad_values_are_named(small_mdata):
    bf.ButterflyModel.setup_mudata(small_mdata, modalities=("rna", "atac"))
    model = bf.ButterflyModel(small_mdata)
    if not torch.cuda.is_available():
        assert resolve_data_on_device(model, "auto", "auto", "auto", None) is False
    assert resolve_data_on_device(model, True, "cpu", 1, None) is True
    with pytest.raises(ValueError, match="data_on_device: expected True, False or 'auto'"):
        resolve_data_on_device(model, "yes", "auto", "auto", None)
    with pytest.raises(ValueError, match="data_on_device: expected False with data backed"):
        resolve_data_on_device(model, True, "auto", 2, "ddp")
