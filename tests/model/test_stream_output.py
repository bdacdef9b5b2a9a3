"""translate(out_file=...): the prediction written block by block to an .h5ad file."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest

import butterflyvi as bf
from _synthetic import assert_float32_close, dense


@pytest.fixture(scope="module")
def model():
    return bf.zoo.load("mouse-cortex-rna-atac")


@pytest.fixture(scope="module")
def rna_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "rna.h5ad"
    bf.datasets.snareseq_demo()["rna"][:700].copy().write_h5ad(path)
    return path


def test_a_backed_file_is_translated_to_a_file_as_in_memory(model, rna_file, tmp_path):
    backed = ad.read_h5ad(rna_file, backed="r")
    out = model.translate(backed, source="rna", out_file=tmp_path / "pred.h5ad", batch_size=256)
    assert out.isbacked and out.shape == (700, model.feature_spaces[1].n_features)
    in_memory = model.translate(ad.read_h5ad(rna_file), source="rna", batch_size=256)
    written = out.to_memory()
    assert written.obs_names.equals(in_memory.obs_names)
    assert written.var_names.equals(in_memory.var_names)
    assert_float32_close(dense(written.X), dense(in_memory.X))
    assert written.uns["butterflyvi_translation"]["target"] == "atac"
    assert not list(tmp_path.glob(".*partial"))


def test_a_translation_failing_midway_leaves_no_file(model, tmp_path):
    data = bf.datasets.snareseq_demo()["rna"][:700].copy()
    data.X = dense(data.X)
    data.X[600, 0] = np.nan  # in the third block of 256 rows: found while streaming
    data.write_h5ad(tmp_path / "bad.h5ad")
    backed = ad.read_h5ad(tmp_path / "bad.h5ad", backed="r")
    target = tmp_path / "pred.h5ad"
    with pytest.raises(ValueError, match="finite"):
        model.translate(backed, source="rna", out_file=target, batch_size=256, preprocess=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.h5ad"]


def test_recovered_counts_need_the_whole_prediction(model, tmp_path):
    data = bf.datasets.snareseq_demo()["rna"][:20].copy()
    with pytest.raises(ValueError, match="recover_counts: expected False with out_file"):
        model.translate(data, source="rna", out_file=tmp_path / "p.h5ad", recover_counts=True)


def test_the_written_file_has_int32_indices_as_anndata_writes(model, rna_file, tmp_path):
    import h5py

    backed = ad.read_h5ad(rna_file, backed="r")
    out = tmp_path / "pred.h5ad"
    model.translate(backed, source="rna", out_file=out, batch_size=256, layout="sparse")
    with h5py.File(out) as f:
        assert f["X/indices"].dtype == np.int32
        assert f["X/indptr"].dtype == np.int32
        assert f["X/indptr"][-1] == f["X/indices"].shape[0]
