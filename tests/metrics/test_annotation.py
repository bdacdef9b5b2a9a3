"""Tests of butterflyvi.metrics against independent computations (sklearn / scipy)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn import metrics as skm

from _metrics_data import two_blobs
from butterflyvi import metrics


def test_annotation_matches_sklearn():
    rng = np.random.default_rng(0)
    true = rng.choice(["B", "T", "NK", "Mono"], size=200)
    pred = np.where(rng.random(200) < 0.7, true, rng.choice(["B", "T", "DC"], size=200))
    out = metrics.annotation(pd.Series(true), pd.Categorical(pred))
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(true, pred))
    assert out["kappa"] == pytest.approx(skm.cohen_kappa_score(true, pred))
    assert out["f1_macro"] == pytest.approx(
        skm.f1_score(true, pred, average="macro", zero_division=0)
    )
    assert out["f1_weighted"] == pytest.approx(
        skm.f1_score(true, pred, average="weighted", zero_division=0)
    )
    assert (out["n_cells"], out["n_labels"]) == (200, 4)
    perfect = metrics.annotation(true, list(true))
    assert perfect["accuracy"] == perfect["kappa"] == perfect["f1_macro"] == 1.0


def test_annotation_errors():
    with pytest.raises(ValueError, match="one label per cell"):
        metrics.annotation(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="1 missing labels"):
        metrics.annotation(["a", None], ["a", "b"])
    with pytest.raises(ValueError, match="true: expected at least one labelled cell"):
        metrics.annotation([], [])


def test_transfer_labels_pca_and_use_rep():
    reference = two_blobs(seed=0, n_per=25)
    rng = np.random.default_rng(1)
    query = reference.copy()
    query.X = query.X + rng.normal(0, 0.5, size=query.shape).astype(np.float32)
    query.obs_names = [f"q{i}" for i in range(query.n_obs)]
    labels = metrics.transfer_labels(query, reference, n_neighbors=5)
    np.testing.assert_array_equal(labels, reference.obs["cell_type"].to_numpy())
    # Query features given in another order are aligned by name; arrays by position.
    perm = rng.permutation(query.n_vars)
    shuffled = metrics.transfer_labels(query[:, perm].copy(), reference, n_neighbors=5)
    np.testing.assert_array_equal(shuffled, labels)
    from_sparse = metrics.transfer_labels(
        sparse.csr_matrix(query.X), reference, n_neighbors=5, n_pcs=5
    )
    np.testing.assert_array_equal(from_sparse, labels)
    # A given representation.
    reference.obsm["X_emb"] = np.repeat(np.arange(3.0), 25)[:, None]
    query.obsm["X_emb"] = reference.obsm["X_emb"] + 0.1
    np.testing.assert_array_equal(
        metrics.transfer_labels(query, reference, use_rep="X_emb"), labels
    )


def test_transfer_labels_vote_and_errors():
    reference = ad.AnnData(X=np.array([[0.0], [1.0], [1.1], [10.0]]))
    reference.obs["cell_type"] = ["a", "b", "b", "c"]
    query = ad.AnnData(X=np.array([[0.9], [9.0]]))
    # k=3: query 0 sees b, b, a -> b; query 1 sees c, b, b -> b (majority).
    out = metrics.transfer_labels(query, reference, n_neighbors=3, use_rep="X")
    assert list(out) == ["b", "b"]
    # k=2 tie (c vs b) goes to the nearest neighbour's label.
    out = metrics.transfer_labels(query, reference, n_neighbors=2, use_rep="X")
    assert list(out) == ["b", "c"]
    with pytest.raises(ValueError, match=r"label_key: expected a column of reference\.obs"):
        metrics.transfer_labels(query, reference, label_key="label")
    with pytest.raises(
        ValueError, match=r"use_rep: expected a key of reference.obsm .*found 'X_pca'"
    ):
        metrics.transfer_labels(query, reference, use_rep="X_pca")
    reference.obs["cell_type"] = ["a", None, "b", "c"]
    with pytest.raises(ValueError, match="missing labels"):
        metrics.transfer_labels(query, reference, use_rep="X")
