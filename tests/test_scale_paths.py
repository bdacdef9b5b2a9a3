"""Scale paths: fast layers, input masking, fused Adam, deferred checks, epoch logging,
translation of on-disk (backed) data, and two-process DDP training on CPU.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import anndata as ad
import mudata as md
import numpy as np
import pytest
import scvi
import torch

import butterflyvi as bf
from butterflyvi.module._layers import (
    ChromosomeDecoderLayer,
    ChromosomeEncoderLayer,
    input_dropout,
)
from butterflyvi.train import ButterflyTrainingPlan
from butterflyvi.train._plan import NonFiniteLossError, adam_options

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import _perf_variants

from _synthetic import tiny_paired

warnings.filterwarnings("ignore", category=FutureWarning)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def shuffled_groups(n_features: int = 50, seed: int = 0) -> list[np.ndarray]:
    """Three chromosomes whose peaks are interleaved (not contiguous) in the input."""
    perm = np.random.default_rng(seed).permutation(n_features)
    return [np.sort(perm[:10]), np.sort(perm[10:13]), np.sort(perm[13:])]


# ---------------------------------------------------------------- chromosome layers
def test_chromosome_layers_equal_one_linear_per_chromosome():
    torch.manual_seed(0)
    groups = shuffled_groups()
    enc = ChromosomeEncoderLayer(groups, 50, units=4).eval()
    dec = ChromosomeDecoderLayer(groups, 50, units=4, batch_norm=False)
    enc.norm, enc.activation = torch.nn.Identity(), torch.nn.Identity()
    x = torch.rand(7, 50)
    expected = torch.cat(
        [x[:, g] @ enc.weight[i, : len(g)] + enc.bias[i] for i, g in enumerate(groups)], 1
    )
    torch.testing.assert_close(enc(x), expected)
    h = torch.randn(7, 12)
    expected = torch.zeros(7, 50)
    for i, g in enumerate(groups):
        expected[:, g] = (
            h[:, 4 * i : 4 * i + 4] @ dec.weight[i, :, : len(g)] + dec.bias[i, : len(g)]
        )
    torch.testing.assert_close(dec(h), expected)


def test_padded_weights_get_no_gradient_and_never_change():
    groups = shuffled_groups()
    enc = ChromosomeEncoderLayer(groups, 50, units=4)
    dec = ChromosomeDecoderLayer(groups, 50, units=4)
    padding = torch.arange(enc.weight.shape[1])[None, :] >= enc.lengths[:, None]
    dec_padding = dec.weight.detach().transpose(1, 2)[padding].clone()
    optimiser = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=0.1)
    for _ in range(3):
        optimiser.zero_grad()
        dec(enc(torch.rand(8, 50))).pow(2).sum().backward()
        assert enc.weight.grad[padding].abs().max() == 0
        assert dec.weight.grad.transpose(1, 2)[padding].abs().max() == 0
        optimiser.step()
    assert enc.weight[padding].abs().max() == 0  # the encoder's padding starts and stays at 0
    # the decoder's padded outputs are dropped: their weights keep their initial values
    assert torch.equal(dec.weight.detach().transpose(1, 2)[padding], dec_padding)


@pytest.mark.parametrize("name", ["einsum", "loop"])
def test_benchmarked_layer_variants_compute_the_same_function(name):
    torch.manual_seed(0)
    groups = shuffled_groups()
    enc = ChromosomeEncoderLayer(groups, 50, units=4).eval()
    dec = ChromosomeDecoderLayer(groups, 50, units=4).eval()
    x, h = torch.rand(9, 50), torch.randn(9, 12)
    encoder, decoder = _perf_variants.LAYERS[name]
    torch.testing.assert_close(encoder(enc, x), enc(x))
    torch.testing.assert_close(decoder(dec, h), dec(h))


# ---------------------------------------------------------------- input masking
def test_input_dropout_is_inverted_dropout_of_the_non_zeros():
    x = (torch.rand(400, 300) < 0.1).float() * torch.rand(400, 300)
    torch.manual_seed(1)
    out = input_dropout(x, 0.3)
    assert torch.equal(out[x == 0], torch.zeros_like(out[x == 0]))
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / 0.7)
    n = int((x != 0).sum())
    # the fraction kept is Binomial(n, 0.7) / n: within 5 standard deviations
    assert abs(int(kept.sum()) / n - 0.7) < 5 * (0.21 / n) ** 0.5
    torch.manual_seed(1)
    assert torch.equal(input_dropout(x, 0.3), out)  # seeded: deterministic
    assert input_dropout(x, 0.3, training=False) is x
    assert input_dropout(x, 0.0) is x
    assert torch.equal(input_dropout(x, 1.0), torch.zeros_like(x))
    with pytest.raises(ValueError, match="probability"):
        input_dropout(x, 1.5)


# ---------------------------------------------------------------- optimiser
def test_fused_adam_on_cpu_gives_the_default_update():
    assert adam_options([torch.nn.Parameter(torch.zeros(3))]) == {"fused": True}
    torch.manual_seed(0)
    start = [torch.randn(20, 5), torch.randn(5)]
    grads = [torch.randn_like(p) for p in start]
    results = []
    for options in ({"foreach": False}, adam_options(start)):
        params = [torch.nn.Parameter(p.clone()) for p in start]
        optimiser = torch.optim.Adam(params, lr=1e-2, **options)
        for _ in range(5):
            for p, g in zip(params, grads, strict=True):
                p.grad = g.clone()
            optimiser.step()
        results.append([p.detach() for p in params])
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- plan
def tiny_mdata(n_cells: int = 120, seed: int = 0) -> md.MuData:
    return tiny_paired(n_cells, n_chromosomes=3, seed=seed)


def test_deferred_nonfinite_flag_is_raised_at_the_check():
    mdata = tiny_mdata()
    bf.ButterflyModel.setup_mudata(mdata)
    plan = ButterflyTrainingPlan(bf.ButterflyModel(mdata).module, n_epochs_pretrain=1)
    plan._nonfinite = torch.tensor(False)
    plan.on_train_epoch_end()  # a finite flag passes and is reset
    assert plan._nonfinite is None
    plan._nonfinite = torch.tensor(True)
    plan.on_train_batch_end(None, None, batch_idx=plan.finite_check_interval - 2)  # not due
    with pytest.raises(NonFiniteLossError, match="checked every 50 steps"):
        plan.on_train_batch_end(None, None, batch_idx=plan.finite_check_interval - 1)


def test_epoch_logging_gives_the_per_step_logging_history(monkeypatch):
    """The training values summed on the device and logged once per epoch give the history
    Lightning's per-step ``self.log`` gave (same seed, same training)."""

    def per_step(self, values, n, *, on_step):
        for name, value in values.items():
            self.log(name, value.detach(), batch_size=n, on_step=on_step, on_epoch=True)

    histories = []
    for patch in (False, True):
        if patch:
            monkeypatch.setattr(ButterflyTrainingPlan, "_log_values", per_step)
        mdata = tiny_mdata()
        scvi.settings.seed = 0
        bf.ButterflyModel.setup_mudata(mdata)
        model = bf.ButterflyModel(mdata)
        model.train(
            1,
            2,
            batch_size=32,
            accelerator="cpu",
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        histories.append(model.history)
    new, old = histories
    assert set(new) == set(old)
    assert {"train_loss", "pretrain_loss", "train_adversarial_applied"} <= set(new)
    for key in old:
        np.testing.assert_allclose(
            new[key].to_numpy(float), old[key].to_numpy(float), rtol=1e-5, err_msg=key
        )


# ---------------------------------------------------------------- on-disk data
def test_translate_reads_backed_mudata_in_row_blocks(tmp_path):
    mdata = tiny_mdata()
    bf.ButterflyModel.setup_mudata(mdata)
    model = bf.ButterflyModel(mdata)
    path = tmp_path / "data.h5mu"
    mdata.write(path)
    backed = md.read_h5mu(path, backed=True)
    assert backed["atac"].isbacked
    for source in ("rna", "atac"):
        expected = model.translate(mdata, source=source, add_to_mdata=False).X.toarray()
        got = model.translate(backed, source=source, batch_size=37).X.toarray()
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(
            model.get_latent_representation(backed, modality=source, batch_size=50),
            model.get_latent_representation(mdata, modality=source),
        )
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
    pred = model.translate(backed, source="rna", add_to_mdata=False)
    assert pred.shape == (mdata.n_obs, mdata["atac"].n_vars)


def test_translate_preprocesses_backed_raw_counts(tmp_path):
    raw = tiny_mdata()["rna"].copy()
    mdata = tiny_mdata()
    bf.ButterflyModel.setup_mudata(mdata)
    model = bf.ButterflyModel(mdata)
    counts = ad.AnnData(raw.layers["counts"].copy(), obs=raw.obs.copy(), var=raw.var[[]].copy())
    counts.write_h5ad(tmp_path / "counts.h5ad")
    backed = ad.read_h5ad(tmp_path / "counts.h5ad", backed="r")
    expected = model.translate(counts, source="rna").X.toarray()
    np.testing.assert_array_equal(
        model.translate(backed, source="rna", batch_size=25).X.toarray(), expected
    )


# ---------------------------------------------------------------- DDP
DDP_SCRIPT = """
import json, os, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np, scvi, torch
import butterflyvi as bf
torch.set_num_threads(1)
mdata = bf.datasets.synthetic_paired(
    160, n_genes=30, n_peaks=80, n_cell_types=3, n_chromosomes=3, peak_density=0.15
)
bf.pp.preprocess_rna(mdata["rna"], n_top_genes=1000)
bf.pp.preprocess_atac(mdata["atac"], min_cell_fraction=0.0)
mdata.update()
scvi.settings.seed = 0
bf.ButterflyModel.setup_mudata(mdata)
model = bf.ButterflyModel(mdata)
torch.set_num_threads(1)
model.train(
    1, 2, batch_size=16, accelerator="cpu", devices=2,
    strategy="ddp_find_unused_parameters_true", enable_progress_bar=False,
    enable_model_summary=False,
)
rank = model.trainer.global_rank
out = {{"rank": rank, "best_epoch": model.best_epoch_, "history": sorted(model.history)}}
if rank == 0:
    model.save({model_dir!r}, save_anndata=False)
    loaded = bf.ButterflyModel.load({model_dir!r}, adata=mdata)
    before = model.translate(mdata, source="rna", add_to_mdata=False).X.toarray()
    after = loaded.translate(mdata, source="atac", add_to_mdata=False).X.toarray()
    out["same_after_load"] = bool(
        np.array_equal(before, loaded.translate(mdata, source="rna", add_to_mdata=False).X.toarray())
    )
    out["finite"] = bool(np.isfinite(before).all() and np.isfinite(after).all())
with open(os.path.join({tmp!r}, f"rank{{rank}}.json"), "w") as f:
    json.dump(out, f)
"""


@pytest.mark.slow  # two processes, each importing the stack: 127 s on the loaded 2-core machine
def test_ddp_on_two_cpu_processes_trains_a_model_that_saves_loads_and_translates(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(DDP_SCRIPT.format(model_dir=str(tmp_path / "model"), tmp=str(tmp_path)))
    # Lightning's DDP launcher starts rank 1 by running the same script again.
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    # the validation objective is reduced over both processes: the same best epoch on each
    assert ranks[0]["best_epoch"] == ranks[1]["best_epoch"] is not None
    assert "train_loss" in ranks[0]["history"]  # rank 0 holds the history
    assert ranks[0]["same_after_load"] and ranks[0]["finite"]
