"""Scale paths: fast layers, input masking, fused Adam, deferred checks, epoch logging,
translation of on-disk (backed) data, and two-process DDP training on CPU.
"""

from __future__ import annotations

import anndata as ad
import mudata as md
import numpy as np
import pytest
import torch

import butterflyvi as bf
from _helpers import tiny_mdata
from _synthetic import assert_float32_close, dense

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_translate_reads_backed_mudata_in_row_blocks(tmp_path):
    mdata = tiny_mdata()
    bf.ButterflyModel.setup_mudata(mdata)
    model = bf.ButterflyModel(mdata)
    path = tmp_path / "data.h5mu"
    mdata.write(path)
    backed = md.read_h5mu(path, backed=True)
    assert backed["atac"].isbacked
    for source in ("rna", "atac"):
        # Other batch sizes round differently (float32 matmul blocking): compare within
        # float32 tolerance, with no threshold that a rounding difference could flip.
        expected = model.translate(mdata, source=source, threshold=0)
        got = model.translate(backed, source=source, threshold=0, batch_size=37, add_to_mdata=True)
        assert_float32_close(dense(got.X), dense(expected.X))
        assert_float32_close(
            model.get_latent_representation(backed, modality=source, batch_size=50),
            model.get_latent_representation(mdata, modality=source),
        )
        same_batches = model.translate(backed, source=source, threshold=0)
        np.testing.assert_array_equal(dense(same_batches.X), dense(expected.X))
    assert {"atac_from_rna", "rna_from_atac"} <= set(backed.mod)


def test_training_on_backed_mudata_reads_the_file_without_loading_it(tmp_path):
    mdata = tiny_mdata()
    for adata in mdata.mod.values():  # backed mode keeps only X on disk; layers would load
        adata.layers.clear()
    path = tmp_path / "data.h5mu"
    mdata.write(path)
    backed = md.read_h5mu(path, backed=True)
    bf.ButterflyModel.setup_mudata(backed)
    model = bf.ButterflyModel(backed)
    before = {k: v.clone() for k, v in model.module.state_dict().items()}
    model.train(max_epochs_pretrain=2, max_epochs=2, batch_size=32, enable_progress_bar=False)
    assert backed["atac"].isbacked and backed["rna"].isbacked
    # Minibatches read from disk are ordered differently (scvi-tools sorts the indices for
    # h5py), so the random masks differ from in-memory training: check that it learned.
    changed = [k for k, v in model.module.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.startswith("encoders.") for k in changed)
    assert any(k.startswith("translator") or k.startswith("discriminators") for k in changed)
    for key in ("pretrain_reconstruction_0", "pretrain_reconstruction_1"):
        values = model.history[key].to_numpy(float).ravel()
        assert np.isfinite(values).all() and values.size >= 2, key
    pred = model.translate(backed, source="rna")
    assert pred.shape == (mdata.n_obs, mdata["atac"].n_vars)


def test_translate_preprocesses_backed_raw_counts(tmp_path):
    raw = tiny_mdata()["rna"].copy()
    mdata = tiny_mdata()
    bf.ButterflyModel.setup_mudata(mdata)
    model = bf.ButterflyModel(mdata)
    counts = ad.AnnData(raw.layers["counts"].copy(), obs=raw.obs.copy(), var=raw.var[[]].copy())
    counts.write_h5ad(tmp_path / "counts.h5ad")
    backed = ad.read_h5ad(tmp_path / "counts.h5ad", backed="r")
    expected = dense(model.translate(counts, source="rna", threshold=0).X)
    assert_float32_close(
        dense(model.translate(backed, source="rna", threshold=0, batch_size=25).X), expected
    )
