"""Bad input to ``butterflyvi.metrics`` gets a clear error naming the argument, what was
expected and what was found.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import butterflyvi as bf

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_metrics_refuse_missing_labels_and_mismatched_inputs(mdata):
    rna = mdata["rna"].copy()
    rna.obs["label"] = rna.obs["cell_type"].astype(object)
    rna.obs.iloc[0, rna.obs.columns.get_loc("label")] = np.nan
    with pytest.raises(ValueError, match=r"found 1 missing labels \(NaN/None\) of 80"):
        bf.metrics.clustering(rna, label_key="label")
    with pytest.raises(
        ValueError, match=r"label_key: expected a column of adata.obs .*found 'nope'"
    ):
        bf.metrics.clustering(rna, label_key="nope")
    with pytest.raises(ValueError, match=r"expected the same var_names"):
        bf.metrics.expression(rna, rna[:, 1:].copy())
    with pytest.raises(ValueError, match=r"expected finite values, found 1 NaN"):
        bf.metrics.expression(np.array([[np.nan, 1.0], [1.0, 2.0]]), np.ones((2, 2)))


def test_metrics_annotation_refuses_nan_in_a_list():
    with pytest.raises(ValueError, match=r"true: expected a label for every cell, found 1 missing"):
        bf.metrics.annotation([np.nan, "a"], ["a", "a"])


def test_metrics_annotation_refuses_nan_in_a_series():
    with pytest.raises(ValueError, match=r"true: expected a label for every cell, found 1 missing"):
        bf.metrics.annotation(pd.Series([np.nan, "a"]), ["a", "a"])


def test_metrics_annotation_with_a_single_class():
    # Cohen's kappa is 0/0 when both label vectors hold one class: NaN, not an error.
    same = bf.metrics.annotation(["a"] * 5, ["a"] * 5)
    assert same["accuracy"] == 1.0 and same["f1_macro"] == 1.0 and same["n_labels"] == 1
    assert np.isnan(same["kappa"])
