"""Likelihoods per modality: count likelihoods on raw counts with the library size, their
predictions, and clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
import scvi
import torch

import butterflyvi as bf
from _synthetic import dense
from butterflyvi.module import NegativeBinomial, ZeroInflatedNegativeBinomial

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TRAIN = {"batch_size": 64, "accelerator": "cpu", "enable_progress_bar": False}


@pytest.fixture
def demo(snare_demo):
    mdata = snare_demo[:600].copy()
    bf.pp.preprocess_rna(mdata["rna"])
    bf.pp.preprocess_atac(mdata["atac"])
    mdata.update()
    return mdata


def measured_expression(mdata):
    """The RNA counts of ``mdata`` log-normalised as the model's stored preprocessing does."""
    rna = mdata["rna"]
    return bf.pp.apply_preprocessing(
        rna.copy(), state=rna.uns["butterflyvi_preprocessing"], var=rna.var, layer="counts"
    )


@pytest.fixture(scope="module")
def unseen():
    """Simulated paired counts (the ATAC tells the cell type, which sets some genes): 500
    training cells, 100 cells no model sees, and those 100 with their ATAC rows shuffled
    (a model that ignores its input cannot tell the two apart)."""
    mdata = bf.datasets.synthetic_paired(600, n_genes=300, n_peaks=2000, seed=0)
    bf.pp.preprocess_rna(mdata["rna"])
    bf.pp.preprocess_atac(mdata["atac"])
    mdata.update()
    train, held = mdata[:500].copy(), mdata[500:].copy()
    shuffled = held.copy()
    order = np.random.RandomState(0).permutation(held.n_obs)
    shuffled.mod["atac"] = held["atac"][order].copy()
    shuffled.mod["atac"].obs_names = held.obs_names
    return train, held, shuffled, measured_expression(held)


def assert_translates_unseen_cells(model, unseen) -> None:
    """Per-gene Pearson of ATAC -> RNA on the 100 unseen cells: 0.13-0.16 measured for
    nb, zinb and nb_crossmp at 10 + 40 epochs (seeds 0, 1), against 0.02-0.03 with the same
    cells' ATAC shuffled."""
    _, held, shuffled, truth = unseen
    score = bf.metrics.expression(model.translate(held, source="atac", threshold=0), truth)
    blind = bf.metrics.expression(model.translate(shuffled, source="atac", threshold=0), truth)
    assert score["pearson_per_feature_mean"] > 0.08
    assert score["pearson_per_feature_mean"] > blind["pearson_per_feature_mean"] + 0.05


def test_nb_log_likelihood_matches_torch():
    counts = torch.tensor([[0.0, 3.0, 10.0], [1.0, 0.0, 5.0]])
    likelihood = NegativeBinomial(3)
    with torch.no_grad():
        likelihood.log_theta.copy_(torch.tensor([0.1, -0.3, 1.2]))
    pre = torch.tensor([[0.2, -0.1, 1.0], [0.0, 0.5, -0.4]])
    library = counts.sum(1, keepdim=True)
    mu = torch.softmax(pre, -1) * library
    theta = likelihood.log_theta.exp()
    reference = torch.distributions.NegativeBinomial(
        total_count=theta, probs=mu / (mu + theta)
    ).log_prob(counts)
    assert torch.allclose(-likelihood.loss(pre, counts), reference.mean(), atol=1e-5)
    zinb = ZeroInflatedNegativeBinomial(3)
    with torch.no_grad():
        zinb.log_theta.copy_(likelihood.log_theta)
        zinb.zero_logit.fill_(-50.0)  # no zero inflation: the NB
    assert torch.allclose(zinb.loss(pre, counts), likelihood.loss(pre, counts), atol=1e-5)


@pytest.mark.parametrize("name", ["nb", "zinb"])
def test_count_likelihood_fits_raw_counts_and_predicts_log_normalised(unseen, name):
    scvi.settings.seed = 0  # the figure below must not depend on the tests run before
    train, held = unseen[0].copy(), unseen[1]
    bf.ButterflyModel.setup_mudata(train, modalities=("rna", "atac"))
    model = bf.ButterflyModel(train, likelihoods={"rna": name})
    assert model.module.likelihoods[0].name == name and model.module.uses_counts(0)
    median = float(np.median(np.asarray(train["rna"].layers["counts"].sum(1)).ravel()))
    assert float(model.module.likelihoods[0].median_library) == pytest.approx(median)
    model.train(max_epochs_pretrain=10, max_epochs=40, **TRAIN)
    pred = model.translate(held, source="atac", threshold=0)
    assert pred.uns["butterflyvi_translation"]["likelihood"] == name
    values = dense(pred.X)
    assert np.isfinite(values).all() and values.min() >= 0
    # log1p of counts per median library: each cell sums to about the median in counts
    assert np.expm1(values).sum(1) == pytest.approx(median, rel=1e-3)
    counts = model.translate(held, source="atac", threshold=0, library_size=500)
    assert dense(counts.X).sum(1) == pytest.approx(500, rel=1e-3)
    assert_translates_unseen_cells(model, unseen)


