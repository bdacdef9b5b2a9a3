"""CrossMP's fourth input for real: genes ranked by scVelo's velocity score on scVelo's own
simulated cells, then ``preset="crossmp"`` trained with all four encoders (RNA + velocity
genes, ATAC + gene activity).
"""

from __future__ import annotations

import anndata as ad
import mudata as md
import numpy as np
import pytest
import scipy.sparse as sp
import scvi
import torch

import butterflyvi as bf
from _tiny import QUIET

scv = pytest.importorskip("scvelo")  # the "velocity" extra; make install brings it

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def simulated():
    """scVelo's simulated spliced/unspliced counts (offline), cells along one trajectory."""
    rna = scv.datasets.simulation(n_obs=400, n_vars=40, random_seed=0)
    rna.obs_names = [f"cell{i}" for i in range(rna.n_obs)]
    rna.var_names = [f"gene{i}" for i in range(rna.n_vars)]
    return rna


def test_velocity_genes_are_ranked_by_the_velocity_score(simulated):
    out = bf.pp.velocity_genes(simulated, n_top=10)
    assert out.n_obs == simulated.n_obs and out.obs_names.equals(simulated.obs_names)
    assert 1 <= out.n_vars <= 10 and set(out.var_names) <= set(simulated.var_names)
    scores = out.var["velocity_score"].to_numpy()
    assert np.isfinite(scores).all() and (np.diff(scores) <= 0).all()
    assert np.isfinite(out.X).all() and out.X.std(axis=0).min() > 0
    # the simulation is untouched, and cells without the layers are skipped, not refused
    assert "Ms" not in simulated.layers
    assert bf.pp.velocity_genes(ad.AnnData(simulated.layers["spliced"])) is None


def _paired(rna: ad.AnnData, seed: int = 0) -> md.MuData:
    """RNA counts of the simulation with ATAC peaks that open along its time, and a gene
    activity matrix summed from those peaks."""
    rng = np.random.default_rng(seed)
    counts = np.rint(rna.layers["spliced"] + rna.layers["unspliced"]).astype(np.float32)
    expression = ad.AnnData(sp.csr_matrix(counts), obs=rna.obs[[]].copy())
    expression.var_names = rna.var_names
    expression.layers["spliced"] = rna.layers["spliced"]
    expression.layers["unspliced"] = rna.layers["unspliced"]
    n_peaks = 120
    time = rna.obs["true_t"].to_numpy()
    time = (time - time.min()) / (np.ptp(time) + 1e-9)
    centre = rng.uniform(0, 1, n_peaks)
    p_open = 0.05 + 0.6 * np.exp(-((time[:, None] - centre[None, :]) ** 2) / 0.02)
    peaks = (rng.uniform(size=p_open.shape) < p_open).astype(np.float32)
    chrom = np.repeat(["chr1", "chr2", "chr3"], n_peaks // 3)
    start = np.tile(np.arange(n_peaks // 3) * 1000, 3)
    names = [f"{c}-{s}-{s + 500}" for c, s in zip(chrom, start, strict=True)]
    atac = ad.AnnData(sp.csr_matrix(peaks), obs=rna.obs[[]].copy())
    atac.var_names = names
    atac.var["chrom"], atac.var["start"], atac.var["end"] = chrom, start, start + 500
    activity = ad.AnnData(np.log1p(peaks.reshape(rna.n_obs, 20, 6).sum(2)), obs=rna.obs[[]].copy())
    activity.var_names = [f"activity{i}" for i in range(20)]
    return md.MuData({"rna": expression, "atac": atac, "activity": activity})


def test_crossmp_trains_with_all_four_encoders(simulated):
    mdata = _paired(simulated)
    velocity = bf.pp.velocity_genes(mdata["rna"], n_top=10)
    bf.pp.preprocess_rna(mdata["rna"], n_top_genes=1000)
    bf.pp.preprocess_atac(mdata["atac"], min_cell_fraction=0.0)
    mdata.mod["velocity"] = velocity
    mdata.update()
    bf.ButterflyModel.setup_mudata(
        mdata,
        modalities=("rna", "atac"),
        extra_inputs={"rna": "velocity", "atac": "activity"},
    )
    scvi.settings.seed = 0
    model = bf.ButterflyModel(mdata, preset="crossmp")
    module = model.module
    assert module.has_extra(0) and module.has_extra(1)  # four encoders
    model.train(max_epochs=30, batch_size=64, train_size=1.0, calibrate=False, **QUIET)
    losses = model.history["train_loss"].to_numpy(float).ravel()
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert model.translate(mdata, source="rna").shape == mdata["atac"].shape
    assert model.translate(mdata, source="atac").shape == mdata["rna"].shape
    # each extra input reaches its encoder: replacing it changes the translation
    with torch.no_grad():
        rna = torch.tensor(mdata["rna"].X[:8].toarray(), dtype=torch.float32)
        extra = torch.tensor(np.asarray(velocity.X[:8]), dtype=torch.float32)
        with_velocity = module.translate(rna, 0, 1, extra=extra)
        without = module.translate(rna, 0, 1, extra=torch.zeros_like(extra))
        atac = torch.tensor(mdata["atac"].X[:8].toarray(), dtype=torch.float32)
        activity = torch.tensor(np.asarray(mdata["activity"].X[:8]), dtype=torch.float32)
        with_activity = module.translate(atac, 1, 0, extra=activity)
        without_activity = module.translate(atac, 1, 0, extra=torch.zeros_like(activity))
    assert not torch.allclose(with_velocity, without)
    assert not torch.allclose(with_activity, without_activity)
