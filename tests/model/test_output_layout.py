"""translate(layout=...): a prediction denser than half is returned dense, a sparse one as
CSR, in memory and in a file alike; the interval layers follow ``X``.
"""

from __future__ import annotations

import anndata as ad
import h5py
import numpy as np
import pytest
import scipy.sparse as sp

import butterflyvi as bf
from _synthetic import assert_float32_close, dense


@pytest.fixture(scope="module")
def model():
    return bf.zoo.load("mouse-cortex-rna-atac")


@pytest.fixture(scope="module")
def rna():
    return bf.datasets.snareseq_demo()["rna"][:300].copy()


def test_auto_layout_is_dense_for_probabilities_and_csr_for_a_sparse_prediction(model, rna):
    probabilities = model.translate(rna, source="rna")
    assert isinstance(probabilities.X, np.ndarray) and probabilities.X.dtype == np.float32
    # a threshold that keeps under half of the values: CSR
    high = float(np.quantile(probabilities.X, 0.8))
    few = model.translate(rna, source="rna", threshold=high)
    assert sp.issparse(few.X)
    np.testing.assert_array_equal(
        dense(few.X), np.where(probabilities.X >= high, probabilities.X, 0)
    )
    forced = model.translate(rna, source="rna", layout="sparse")
    assert sp.issparse(forced.X) and forced.X.indices.dtype == np.int32
    np.testing.assert_array_equal(forced.X.toarray(), probabilities.X)
    assert isinstance(
        model.translate(rna, source="rna", threshold=high, layout="dense").X, np.ndarray
    )


def test_a_dense_prediction_streams_to_a_dense_file_with_dense_interval_layers(
    model, rna, tmp_path
):
    rna_file = tmp_path / "rna.h5ad"
    rna.write_h5ad(rna_file)
    streamed = model.translate(
        ad.read_h5ad(rna_file, backed="r"),
        source="rna",
        out_file=tmp_path / "pred.h5ad",
        batch_size=128,
        interval=0.9,
    )
    in_memory = model.translate(rna, source="rna", batch_size=128, interval=0.9)
    with h5py.File(tmp_path / "pred.h5ad") as f:
        assert isinstance(f["X"], h5py.Dataset) and f["X"].shape == in_memory.shape
        assert isinstance(f["layers/upper"], h5py.Dataset)
    written = streamed.to_memory()
    for layer in ("lower", "upper"):
        assert isinstance(in_memory.layers[layer], np.ndarray)
        assert_float32_close(written.layers[layer], in_memory.layers[layer])
    assert_float32_close(written.X, in_memory.X)


def test_an_unknown_layout_is_refused(model, rna):
    with pytest.raises(ValueError, match="layout: expected 'auto', 'dense' or 'sparse'"):
        model.translate(rna, source="rna", layout="coo")
