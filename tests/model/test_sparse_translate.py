"""Translation from accessibility reads the sparse peaks as they are (no dense block per
minibatch) and gives the prediction the dense path gives.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import butterflyvi as bf
from _synthetic import assert_float32_close, dense

pytestmark = pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")


@pytest.fixture(scope="module")
def model():
    return bf.zoo.load("mouse-cortex-rna-atac")


@pytest.fixture(scope="module")
def atac():
    return bf.datasets.snareseq_demo()["atac"][:300].copy()


def test_accessibility_input_is_read_sparse_with_the_dense_result(model, atac, monkeypatch):
    assert sp.issparse(atac.X)
    assert model.module.takes_sparse(1) and not model.module.takes_sparse(0)
    from_csr = model.translate(atac, source="atac", batch_size=128)
    latent_sparse = model.get_latent_representation(atac, modality="atac")
    monkeypatch.setattr(type(model.module), "takes_sparse", lambda self, m: False)
    from_dense = model.translate(atac, source="atac", batch_size=128)
    latent_dense = model.get_latent_representation(atac, modality="atac")
    assert_float32_close(dense(from_csr.X), dense(from_dense.X))
    assert_float32_close(latent_sparse, latent_dense)
    assert np.abs(latent_sparse).sum() > 0


def test_the_own_reconstruction_error_of_many_peaks_is_a_mean_over_spaced_peaks(
    model, atac, monkeypatch
):
    import torch

    from butterflyvi.module import _module
    from butterflyvi.module._sparse import dense_columns, row_totals

    module = model.module.eval()
    job = model._translation(
        atac[:64],
        "atac",
        preprocess="auto",
        missing_features="auto",
        layer=None,
        library_size=None,
        batch=None,
    )  # the cells in the model's peaks, preprocessed
    x = torch.tensor(dense(job.matrix), dtype=torch.float32)
    x_csr = x.to_sparse_csr()
    post = module.posterior(x, 1)
    full = module.cell_summary(x, 1, post)  # 5,429 peaks: every peak
    likelihood = module.likelihoods[1]
    with torch.inference_mode():
        pre = module.decode(module.translator.decode(post["mean"], 1), 1)
    every = (likelihood.predict(pre) - likelihood.target(x)).pow(2).mean(1)
    torch.testing.assert_close(full[:, -1], every)
    monkeypatch.setattr(_module, "SUMMARY_FEATURES", 1000)
    spaced = module.decoders[1].spaced_features(1000)
    assert len(spaced) == 1000 and len(set(spaced.tolist())) == 1000
    expected = (likelihood.predict(pre) - likelihood.target(x)).pow(2)[:, spaced].mean(1)
    for inputs in (x, x_csr):  # dense or CSR input alike
        subset = module.cell_summary(inputs, 1, post)
        torch.testing.assert_close(subset[:, -1], expected)
        torch.testing.assert_close(subset[:, :-1], full[:, :-1])
    torch.testing.assert_close(row_totals(x_csr), x.sum(1, keepdim=True))
    torch.testing.assert_close(dense_columns(x_csr, spaced), x[:, spaced])
