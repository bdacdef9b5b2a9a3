"""Bad input to ``translate`` / ``get_latent_representation`` (new data, feature alignment)
gets a clear error naming the argument, what was expected and what was found.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import butterflyvi as bf
from _synthetic import dense
from _tiny import mudata_of
from butterflyvi.model import ButterflyModel

pytestmark = pytest.mark.usefixtures("one_torch_thread")


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
        KeyError, match=r"data: expected a MuData with modality 'rna', found modalities \['atac'\]"
    ):
        model.translate(only_atac, source="rna")
    with pytest.raises(ValueError, match="data: expected at least one cell, found none"):
        model.translate(mdata["rna"][:0].copy(), source="rna")
    with pytest.raises(
        KeyError, match=r"layer: expected one of the layers \['counts'\], found 'raw'"
    ):
        model.translate(mdata["rna"], source="rna", layer="raw")
    with pytest.raises(
        ValueError, match=r"missing: expected one of \['auto', 'error', 'zero'\], found 'drop'"
    ):
        model.translate(mdata["rna"], source="rna", missing="drop")
    with pytest.raises(ValueError, match=r"preprocess: expected True, False or 'auto'"):
        model.translate(mdata["rna"], source="rna", preprocess="yes")
    with pytest.raises(ValueError, match=r"batch_size: expected a positive integer, found 0"):
        model.translate(mdata["rna"], source="rna", batch_size=0)


def test_translate_maps_reordered_and_extra_features_by_name(trained):
    model, mdata = trained
    rna = mdata["rna"]
    expected = dense(model.translate(rna, source="rna").X)
    order = np.random.default_rng(1).permutation(rna.n_vars)
    shuffled = rna[:, order].copy()
    np.testing.assert_array_equal(dense(model.translate(shuffled, source="rna").X), expected)
    extra = ad.AnnData(
        sp.hstack([sp.random(rna.n_obs, 2, density=0.5, format="csr", rng=0), rna.X]).tocsr(),
        obs=rna.obs.copy(),
        var=pd.DataFrame(index=["extra0", "extra1", *rna.var_names]),
    )
    np.testing.assert_array_equal(dense(model.translate(extra, source="rna").X), expected)


def test_translate_missing_features_refused_or_zero_filled(trained):
    model, mdata = trained
    rna = mdata["rna"][:, 5:].copy()
    with pytest.raises(
        ValueError,
        match=r"5 of the model's 30 features are missing from the data \(e\.g\. gene00.*missing='zero'",
    ):
        model.translate(rna, source="rna", missing="error")
    for missing in ("zero", "auto"):  # "auto": 25 of 30 features present, above half
        with pytest.warns(
            UserWarning, match="5 of the model's 30 features are missing.*filled with zeros"
        ):
            pred = model.translate(rna, source="rna", missing=missing)
        assert pred.shape == (mdata.n_obs, mdata["atac"].n_vars)
        assert np.isfinite(dense(pred.X)).all()
        assert pred.uns["feature_match"]["n_matched"] == 25
    few = mdata["rna"][:, 20:].copy()  # 10 of 30 features: below half
    with pytest.raises(ValueError, match=r"data: expected at least 50% .*found the data hold 10"):
        model.translate(few, source="rna")
    with pytest.warns(UserWarning, match="20 of the model's 30 features are missing"):
        model.translate(few, source="rna", missing="zero")


def test_translate_raw_counts_are_preprocessed_with_the_stored_state(trained, raw):
    model, mdata = trained
    expected = dense(model.translate(mdata["rna"], source="rna").X)
    counts = raw["rna"].copy()
    np.testing.assert_allclose(
        dense(model.translate(counts, source="rna").X), expected, rtol=1e-5, atol=1e-6
    )
    # reordered raw counts, with one gene missing
    part = counts[:, ::-1][:, 1:].copy()
    with pytest.raises(ValueError, match=r"1 of the 30 reference features are missing"):
        model.translate(part, source="rna", missing="error")
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
    with pytest.raises(
        ValueError, match=r"data \(rna\): expected finite values, found 1 NaN or infinite"
    ):
        model.translate(rna, source="rna")
    dup = mdata["rna"][:, ::-1].copy()
    names = list(dup.var_names)
    names[1] = names[0]
    dup.var_names = names
    with pytest.raises(
        ValueError, match=r"data \(rna\) var_names: expected unique names, found 1 dup"
    ):
        model.translate(dup, source="rna")


def test_translate_all_zero_cells(trained):
    model, mdata = trained
    zero = ad.AnnData(
        sp.csr_matrix((4, mdata["rna"].n_vars), dtype=np.float32),
        var=pd.DataFrame(index=mdata["rna"].var_names),
    )
    pred = model.translate(zero, source="rna", preprocess=False)
    assert np.isfinite(dense(pred.X)).all()
    with pytest.warns(UserWarning, match="4 of 4 cells have a total count of 0"):
        pred = model.translate(zero, source="rna", preprocess=True)
    assert np.isfinite(dense(pred.X)).all()


def test_recover_counts_needs_accessibility_target(trained):
    model, mdata = trained
    with pytest.raises(
        ValueError,
        match=r"recover_counts: expected a target whose kind recovers counts.*found 'rna'",
    ):
        model.translate(mdata, source="atac", recover_counts=True)


@pytest.mark.parametrize("target", ["scaled", "binary"])
def test_recover_counts_binarises_the_right_values(mdata, target):
    ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = ButterflyModel(mdata, accessibility_target=target)
    pred = model.translate(mdata, source="rna", recover_counts=True)
    recovered = pred.layers["recovered_counts"]
    if target == "binary":  # probabilities of being open: nothing to invert
        expected = bf.pp.binarize_recovered(pred.X)
    else:
        state = model.preprocessing_["atac"]
        expected = bf.pp.recover_atac_counts(pred, state=state, var=pred.var, binarize=True)
    assert set(np.unique(recovered.data)) <= {1.0}
    assert (recovered != expected).nnz == 0
