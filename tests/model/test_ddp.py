"""Scale paths: fast layers, input masking, fused Adam, deferred checks, epoch logging,
translation of on-disk (backed) data, and two-process DDP training on CPU.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def shuffled_groups(n_features: int = 50, seed: int = 0) -> list[np.ndarray]:
    """Three chromosomes whose peaks are interleaved (not contiguous) in the input."""
    perm = np.random.default_rng(seed).permutation(n_features)
    return [np.sort(perm[:10]), np.sort(perm[10:13]), np.sort(perm[13:])]


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
model.train(max_epochs_pretrain=1, max_epochs=2, batch_size=16, accelerator="cpu", devices=2,
    strategy="ddp_find_unused_parameters_true", enable_progress_bar=False,
    enable_model_summary=False,
)
rank = model.trainer.global_rank
out = {{"rank": rank, "best_epoch": model.best_epoch_, "history": sorted(model.history)}}
if rank == 0:
    model.save({model_dir!r}, save_anndata=False)
    loaded = bf.ButterflyModel.load({model_dir!r}, adata=mdata)
    before = np.asarray(model.translate(mdata, source="rna", layout="dense").X)
    after = np.asarray(loaded.translate(mdata, source="atac", layout="dense").X)
    out["same_after_load"] = bool(
        np.array_equal(before, np.asarray(loaded.translate(mdata, source="rna", layout="dense").X))
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
