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
