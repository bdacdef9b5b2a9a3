"""The NeurIPS 2021 winners' predictors as tools: knn_translate and ridge_translate, on the
bundled SNARE-seq cells.
"""

from __future__ import annotations

import warnings

import anndata as ad
import mudata as md
import numpy as np
import pytest
import scipy.sparse as sp

import butterflyvi as bf


@pytest.fixture(scope="module")
def split():
    """600 preprocessed demo cells: 480 reference, 120 query (with a binarised ATAC layer)."""
    mdata = bf.datasets.snareseq_demo()
    cells = np.random.default_rng(0).permutation(mdata.n_obs)[:600]
    mdata = mdata[mdata.obs_names[cells]].copy()
    bf.pp.preprocess_rna(mdata["rna"], n_top_genes=1000)
    bf.pp.preprocess_atac(mdata["atac"])
    mdata["atac"].layers["binary"] = (mdata["atac"].layers["counts"] > 0).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mdata.update()
    names = mdata.obs_names
    return mdata[names[:480]].copy(), mdata[names[480:]].copy()


def test_knn_translate_ranks_peaks_better_than_the_training_mean(split):
    reference, query = split
    prediction = bf.tl.knn_translate(
        query, reference=reference, source="rna", target_layer="binary"
    )
    assert prediction.shape == (query.n_obs, reference["atac"].n_vars)
    assert sp.issparse(prediction.X) and prediction.X.dtype == np.float32
    assert prediction.obs_names.equals(query.obs_names)
    assert prediction.var_names.equals(reference["atac"].var_names)
    # clipped to the binarised target's range
    assert prediction.X.min() >= 0 and prediction.X.max() <= 1
    scores = bf.metrics.accessibility(prediction, query["atac"])
    mean = bf.metrics.accessibility(
        bf.metrics.baseline_mean(reference["atac"], query.n_obs, obs_names=query.obs_names),
        query["atac"],
    )
    assert mean["auroc_per_peak_mean"] == 0.5  # a constant prediction ranks no cell above another
    assert scores["auroc_per_peak_mean"] > 0.51
    assert scores["auroc"] > mean["auroc"]
    assert prediction.uns["butterflyvi_translation"]["method"] == "knn"


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_ridge_translate_predicts_expression_above_the_training_mean(split, kernel):
    reference, query = split
    prediction = bf.tl.ridge_translate(query, reference=reference, source="atac", kernel=kernel)
    scores = bf.metrics.expression(prediction, query["rna"])
    mean = bf.metrics.expression(
        bf.metrics.baseline_mean(reference["rna"], query.n_obs, obs_names=query.obs_names),
        query["rna"],
    )
    assert prediction.X.min() >= 0  # clipped at the reference's minimum (log-normalised ≥ 0)
    assert np.isnan(mean["pearson_per_feature_mean"])  # a constant has no per-gene correlation
    assert scores["pearson_per_feature_mean"] > 0.02
    settings = prediction.uns["butterflyvi_translation"]["settings"]
    assert settings["n_components"] == [100, 70]  # Guanlab's ATAC → GEX sizes
    assert settings["alpha"] == 0.1


def test_one_neighbour_on_the_reference_itself_returns_its_own_targets():
    """The known answer: with the full feature space (no SVD), one neighbour and one fold, a
    reference cell's nearest neighbour is itself."""
    rng = np.random.default_rng(0)
    x = ad.AnnData(rng.normal(size=(30, 4)).astype(np.float32))
    y = ad.AnnData(rng.uniform(size=(30, 3)).astype(np.float32))
    x.var_names = [f"g{i}" for i in range(4)]
    y.var_names = [f"p{i}" for i in range(3)]
    y.obs_names = x.obs_names
    reference = md.MuData({"rna": x, "prot": y})
    prediction = bf.tl.knn_translate(
        reference,
        reference=reference,
        source="rna",
        n_components=10,
        n_neighbors=1,
        n_folds=1,
    )
    np.testing.assert_allclose(prediction.X.toarray(), y.X, rtol=1e-6)


def test_raw_counts_are_preprocessed_with_the_references_state(split):
    reference, query = split
    raw = bf.datasets.snareseq_demo()["rna"][query.obs_names].copy()  # every gene, raw counts
    from_raw = bf.tl.knn_translate(raw, reference=reference, source="rna", target="atac", n_folds=2)
    from_processed = bf.tl.knn_translate(query, reference=reference, source="rna", n_folds=2)
    np.testing.assert_allclose(from_raw.X.toarray(), from_processed.X.toarray(), atol=1e-5)


def test_the_prediction_is_added_to_a_mudata_only_when_asked(split):
    reference, query = split
    query = query.copy()
    bf.tl.ridge_translate(query, reference=reference, source="rna", kernel="linear", n_fits=2)
    assert "atac_from_rna" not in query.mod
    bf.tl.ridge_translate(
        query, reference=reference, source="rna", kernel="linear", n_fits=2, add_to_mdata=True
    )
    assert "atac_from_rna" in query.mod
    assert (
        query["atac_from_rna"].var["feature_name"].tolist() == reference["atac"].var_names.tolist()
    )


def test_batches_are_halved_between_fits(split):
    reference, query = split
    reference = reference.copy()
    reference.obs["batch"] = np.where(np.arange(reference.n_obs) % 2 == 0, "a", "b")
    by_batch = bf.tl.ridge_translate(
        query,
        reference=reference,
        source="atac",
        batch_key="batch",
        n_fits=2,
    )
    assert by_batch.shape == (query.n_obs, reference["rna"].n_vars)
    with pytest.raises(KeyError, match="batch_key"):
        bf.tl.ridge_translate(query, reference=reference, source="atac", batch_key="donor")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"source": "protein"}, KeyError, "source: expected a modality of reference"),
        ({"source": "rna", "target": "rna"}, KeyError, "target: expected a modality"),
        ({"source": "rna", "n_neighbors": 0}, ValueError, "n_neighbors: expected a positive"),
        ({"source": "rna", "n_folds": 10_000}, ValueError, "n_folds: expected at most"),
        ({"source": "rna", "target_layer": "nope"}, KeyError, "target_layer: expected one of"),
    ],
)
def test_bad_arguments_are_named(split, kwargs, error, message):
    reference, query = split
    with pytest.raises(error, match=message):
        bf.tl.knn_translate(query, reference=reference, **kwargs)


def test_the_reference_must_be_a_mudata(split):
    reference, query = split
    with pytest.raises(TypeError, match="reference: expected a MuData"):
        bf.tl.ridge_translate(query, reference=reference["rna"], source="rna")


def test_neighbours_in_a_models_latent_space(split):
    reference, query = split
    model = bf.zoo.load("mouse-cortex-rna-atac")
    prediction = bf.tl.knn_translate(query, reference=reference, source="atac", model=model)
    assert prediction.uns["butterflyvi_translation"]["settings"]["space"] == "latent"
    scores = bf.metrics.expression(prediction, query["rna"])
    svd = bf.metrics.expression(
        bf.tl.knn_translate(query, reference=reference, source="atac"),
        query["rna"],
    )
    # the network's embedding of ATAC (trained on SNARE-seq, these cells among others)
    # finds better neighbours than the SVD of the peaks
    assert scores["pearson_per_feature_mean"] > svd["pearson_per_feature_mean"]
    with pytest.raises(KeyError, match="source: expected one of the model's modalities"):
        bf.tl.knn_translate(
            query, reference=reference, source="atac", target="rna", model=_OtherModel()
        )


class _OtherModel:
    modalities_ = ("control", "stimulated")
