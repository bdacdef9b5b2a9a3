"""Adding a modality kind is one ``register_kind`` call: a toy "methylation" kind, defined
here and nowhere in the package, sets up, trains for a few steps, translates, saves and loads.
This is the example of ``docs/architecture.md``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from anndata import AnnData
from mudata import MuData

import butterflyvi as bf
from _synthetic import assert_float32_close, dense, tiny_paired
from _tiny import QUIET
from butterflyvi.kinds import Kind, Likelihood, register_kind, unregister_kind
from butterflyvi.module._networks import mlp_decoder, mlp_encoder

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class BetaSquaredError(Likelihood):
    """Methylation levels in [0, 1]: a sigmoid output with a squared error."""

    name = "beta_mse"
    prediction = "methylation level in [0, 1]"

    def predict(self, pre, library=None):
        return torch.sigmoid(pre)

    def loss(self, pre, target):
        return F.mse_loss(self.predict(pre), target)

    def baseline(self, mean, mean_square):
        return (mean_square - mean.pow(2)).clamp_min(0).mean()

    def output_offset(self, mean, std):
        return torch.logit(mean.clamp(1e-4, 1 - 1e-4)), None


def preprocess_methylation(adata: AnnData, *, layer: str | None = None) -> None:
    """Methylated / covered read fractions are already levels in [0, 1]: only record a state."""
    adata.uns["butterflyvi_preprocessing"] = {"kind": "methylation", "source_layer": "X"}


def apply_methylation(counts, source, var, state):
    columns = source.get_indexer(var.index)
    values = sp.csr_matrix(counts)[:, columns]
    return values, values, {}


METHYLATION = Kind(
    name="methylation",
    description="DNA methylation level per region (toy)",
    feature_types=("methylation",),
    names=("met", "methylation"),
    preprocess=preprocess_methylation,
    state_keys=("kind", "source_layer"),
    apply=apply_methylation,
    build_encoder=lambda n, layout, spec: mlp_encoder(n, spec, n_hidden=32),
    build_decoder=lambda n, layout, spec: mlp_decoder(n, spec, n_hidden=32),
    likelihoods={"beta_mse": BetaSquaredError},
    default_likelihood="beta_mse",
    mask_rate=0.1,
    kl_weight=lambda n_features: 0.1 / n_features,
)


@pytest.fixture
def methylation_kind():
    register_kind(METHYLATION)
    yield METHYLATION
    unregister_kind("methylation")


def rna_and_methylation(n_cells: int = 90) -> MuData:
    rna = tiny_paired(n_cells, n_genes=30)["rna"]
    rng = np.random.default_rng(0)
    # Methylation follows the cell type, so it can be translated from RNA.
    types = rna.obs["cell_type"].cat.codes.to_numpy()
    levels = np.clip(rng.normal(0.2 + 0.3 * types[:, None], 0.05, (n_cells, 12)), 0, 1)
    met = AnnData(sp.csr_matrix(levels.astype(np.float32)), obs=rna.obs[[]].copy())
    met.var_names = [f"region{i}" for i in range(12)]
    preprocess_methylation(met)
    return MuData({"rna": rna, "met": met})


def test_a_kind_defined_outside_the_package_trains_translates_saves_and_loads(
    methylation_kind, tmp_path
):
    assert "methylation" in bf.kinds.available_kinds()
    mdata = rna_and_methylation()
    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "met"))  # kind inferred by name
    model = bf.ButterflyModel(mdata, n_embedding=32, n_latent=16, variational_head="linear")
    assert model.kinds_ == ["expression", "methylation"]
    assert model.module.mask_rates == (0.5, 0.1)
    model.train(
        max_epochs_pretrain=5,
        max_epochs=40,
        batch_size=16,
        **QUIET,
    )
    pred = model.translate(mdata, source="rna", threshold=0)
    assert pred.shape == mdata["met"].shape
    assert pred.uns["butterflyvi_translation"]["likelihood"] == "beta_mse"
    assert ((dense(pred.X) >= 0) & (dense(pred.X) <= 1)).all()
    # Translated methylation separates the cell types as the measured one does.
    types = mdata.obs["rna:cell_type"].cat.codes.to_numpy()
    means = [dense(pred.X)[types == t].mean() for t in range(3)]
    assert means[0] < means[1] < means[2]

    model.save(tmp_path / "model")
    loaded = bf.ButterflyModel.load(tmp_path / "model")
    assert_float32_close(
        dense(loaded.translate(mdata["rna"], source="rna", threshold=0).X), dense(pred.X)
    )


def test_registering_the_same_name_twice_is_refused(methylation_kind):
    with pytest.raises(ValueError, match="kind: expected a new kind name, found 'methylation'"):
        register_kind(METHYLATION)
