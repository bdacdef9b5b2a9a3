"""``apply_preprocessing``: the fitted state reproduces training values and handles new cells."""

from __future__ import annotations

import anndata as ad
import mudata
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import butterflyvi as bf
from butterflyvi._constants import PP_UNS_KEY


@pytest.fixture(scope="module")
def snare(shared_file):
    m = mudata.read_h5mu(shared_file("snareseq_mouse_cortex_chen2019.h5mu"))
    return m["rna"][:600].copy(), m["atac"][:600].copy()


@pytest.fixture(scope="module")
def prot(shared_file):
    m = mudata.read_h5mu(shared_file("pbmc10k_cite_10x_scmdc1000g.h5mu"))
    return m["prot"][:600].copy()


def _shuffled_with_extra(raw, seed=0):
    """Features shuffled, plus an extra all-random feature the reference never saw."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(raw.n_vars)
    extra = sparse.csr_matrix(rng.poisson(1.0, size=(raw.n_obs, 1)).astype(np.float32))
    X = sparse.hstack([raw.X[:, perm], extra], format="csr")
    var_names = [*raw.var_names[perm], "chr1:1-2_extra"]
    return ad.AnnData(X, obs=raw.obs.copy(), var=pd.DataFrame(index=var_names))


def _fit_and_reapply(raw, fit):
    fitted = raw.copy()
    fit(fitted)
    new = _shuffled_with_extra(raw)
    before = new.copy()
    out = bf.pp.apply_preprocessing(new, state=fitted.uns[PP_UNS_KEY], var=fitted.var)
    assert (new.X != before.X).nnz == 0 and list(new.var_names) == list(before.var_names)
    return fitted, out


def _assert_reproduces(fitted, out):
    assert list(out.var_names) == list(fitted.var_names)
    assert list(out.obs_names) == list(fitted.obs_names)
    assert sparse.isspmatrix_csr(out.X) and out.X.dtype == np.float32
    assert np.allclose(out.X.toarray(), fitted.X.toarray(), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(out.layers["counts"].toarray(), fitted.layers["counts"].toarray())
    assert dict(out.uns[PP_UNS_KEY]) == dict(fitted.uns[PP_UNS_KEY])


def test_expression_reproduces_training(snare):
    rna, _ = snare
    # the extra gene changes the cell totals, so reproduce with shuffling only here
    fitted = rna.copy()
    bf.pp.preprocess_rna(fitted, n_top_genes=400)
    perm = np.random.default_rng(3).permutation(rna.n_vars)
    new = rna[:, perm].copy()
    out = bf.pp.apply_preprocessing(new, state=fitted.uns[PP_UNS_KEY], var=fitted.var)
    _assert_reproduces(fitted, out)


def test_accessibility_reproduces_training(snare):
    _, atac = snare
    fitted, out = _fit_and_reapply(atac, bf.pp.preprocess_atac)
    _assert_reproduces(fitted, out)
    np.testing.assert_array_equal(out.obs["n_open_peaks"], fitted.obs["n_open_peaks"])
    np.testing.assert_array_equal(out.var["idf"], fitted.var["idf"])


def test_protein_reproduces_training(prot):
    fitted = prot.copy()
    bf.pp.preprocess_adt(fitted)
    new = prot[:, np.random.default_rng(5).permutation(prot.n_vars)].copy()
    new = ad.concat([new, _shuffled_with_extra(prot)[:, -1:]], axis=1)  # extra protein
    out = bf.pp.apply_preprocessing(new, state=fitted.uns[PP_UNS_KEY], var=fitted.var)
    _assert_reproduces(fitted, out)


def test_state_survives_h5ad(snare, tmp_path):
    _, atac = snare
    fitted = atac.copy()
    bf.pp.preprocess_atac(fitted)
    path = tmp_path / "atac.h5ad"
    fitted.write_h5ad(path)
    back = ad.read_h5ad(path)
    out = bf.pp.apply_preprocessing(atac, state=back.uns[PP_UNS_KEY], var=back.var)
    assert np.allclose(out.X.toarray(), fitted.X.toarray(), rtol=1e-6, atol=1e-7)


def test_new_cells_against_numpy(snare):
    rna, atac = snare
    train_rna, new_rna = rna[:400].copy(), rna[400:].copy()
    bf.pp.preprocess_rna(train_rna, n_top_genes=200)
    target_sum = train_rna.uns[PP_UNS_KEY]["target_sum"]
    out = bf.pp.apply_preprocessing(new_rna, state=train_rna.uns[PP_UNS_KEY], var=train_rna.var)
    dense = new_rna.X.toarray().astype(np.float64)
    totals = dense.sum(axis=1)  # over ALL genes of the new cells
    expected = np.log1p(dense / totals[:, None] * target_sum)[
        :, new_rna.var_names.get_indexer(train_rna.var_names)
    ]
    np.testing.assert_allclose(out.X.toarray(), expected, rtol=1e-5, atol=1e-6)

    train_atac, new_atac = atac[:400].copy(), atac[400:].copy()
    bf.pp.preprocess_atac(train_atac)
    state = train_atac.uns[PP_UNS_KEY]
    out = bf.pp.apply_preprocessing(new_atac, state=state, var=train_atac.var)
    b = (new_atac[:, train_atac.var_names].X.toarray() > 0).astype(np.float64)
    rows = b.sum(axis=1, keepdims=True)
    tf = np.divide(b, rows, out=np.zeros_like(b), where=rows > 0)
    expected = tf * train_atac.var["idf"].to_numpy() / state["scale"]
    np.testing.assert_allclose(out.X.toarray(), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(out.obs["n_open_peaks"], rows.ravel())


def test_missing_features(snare, prot):
    _, atac = snare
    fitted = atac[:300].copy()
    bf.pp.preprocess_atac(fitted)
    dropped = list(fitted.var_names[:7])
    new = atac[300:, ~atac.var_names.isin(dropped)].copy()
    with pytest.raises(ValueError, match=r"7 of the [\d,]+ reference features are missing") as e:
        bf.pp.apply_preprocessing(new, state=fitted.uns[PP_UNS_KEY], var=fitted.var)
    assert dropped[0] in str(e.value) and "missing='zero'" in str(e.value)
    with pytest.warns(UserWarning, match="7 of the"):
        out = bf.pp.apply_preprocessing(
            new, state=fitted.uns[PP_UNS_KEY], var=fitted.var, missing="zero"
        )
    assert list(out.var_names) == list(fitted.var_names)
    assert out.X[:, :7].nnz == 0 and out.layers["counts"][:, :7].nnz == 0

    fitted_p = prot.copy()
    bf.pp.preprocess_adt(fitted_p)
    new_p = prot[:, 1:].copy()
    with pytest.warns(UserWarning, match="1 of the 14"):
        out = bf.pp.apply_preprocessing(
            new_p, state=fitted_p.uns[PP_UNS_KEY], var=fitted_p.var, missing="zero"
        )
    dense = prot.X.toarray().astype(np.float64)
    dense[:, 0] = 0  # CLR over the 14 reference proteins, the missing one counted as 0
    g = np.exp(np.log1p(dense).sum(axis=1) / 14)
    np.testing.assert_allclose(out.X.toarray(), np.log1p(dense / g[:, None]), rtol=1e-5)


def test_layer_and_bad_state(shared_file):
    a = ad.read_h5ad(shared_file("bmmc_cite_starter_adt.h5ad"))
    fitted = bf.pp.preprocess_adt(a, layer="counts", copy=True)
    with pytest.raises(ValueError, match="non-integer"):
        bf.pp.apply_preprocessing(a, state=fitted.uns[PP_UNS_KEY], var=fitted.var)
    out = bf.pp.apply_preprocessing(a, state=fitted.uns[PP_UNS_KEY], var=fitted.var, layer="counts")
    assert np.allclose(out.X.toarray(), fitted.X.toarray())
    with pytest.raises(ValueError, match="kind"):
        bf.pp.apply_preprocessing(a, state={"kind": "rna"}, var=fitted.var, layer="counts")
    with pytest.raises(ValueError, match="missing"):
        bf.pp.apply_preprocessing(
            a, state=fitted.uns[PP_UNS_KEY], var=fitted.var, layer="counts", missing="drop"
        )
    state = {"kind": "accessibility", "scale": 1.0, "min_cell_fraction": 0.0}
    state |= {"n_cells_fit": 1, "source_layer": "X"}
    with pytest.raises(ValueError, match="'idf'"):
        bf.pp.apply_preprocessing(a, state=state, var=fitted.var, layer="counts")
