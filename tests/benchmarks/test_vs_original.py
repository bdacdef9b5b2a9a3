"""Benchmark helpers: the side-by-side run chooses butterflyvi's epoch on validation cells
and divides times of the same round only; when a pretraining patience would stop."""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.pretrain_patience import stopping_epoch
from benchmarks.vs_original import FIGURES, _round_figures, time_to_quality


def _figures(value: float) -> dict:
    return dict.fromkeys(FIGURES, value)


def test_time_to_quality_is_chosen_on_validation_cells_only():
    records = [
        {"epoch": 0, "train_seconds": 1.0},  # pretraining: not scored
        {"epoch": 1, "train_seconds": 2.0, "validation": _figures(0.5), "test": _figures(0.9)},
        {"epoch": 2, "train_seconds": 3.0, "validation": _figures(0.7), "test": _figures(0.1)},
    ]
    # epoch 1's test figures would pass; only validation decides, so epoch 2 is chosen
    assert time_to_quality(records, _figures(0.6)) == {"epoch": 2, "train_seconds": 3.0}
    missed = time_to_quality(records, _figures(0.8))
    assert missed["epoch"] is None and missed["best_validation"] == _figures(0.7)


def test_round_ratios_divide_times_of_the_same_round():
    def ours(pre: float, integrative: float, reached: float | None) -> dict:
        return {
            "seconds": {"pretraining": pre, "integrative": integrative},
            "time_to_original_quality": {"train_seconds": reached},
        }

    round_ = {
        "original": {
            "seconds": {"rna_pretraining": 10.0, "atac_pretraining": 20.0, "integrative": 90.0}
        },
        "butterflyvi": {0: ours(10.0, 30.0, 12.0), 1: ours(20.0, 40.0, None)},
    }
    figures = _round_figures(round_)
    assert figures["butterflyvi_seconds"]["total"] == pytest.approx(50.0)  # mean of the seeds
    assert figures["speed_ratio"]["total"] == pytest.approx(120.0 / 50.0)
    assert figures["time_to_quality_over_original_training"] == [pytest.approx(0.1)]
    assert figures["seeds_reaching_quality"] == "1 of 2"


def test_pretrain_patience_stops_after_that_many_epochs_without_a_new_minimum():
    losses = np.array([5.0, 4.0, 4.5, 4.2, 3.9, 4.0, 4.1, 4.3, 4.4])
    assert stopping_epoch(losses, 3) == 7  # best at epoch 4, then 3 epochs without a new one
    assert stopping_epoch(losses, 5) is None
    # at the last pretraining epoch there is nothing left to skip: the callback does not stop
    assert stopping_epoch(losses[:8], 3) is None
