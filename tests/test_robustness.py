"""Bad input gets a clear error naming the argument, what was expected and what was found.

Covers ``ButterflyModel.setup_mudata``, ``train``, ``translate`` / ``get_latent_representation``
on new data (feature alignment), and the input checks of ``pp``, ``tl`` and ``metrics`` that
the other test files do not already cover. Everything runs on tiny synthetic data.
"""

from __future__ import annotations

import warnings

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import butterflyvi as bf
from _synthetic import tiny_paired
from butterflyvi.model import ButterflyModel

warnings.filterwarnings("ignore", category=FutureWarning)

TRAIN = {
    "batch_size": 32,
    "accelerator": "cpu",
    "enable_progress_bar": False,
    "enable_model_summary": False,
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def fit(model: ButterflyModel, pretrain: int = 1, epochs: int = 1, **kwargs) -> None:
    """Train a tiny model (on one thread: see the ``one_torch_thread`` fixture)."""
    model.train(pretrain, epochs, **{**TRAIN, **kwargs})


def make_raw(n_cells: int = 80, seed: int = 0) -> md.MuData:
    """Raw paired counts: 30 genes, ~80 peaks on 2 chromosomes, 3 cell types."""
    return tiny_paired(n_cells, seed=seed, preprocess=False)


def preprocess(mdata: md.MuData) -> md.MuData:
    """Preprocess both modalities in place (all genes kept, all open peaks kept)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        bf.pp.preprocess_rna(mdata["rna"], n_top_genes=1000)
        bf.pp.preprocess_atac(mdata["atac"], min_cell_fraction=0.0)
        mdata.update()
    return mdata


def mudata_of(**mods: ad.AnnData) -> md.MuData:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return md.MuData(mods)


@pytest.fixture(scope="module")
def raw() -> md.MuData:
    return make_raw()


@pytest.fixture
def mdata(raw) -> md.MuData:
    return preprocess(raw.copy())


@pytest.fixture(scope="module")
def trained(raw):
    mdata = preprocess(raw.copy())
    ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = ButterflyModel(mdata)
    fit(model)
    return model, mdata


# ------------------------------------------------------------------------------ setup_mudata
def test_setup_refuses_same_cells_in_another_order(mdata):
    order = np.random.default_rng(0).permutation(mdata.n_obs)
    shuffled = mudata_of(rna=mdata["rna"].copy(), atac=mdata["atac"][order].copy())
    with pytest.raises(ValueError, match=r"modality 'atac'.*same cells in a different order"):
        ButterflyModel.setup_mudata(shuffled, modalities=("rna", "atac"))


def test_setup_refuses_different_cells(mdata):
    fewer = mudata_of(rna=mdata["rna"].copy(), atac=mdata["atac"][:70].copy())
    with pytest.raises(ValueError, match=r"has 70 cells, 70 of them among the 80 cells"):
        ButterflyModel.setup_mudata(fewer, modalities=("rna", "atac"))
    other = mdata["atac"].copy()
    other.obs_names = [f"other{i}" for i in range(other.n_obs)]
    disjoint = mudata_of(rna=mdata["rna"].copy(), atac=other)
    with pytest.raises(ValueError, match=r"0 of them among"):
        ButterflyModel.setup_mudata(disjoint, modalities=("rna", "atac"))


def test_setup_refuses_duplicate_names(mdata):
    rna, atac = mdata["rna"].copy(), mdata["atac"].copy()
    names = list(rna.obs_names)
    names[1] = names[0]
    rna.obs_names, atac.obs_names = names, names
    with pytest.raises(
        ValueError,
        match=r"modality 'rna' has duplicate obs_names \(1 repeated, e\.g\. \['cell00'\]\)",
    ):
        ButterflyModel.setup_mudata(mudata_of(rna=rna, atac=atac))
    rna = mdata["rna"].copy()
    genes = list(rna.var_names)
    genes[2] = genes[0]
    rna.var_names = genes
    with pytest.raises(ValueError, match=r"modality 'rna' has 1 duplicated var_names.*gene00"):
        ButterflyModel.setup_mudata(mudata_of(rna=rna, atac=mdata["atac"].copy()))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fmt", ["csr", "dense"])
def test_setup_refuses_non_finite(mdata, bad, fmt):
    X = mdata["rna"].X.toarray() if fmt == "dense" else mdata["rna"].X.copy()
    (X.data if sp.issparse(X) else X.reshape(-1))[3] = bad
    mdata["rna"].X = X
    with pytest.raises(ValueError, match=r"modality 'rna' X holds 1 NaN or infinite values"):
        ButterflyModel.setup_mudata(mdata)


def test_setup_refuses_negative_or_raw_accessibility(mdata, raw):
    X = mdata["atac"].X.copy()
    X.data[0] = -0.5
    mdata["atac"].X = X
    with pytest.raises(ValueError, match=r"modality 'atac' X.*values in \[0, 1\].*1 negative"):
        ButterflyModel.setup_mudata(mdata)
    counts = mudata_of(rna=mdata["rna"].copy(), atac=raw["atac"].copy())
    bf.pp.annotate_peaks(counts["atac"])
    with pytest.raises(
        ValueError, match=r"modality 'atac' X looks like raw counts.*preprocess_atac"
    ):
        ButterflyModel.setup_mudata(counts)


def test_setup_warns_on_raw_expression_counts(mdata, raw):
    counts = mudata_of(rna=raw["rna"].copy(), atac=mdata["atac"].copy())
    with pytest.warns(UserWarning, match=r"modality 'rna' X looks like raw counts.*preprocess_rna"):
        ButterflyModel.setup_mudata(counts)


def test_setup_refuses_unknown_names(mdata):
    with pytest.raises(
        KeyError, match=r"'protein' is not a modality of mdata; it has \['rna', 'atac'\]"
    ):
        ButterflyModel.setup_mudata(mdata, modalities=("rna", "protein"))
    with pytest.raises(ValueError, match="two different names"):
        ButterflyModel.setup_mudata(mdata, modalities=("rna", "rna"))
    with pytest.raises(ValueError, match="expected two modality names"):
        ButterflyModel.setup_mudata(mdata, modalities="rna")
    with pytest.raises(KeyError, match=r"modality 'rna' has no layer 'raw'; it has \['counts'\]"):
        ButterflyModel.setup_mudata(mdata, layers={"rna": "raw"})
    with pytest.raises(KeyError, match=r"layers: unknown modalities \['adt'\]"):
        ButterflyModel.setup_mudata(mdata, layers={"adt": "counts"})
    with pytest.raises(ValueError, match=r"kinds: expected values in .*found 'rna'"):
        ButterflyModel.setup_mudata(mdata, kinds=("rna", "atac"))
    with pytest.raises(KeyError, match=r"batch_key: 'batch' is not a column of mdata.obs"):
        ButterflyModel.setup_mudata(mdata, batch_key="batch")
    with pytest.raises(TypeError, match="mdata: expected a MuData, found AnnData"):
        ButterflyModel.setup_mudata(mdata["rna"])
    with pytest.raises(NotImplementedError, match="setup_mudata"):
        ButterflyModel.setup_anndata(mdata["rna"])


def test_setup_cannot_infer_kind(mdata):
    foo = mdata["rna"].copy()
    del foo.uns["butterflyvi_preprocessing"]
    del foo.var["feature_types"]
    with pytest.raises(ValueError, match=r"kinds: cannot tell the kind of modality 'foo'"):
        ButterflyModel.setup_mudata(mudata_of(foo=foo, atac=mdata["atac"].copy()), ("foo", "atac"))


def test_setup_refuses_peaks_without_chromosomes(mdata):
    atac = mdata["atac"].copy()
    del atac.var["chrom"]
    with pytest.raises(ValueError, match=r"accessibility modality 'atac' has no var\['chrom'\]"):
        ButterflyModel.setup_mudata(mudata_of(rna=mdata["rna"].copy(), atac=atac))


def test_setup_refuses_empty_modality(mdata):
    empty = mdata["rna"][:, []].copy()
    with pytest.raises(ValueError, match=r"modality 'rna' X is empty \(80 × 0\)"):
        ButterflyModel.setup_mudata(mudata_of(rna=empty, atac=mdata["atac"].copy()))


# ------------------------------------------------------------------------------ train
def test_train_refuses_bad_arguments(mdata):
    ButterflyModel.setup_mudata(mdata)
    model = ButterflyModel(mdata)
    with pytest.raises(ValueError, match=r"batch_size: expected an integer of at least 2"):
        model.train(1, 1, batch_size=1)
    with pytest.raises(ValueError, match=r"batch_size: expected an integer of at least 2"):
        model.train(1, 1, batch_size=2.5)
    with pytest.raises(ValueError, match=r"max_epochs_pretrain, max_epochs: expected"):
        model.train(-1, 1)
    with pytest.raises(ValueError, match=r"positive sum"):
        model.train(0, 0)


def test_train_refuses_a_single_training_cell(raw):
    tiny = preprocess(raw[:2].copy())
    ButterflyModel.setup_mudata(tiny)
    model = ButterflyModel(tiny)
    with pytest.raises(ValueError, match=r"at least 2 training cells, found 1"):
        fit(model, train_size=0.5)


def test_train_handles_a_last_batch_of_one_cell(raw):
    # 33 training cells with batch_size 32: the last minibatch would hold one cell, which
    # BatchNorm refuses in training mode; train drops it instead of failing.
    small = preprocess(raw[:37].copy())
    ButterflyModel.setup_mudata(small)
    model = ButterflyModel(small)
    idx = [np.arange(33), np.arange(33, 37), np.array([], dtype=int)]
    fit(model, external_indexing=idx)
    assert model.is_trained_


def test_train_with_all_zero_cells(raw):
    # Cells with no counts preprocess to all-zero rows (warned), and train without NaN.
    data = raw[:40].copy()
    for mod in ("rna", "atac"):
        X = data[mod].X.tolil()
        X[:3] = 0
        data[mod].X = X.tocsr()
    with pytest.warns(UserWarning, match="3 of 40 cells have a total count of 0"):
        bf.pp.preprocess_rna(data["rna"], n_top_genes=1000)
    with pytest.warns(UserWarning, match="3 of 40 cells have no open peak"):
        bf.pp.preprocess_atac(data["atac"], min_cell_fraction=0.0)
    data.update()
    ButterflyModel.setup_mudata(data)
    model = ButterflyModel(data)
    fit(model)
    pred = model.translate(data, source="rna", add_to_mdata=False)
    assert np.isfinite(pred.X.data).all()


# ------------------------------------------------------------------------------ translate
def test_translate_refuses_bad_arguments(trained):
    model, mdata = trained
    with pytest.raises(
        KeyError,
        match=r"source: expected one of the model's modalities \['rna', 'atac'\], found 'adt'",
    ):
        model.translate(mdata, source="adt")
    with pytest.raises(KeyError, match=r"modality: expected one of the model's modalities"):
        model.get_latent_representation(mdata, modality="adt")
    with pytest.raises(TypeError, match="data: expected a MuData or AnnData, found ndarray"):
        model.translate(np.zeros((3, 30)), source="rna")
    only_atac = mudata_of(atac=mdata["atac"].copy())
    with pytest.raises(
        KeyError, match=r"data: the MuData has no modality 'rna'; it has \['atac'\]"
    ):
        model.translate(only_atac, source="rna")
    with pytest.raises(ValueError, match="data: expected at least one cell, found none"):
        model.translate(mdata["rna"][:0].copy(), source="rna")
    with pytest.raises(
        KeyError, match=r"layer: 'raw' is not a layer of the data; it has \['counts'\]"
    ):
        model.translate(mdata["rna"], source="rna", layer="raw")
    with pytest.raises(ValueError, match=r"missing: expected 'error' or 'zero', found 'drop'"):
        model.translate(mdata["rna"], source="rna", missing="drop")
    with pytest.raises(ValueError, match=r"preprocess: expected True, False or 'auto'"):
        model.translate(mdata["rna"], source="rna", preprocess="yes")
    with pytest.raises(ValueError, match=r"batch_size: expected a positive integer, found 0"):
        model.translate(mdata["rna"], source="rna", batch_size=0)


def test_translate_maps_reordered_and_extra_features_by_name(trained):
    model, mdata = trained
    rna = mdata["rna"]
    expected = model.translate(rna, source="rna").X.toarray()
    order = np.random.default_rng(1).permutation(rna.n_vars)
    shuffled = rna[:, order].copy()
    np.testing.assert_array_equal(model.translate(shuffled, source="rna").X.toarray(), expected)
    extra = ad.AnnData(
        sp.hstack([sp.random(rna.n_obs, 2, density=0.5, format="csr", rng=0), rna.X]).tocsr(),
        obs=rna.obs.copy(),
        var=pd.DataFrame(index=["extra0", "extra1", *rna.var_names]),
    )
    np.testing.assert_array_equal(model.translate(extra, source="rna").X.toarray(), expected)


def test_translate_missing_features_refused_or_zero_filled(trained):
    model, mdata = trained
    rna = mdata["rna"][:, 5:].copy()
    with pytest.raises(
        ValueError,
        match=r"5 of the model's 30 features are missing from the data \(e\.g\. gene00.*missing='zero'",
    ):
        model.translate(rna, source="rna")
    with pytest.warns(
        UserWarning, match="5 of the model's 30 features are missing.*filled with zeros"
    ):
        pred = model.translate(rna, source="rna", missing="zero")
    assert pred.shape == (mdata.n_obs, mdata["atac"].n_vars)
    assert np.isfinite(pred.X.data).all()


def test_translate_raw_counts_are_preprocessed_with_the_stored_state(trained, raw):
    model, mdata = trained
    expected = model.translate(mdata["rna"], source="rna").X.toarray()
    counts = raw["rna"].copy()
    np.testing.assert_allclose(
        model.translate(counts, source="rna").X.toarray(), expected, rtol=1e-5, atol=1e-6
    )
    # reordered raw counts, with one gene missing
    part = counts[:, ::-1][:, 1:].copy()
    with pytest.raises(ValueError, match=r"1 of the 30 reference features are missing"):
        model.translate(part, source="rna")
    fractional = counts.copy()
    fractional.X = fractional.X * 0.5
    with pytest.raises(ValueError, match=r"non-integer entries"):
        model.translate(fractional, source="rna", preprocess=True)
    negative = counts.copy()
    negative.X = negative.X.copy()
    negative.X.data[0] = -1
    with pytest.raises(ValueError, match=r"1 negative entries"):
        model.translate(negative, source="rna", preprocess=True)


def test_translate_refuses_bad_values_and_duplicate_features(trained):
    model, mdata = trained
    rna = mdata["rna"].copy()
    X = rna.X.copy()
    X.data[0] = np.nan
    rna.X = X
    with pytest.raises(ValueError, match=r"data: modality 'rna' holds NaN or infinite values"):
        model.translate(rna, source="rna")
    dup = mdata["rna"][:, ::-1].copy()
    names = list(dup.var_names)
    names[1] = names[0]
    dup.var_names = names
    with pytest.raises(ValueError, match=r"var_names must be unique .* found 1 repeated"):
        model.translate(dup, source="rna")


def test_translate_all_zero_cells(trained):
    model, mdata = trained
    zero = ad.AnnData(
        sp.csr_matrix((4, mdata["rna"].n_vars), dtype=np.float32),
        var=pd.DataFrame(index=mdata["rna"].var_names),
    )
    pred = model.translate(zero, source="rna", preprocess=False)
    assert np.isfinite(pred.X.data).all()
    with pytest.warns(UserWarning, match="4 of 4 cells have a total count of 0"):
        pred = model.translate(zero, source="rna", preprocess=True)
    assert np.isfinite(pred.X.data).all()


def test_recover_counts_needs_accessibility_target(trained):
    model, mdata = trained
    with pytest.raises(ValueError, match="recover_counts: only for an accessibility target"):
        model.translate(mdata, source="atac", recover_counts=True, add_to_mdata=False)


@pytest.mark.parametrize("target", ["scaled", "binary"])
def test_recover_counts_binarises_the_right_values(mdata, target):
    ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = ButterflyModel(mdata, accessibility_target=target)
    pred = model.translate(mdata, source="rna", recover_counts=True, add_to_mdata=False)
    recovered = pred.layers["recovered_counts"]
    if target == "binary":  # probabilities of being open: nothing to invert
        expected = bf.pp.binarize_recovered(pred.X)
    else:
        state = model.preprocessing_["atac"]
        expected = bf.pp.recover_atac_counts(pred, state=state, var=pred.var, binarize=True)
    assert set(np.unique(recovered.data)) <= {1.0}
    assert (recovered != expected).nnz == 0


# ------------------------------------------------------------------------------ pp
def test_pp_refuses_unknown_layer_and_non_anndata(raw):
    with pytest.raises(
        ValueError, match=r"`layer`: expected one of the layers of `adata` \[\] or None"
    ):
        bf.pp.preprocess_rna(raw["rna"].copy(), layer="counts")
    with pytest.raises(ValueError, match=r"`adata`: expected an AnnData, found MuData"):
        bf.pp.preprocess_adt(raw)


def test_pp_unparseable_peak_names(raw):
    atac = raw["atac"].copy()
    atac.var = pd.DataFrame(index=[f"peak{i}" for i in range(atac.n_vars)])
    with pytest.raises(
        ValueError, match=r"of .* names could not be parsed.*'peak0'.*Accepted formats"
    ):
        bf.pp.preprocess_atac(atac)
    with pytest.raises(ValueError, match=r"could not be parsed"):
        bf.pp.parse_peak_names(["chr1:100"])
    with pytest.raises(ValueError, match=r"start <= end"):
        bf.pp.parse_peak_names(["chr1:200-100"])


def test_pp_empty_features_and_cells_do_not_divide_by_zero(raw):
    rna = raw["rna"].copy()
    X = rna.X.tolil()
    X[:, 0] = 0  # an empty gene
    X[0] = 0  # an empty cell
    rna.X = X.tocsr()
    with pytest.warns(UserWarning, match="1 of 80 cells have a total count of 0"):
        bf.pp.preprocess_rna(rna, n_top_genes=1000)
    assert np.isfinite(rna.X.data).all()
    assert rna.X[0].nnz == 0 and rna.X[:, 0].nnz == 0
    adt = raw["rna"].copy()
    adt.X = X.tocsr()
    bf.pp.preprocess_adt(adt)
    assert np.isfinite(adt.X.data).all() and adt.X[0].nnz == 0
    atac = raw["atac"].copy()
    A = atac.X.tolil()
    A[:, 0] = 0
    A[0] = 0
    atac.X = A.tocsr()
    with pytest.warns(UserWarning, match="1 of 80 cells have no open peak"):
        bf.pp.preprocess_atac(atac, min_cell_fraction=0.0)
    assert np.isfinite(atac.X.data).all()
    assert raw["atac"].var_names[0] not in atac.var_names  # the empty peak is dropped


# ------------------------------------------------------------------------------ tl
def test_tl_labels_with_nan_and_a_single_class(mdata):
    labels = mdata["rna"].obs["cell_type"].astype(object).copy()
    labels.iloc[:5] = np.nan
    mdata.obs["label"] = labels.to_numpy()
    with pytest.warns(UserWarning, match=r"5 of 80 cells have no 'label' label \(NaN\)"):
        out = bf.tl.augment(mdata, groupby="label", rounds=1)
    assert out.n_obs == 80 + 75
    mdata.obs["one"] = "a"
    assert bf.tl.augment(mdata, groupby="one", rounds=1).n_obs == 160
    with pytest.raises(KeyError, match=r"`groupby`='nope' is not an obs column"):
        bf.tl.augment(mdata, groupby="nope")
    with pytest.raises(KeyError, match=r"`modalities` names 'adt', which is not in `mdata`"):
        bf.tl.augment(mdata, groupby="one", modalities=("rna", "adt"))
    shuffled = mudata_of(rna=mdata["rna"].copy(), atac=mdata["atac"][5:].copy())
    shuffled.obs["one"] = "a"
    with pytest.raises(
        ValueError, match=r"must hold the same cells.*5 cells of 'rna' are not in 'atac'"
    ):
        bf.tl.augment(shuffled, groupby="one")


def test_tl_pair_unpaired_nan_labels_and_no_shared_type(raw):
    x, y = raw["rna"].copy(), raw["atac"].copy()
    y.obs_names = [f"y{i}" for i in range(y.n_obs)]
    x.obs["cell_type"] = x.obs["cell_type"].astype(object)
    x.obs.iloc[:4, x.obs.columns.get_loc("cell_type")] = np.nan
    out = bf.tl.pair_unpaired(x, y, groupby="cell_type")
    assert out.uns["butterfly_pairing"]["n_unlabelled"]["rna"] == 4
    y.obs["cell_type"] = "elsewhere"
    with pytest.raises(ValueError, match=r"share no 'cell_type' label"):
        bf.tl.pair_unpaired(x, y, groupby="cell_type")


def test_tl_cluster_refuses_non_count_data(mdata):
    with pytest.raises(ValueError, match=r"Modality 'rna' X holds non-integer values"):
        bf.tl.cluster_for_augmentation(mdata, layer=None, max_epochs=1)


# ------------------------------------------------------------------------------ metrics
def test_metrics_refuse_missing_labels_and_mismatched_inputs(mdata):
    rna = mdata["rna"].copy()
    rna.obs["label"] = rna.obs["cell_type"].astype(object)
    rna.obs.iloc[0, rna.obs.columns.get_loc("label")] = np.nan
    with pytest.raises(ValueError, match=r"has 1 missing labels \(NaN/None\) of 80"):
        bf.metrics.clustering(rna, label_key="label")
    with pytest.raises(ValueError, match=r"`label_key='nope'` is not a column"):
        bf.metrics.clustering(rna, label_key="nope")
    with pytest.raises(ValueError, match=r"different var_names"):
        bf.metrics.expression(rna, rna[:, 1:].copy())
    with pytest.raises(ValueError, match=r"contains 1 NaN"):
        bf.metrics.expression(np.array([[np.nan, 1.0], [1.0, 2.0]]), np.ones((2, 2)))


def test_metrics_annotation_refuses_nan_in_a_list():
    with pytest.raises(ValueError, match=r"`true` has 1 missing labels"):
        bf.metrics.annotation([np.nan, "a"], ["a", "a"])


def test_metrics_annotation_refuses_nan_in_a_series():
    with pytest.raises(ValueError, match=r"`true` has 1 missing labels"):
        bf.metrics.annotation(pd.Series([np.nan, "a"]), ["a", "a"])


def test_metrics_annotation_with_a_single_class():
    # Cohen's kappa is 0/0 when both label vectors hold one class: NaN, not an error.
    same = bf.metrics.annotation(["a"] * 5, ["a"] * 5)
    assert same["accuracy"] == 1.0 and same["f1_macro"] == 1.0 and same["n_labels"] == 1
    assert np.isnan(same["kappa"])
