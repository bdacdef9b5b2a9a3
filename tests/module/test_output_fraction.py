"""Decoding and scoring a sample of the accessibility features per training step
(``output_fraction``): the sampled logits are the full ones, the loss is unbiased, and a model
trained that way still decodes every feature outside training.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import butterflyvi as bf
from _synthetic import dense
from _tiny import fit, make_raw, preprocess
from butterflyvi.module._layers import ChromosomeDecoderLayer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def decoder(n_features: int = 300, seed: int = 0) -> ChromosomeDecoderLayer:
    chromosome = np.random.default_rng(seed).integers(0, 4, n_features)
    groups = [np.flatnonzero(chromosome == c) for c in range(4)]
    torch.manual_seed(seed)
    return ChromosomeDecoderLayer(groups, n_features, units=8)


def test_a_sample_of_features_gets_exactly_the_full_logits_and_batch_norm_updates():
    layer = decoder()
    sampled = decoder()  # same weights
    h = torch.randn(16, 32)
    torch.manual_seed(3)
    features = layer.sample_features(0.2)
    assert len(features) == math.ceil(0.2 * 300) and len(set(features.tolist())) == len(features)
    full = layer(h)
    part = sampled(h, features)
    torch.testing.assert_close(part, full[:, features])
    # the running statistics of the sampled features moved as in the full pass; others not
    norm, norm_sampled = layer.norm, sampled.norm
    torch.testing.assert_close(norm_sampled.running_mean[features], norm.running_mean[features])
    torch.testing.assert_close(norm_sampled.running_var[features], norm.running_var[features])
    others = torch.ones(300, dtype=torch.bool)
    others[features] = False
    assert torch.all(norm_sampled.running_mean[others] == 0)
    layer.eval(), sampled.eval()
    torch.testing.assert_close(sampled(h, features), layer(h)[:, features])
    # gradients reach only the sampled features' weights
    sampled.train()
    sampled(h, features).square().sum().backward()
    grad = sampled.bias.grad.view(-1)[sampled.inverse]
    assert torch.all(grad[others] == 0) and torch.any(grad[features] != 0)


def test_the_loss_over_a_sample_is_an_unbiased_estimate_of_the_full_loss():
    layer = decoder().eval()  # fixed logits whatever the sample
    h = torch.randn(32, 32)
    target = (torch.rand(32, 300) < 0.1).float()
    full = F.binary_cross_entropy_with_logits(layer(h), target)
    # exactly: the mean over a partition into equal parts is the full mean
    parts = torch.randperm(300).view(5, 60)
    mean_of_parts = torch.stack(
        [F.binary_cross_entropy_with_logits(layer(h)[:, p], target[:, p]) for p in parts]
    ).mean()
    torch.testing.assert_close(mean_of_parts, full)
    # in expectation over the uniform samples the layer draws
    torch.manual_seed(0)
    draws = []
    for _ in range(2000):
        f = layer.sample_features(0.1)
        draws.append(float(F.binary_cross_entropy_with_logits(layer(h, f), target[:, f])))
    draws = np.asarray(draws)
    standard_error = draws.std(ddof=1) / np.sqrt(len(draws))
    assert abs(draws.mean() - float(full)) < 4 * standard_error
    assert draws.std() > 0  # the samples differ


def test_a_model_trained_on_sampled_features_decodes_every_feature_outside_training():
    mdata = preprocess(make_raw(120))
    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = bf.ButterflyModel(mdata, output_fraction=0.25)
    module = model.module
    n_peaks = mdata["atac"].n_vars
    module.train()
    torch.manual_seed(0)
    features = module.scored_features(1)
    assert features is not None and len(features) == math.ceil(0.25 * n_peaks)
    assert module.scored_features(0) is None  # the expression decoder is an MLP: all genes
    module.eval()
    assert module.scored_features(1) is None
    fit(model, pretrain=2, epochs=2)
    prediction = model.translate(mdata, source="rna")
    assert prediction.shape == (mdata.n_obs, n_peaks)
    assert np.isfinite(dense(prediction.X)).all()
    losses = model.history["train_loss"].to_numpy(float).ravel()
    assert len(losses) == 2 and np.isfinite(losses).all()


def test_output_fraction_is_checked():
    mdata = preprocess(make_raw(60))
    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    with pytest.raises(
        ValueError, match=r"output_fraction: expected None or a fraction in \(0, 1\]"
    ):
        bf.ButterflyModel(mdata, output_fraction=1.5)