def test_count_likelihoods_need_the_counts_layer(demo):
    del demo["rna"].layers["counts"]
    demo.update()
    bf.ButterflyModel.setup_mudata(demo, modalities=("rna", "atac"))
    with pytest.raises(
        KeyError, match=r"likelihoods: expected raw counts in mdata\['rna'\].layers\['counts'\]"
    ):
        bf.ButterflyModel(demo, likelihoods={"rna": "nb"})
    with pytest.raises(
        ValueError, match=r"likelihoods: expected one of \['mse', 'nb', 'nb_crossmp', 'zinb'\]"
    ):
        bf.ButterflyModel(demo, likelihoods={"rna": "poisson"})
    with pytest.raises(KeyError, match="likelihoods: expected keys among the modalities"):
        bf.ButterflyModel(demo, likelihoods={"protein": "nb"})


def test_library_size_needs_a_count_likelihood(demo):
    bf.ButterflyModel.setup_mudata(demo, modalities=("rna", "atac"))
    model = bf.ButterflyModel(demo)
    with pytest.raises(
        ValueError, match="library_size: expected None for a target without a count"
    ):
        model.translate(demo, source="atac", library_size=100)


def test_likelihood_by_kind_and_legacy_name(demo):
    bf.ButterflyModel.setup_mudata(demo, modalities=("rna", "atac"))
    by_kind = bf.ButterflyModel(demo, likelihoods={"accessibility": "bce_tfidf"})
    assert [lik.name for lik in by_kind.module.likelihoods] == ["mse", "bce_tfidf"]
    legacy = bf.ButterflyModel(demo, accessibility_target="scaled")
    assert legacy.module.likelihoods[1].name == "bce_tfidf"
    assert [lik.name for lik in bf.ButterflyModel(demo).module.likelihoods] == ["mse", "bernoulli"]


def test_crossmp_nb_is_the_authors_loss_with_two_heads_per_gene():
    from butterflyvi.module import CrossMPNegativeBinomial

    counts = torch.tensor([[0.0, 3.0, 10.0], [1.0, 0.0, 5.0]])
    likelihood = CrossMPNegativeBinomial(3)
    likelihood.median_library.fill_(10.0)
    pre = torch.tensor([[0.2, -0.1, 1.0, 0.3, 2.0, -1.0], [0.0, 0.5, -0.4, 1.5, -0.2, 0.1]])
    rate = torch.exp(pre[:, :3])
    theta = torch.nn.functional.softplus(pre[:, 3:])
    # CrossMP's negative_binom_loss (loss_functions.py), its size factors = library / median
    y_pred = rate * counts.sum(1, keepdim=True) / 10.0
    eps = 1e-10
    t1 = torch.lgamma(theta + eps) + torch.lgamma(counts + 1.0) - torch.lgamma(counts + theta + eps)
    t2 = (theta + counts) * torch.log1p(y_pred / (theta + eps)) + counts * (
        torch.log(theta + eps) - torch.log(y_pred + eps)
    )
    torch.testing.assert_close(likelihood.loss(pre, counts), (t1 + t2).mean(), atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(likelihood.predict(pre), torch.log1p(rate))
    torch.testing.assert_close(
        likelihood.predict(pre, torch.tensor([20.0, 5.0])), rate * torch.tensor([[2.0], [0.5]])
    )


def test_crossmp_nb_trains_a_dispersion_head_and_predicts_expression(unseen):
    scvi.settings.seed = 0
    train, held = unseen[0].copy(), unseen[1]
    bf.ButterflyModel.setup_mudata(train, modalities=("rna", "atac"))
    model = bf.ButterflyModel(train, likelihoods={"rna": "nb_crossmp"})
    n_genes = train["rna"].n_vars
    assert model.module.decoders[0].output.linear.out_features == 2 * n_genes
    model.train(max_epochs_pretrain=10, max_epochs=40, **TRAIN)
    losses = model.history["train_loss"].to_numpy(float).ravel()
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    pred = model.translate(held, source="atac", threshold=0)
    assert pred.shape == held["rna"].shape
    assert pred.uns["butterflyvi_translation"]["likelihood"] == "nb_crossmp"
    values = dense(pred.X)
    assert np.isfinite(values).all() and values.min() >= 0
    assert_translates_unseen_cells(model, unseen)
    # the same cells translated to expected counts for a library of 500 counts
    counts = dense(model.translate(held, source="atac", threshold=0, library_size=500).X)
    np.testing.assert_allclose(
        counts,
        np.expm1(values) * 500 / float(model.module.likelihoods[0].median_library),
        rtol=1e-3,
    )
