"""The per-feature correlation behind ``validation_objective="correlation"``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import pearsonr

from butterflyvi.train._correlation import FeatureCorrelation


def _mean_pearson(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean per-column Pearson (scipy), constant truth skipped, constant prediction as 0."""
    values = []
    for j in range(truth.shape[1]):
        if np.ptp(truth[:, j]) == 0:
            continue
        values.append(0.0 if np.ptp(pred[:, j]) == 0 else pearsonr(pred[:, j], truth[:, j])[0])
    return float(np.mean(values))


@pytest.mark.parametrize("batch_sizes", [(60,), (7, 23, 30), (1, 59)])
def test_minibatch_sums_give_the_correlation_of_all_cells(batch_sizes):
    rng = np.random.default_rng(0)
    truth = (rng.random((60, 12)) < 0.2).astype(np.float32)
    pred = (0.5 * truth + rng.random((60, 12))).astype(np.float32)
    truth[:, 3] = 1.0  # constant truth: skipped
    pred[:, 5] = 0.25  # constant prediction of a varying feature: 0
    accumulator = FeatureCorrelation()
    start = 0
    for size in batch_sizes:
        accumulator.update(
            torch.from_numpy(pred[start : start + size]),
            torch.from_numpy(truth[start : start + size]),
        )
        start += size
    assert float(accumulator.compute()) == pytest.approx(_mean_pearson(pred, truth), abs=1e-6)


def test_compute_resets_applies_reduce_and_handles_no_data():
    accumulator = FeatureCorrelation()
    assert accumulator.compute() is None
    truth = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    accumulator.update(truth, truth)
    # reduce sees the six running sums; doubling them (two identical processes) keeps r = 1
    seen = []
    score = accumulator.compute(lambda sums: seen.append(sums.shape) or 2 * sums)
    assert float(score) == pytest.approx(1.0)
    assert seen == [(6, 2)]
    assert accumulator.compute() is None  # the sums were reset


def test_all_constant_truth_scores_zero():
    accumulator = FeatureCorrelation()
    accumulator.update(torch.rand(5, 3), torch.ones(5, 3))
    assert float(accumulator.compute()) == 0.0
