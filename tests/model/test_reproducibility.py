"""Same ``scvi.settings.seed`` and data → identical translations on CPU, also after save/load.

The seed fixes the model's initialisation, the train/validation split, the minibatch order,
the input masks, dropout, the latent sampling and the discriminators' soft labels (all drawn
from torch's and numpy's global generators, which ``scvi.settings.seed`` seeds). GPU
behaviour is documented in ``docs/data_requirements.md``.
"""

from __future__ import annotations

import mudata as md
import numpy as np
import pytest
import scvi
import torch

from _synthetic import dense, tiny_paired
from _tiny import QUIET
from butterflyvi.model import ButterflyModel


@pytest.fixture(autouse=True)
def _isolated_global_state():
    """One torch thread; scvi's seed and cuDNN flags put back afterwards."""
    n = torch.get_num_threads()
    seed = scvi.settings._seed
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
    scvi.settings._seed = seed
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn


def data() -> md.MuData:
    return tiny_paired(60, n_genes=25, n_peaks=60, peak_density=0.2)


def run(seed: int) -> tuple[ButterflyModel, md.MuData]:
    mdata = data()
    scvi.settings.seed = seed
    ButterflyModel.setup_mudata(mdata)
    model = ButterflyModel(mdata)
    model.train(
        max_epochs_pretrain=1,
        max_epochs=2,
        batch_size=16,
        **QUIET,
    )
    return model, mdata


def outputs(model: ButterflyModel, mdata: md.MuData) -> list[np.ndarray]:
    return [
        dense(model.translate(mdata, source="rna").X),
        dense(model.translate(mdata, source="atac").X),
        model.get_latent_representation(mdata, modality="rna"),
    ]


def test_same_seed_same_translations_and_after_save_load(tmp_path):
    first, mdata = run(0)
    second, _ = run(0)
    expected = outputs(first, mdata)
    for a, b in zip(expected, outputs(second, mdata), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.train_indices, second.train_indices)
    for key, frame in first.history.items():
        np.testing.assert_array_equal(frame.to_numpy(), second.history[key].to_numpy())

    first.save(tmp_path / "model", save_anndata=False)
    loaded = ButterflyModel.load(tmp_path / "model", adata=mdata, accelerator="cpu")
    for a, b in zip(expected, outputs(loaded, mdata), strict=True):
        np.testing.assert_array_equal(a, b)

    other, _ = run(1)
    assert not np.array_equal(outputs(other, mdata)[0], expected[0])
