"""Small labelled paired data and equality checks for the pairing tools' tests."""

from __future__ import annotations

import warnings

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import scipy.sparse as sp


def paired_modality(labels, *, n_vars, prefix, kind, fmt, rng, names):
    counts = rng.poisson(1.0, size=(len(labels), n_vars)).astype(np.float32)
    counts_sp = sp.csr_matrix(counts).asformat(fmt)
    x = counts_sp.copy()
    x.data = np.log1p(x.data)
    return ad.AnnData(
        X=x,
        obs=pd.DataFrame(
            {"cell_type": pd.Categorical(labels), "depth": counts.sum(axis=1)},
            index=pd.Index(names),
        ),
        var=pd.DataFrame({"feature_types": kind}, index=[f"{prefix}{i}" for i in range(n_vars)]),
        uns={"butterflyvi_preprocessing": {"scale": np.arange(3.0), "name": prefix}},
        obsm={"X_emb": rng.normal(size=(len(labels), 2))},
        layers={"counts": counts_sp},
    )


def make_paired(sizes=(6, 5, 4), *, extra_labels=(), seed=0) -> md.MuData:
    """Paired RNA (CSR) + ATAC (CSC) with groups of the given sizes, labels in rna obs only."""
    rng = np.random.default_rng(seed)
    labels = [f"t{g}" for g, size in enumerate(sizes) for _ in range(size)] + list(extra_labels)
    labels = list(rng.permutation(np.array(labels, dtype=object)))
    names = [f"cell{i}" for i in range(len(labels))]
    rna = paired_modality(labels, n_vars=8, prefix="g", kind="GEX", fmt="csr", rng=rng, names=names)
    atac = paired_modality(
        labels, n_vars=6, prefix="p", kind="Peaks", fmt="csc", rng=rng, names=names
    )
    del atac.obs["cell_type"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return md.MuData({"rna": rna, "atac": atac})


def assert_tree_equal(a, b):
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b)
        for key in a:
            assert_tree_equal(a[key], b[key])
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    else:
        assert a == b


def assert_matrix_equal(a, b):
    assert type(a) is type(b)
    if sp.issparse(a):
        assert a.format == b.format and a.dtype == b.dtype and a.shape == b.shape
        assert (a != b).nnz == 0
    else:
        np.testing.assert_array_equal(a, b)


def assert_adata_unchanged(before: ad.AnnData, after: ad.AnnData):
    assert_matrix_equal(before.X, after.X)
    assert set(before.layers) == set(after.layers)
    for key in before.layers:
        assert_matrix_equal(before.layers[key], after.layers[key])
    pd.testing.assert_frame_equal(before.obs, after.obs)
    pd.testing.assert_frame_equal(before.var, after.var)
    assert set(before.obsm) == set(after.obsm)
    for key in before.obsm:
        assert_matrix_equal(before.obsm[key], after.obsm[key])
    assert_tree_equal(dict(before.uns), dict(after.uns))


def assert_mudata_unchanged(before: md.MuData, after: md.MuData):
    assert list(before.mod) == list(after.mod)
    for mod in before.mod:
        assert_adata_unchanged(before.mod[mod], after.mod[mod])
    pd.testing.assert_frame_equal(before.obs, after.obs)
    assert_tree_equal(dict(before.uns), dict(after.uns))


def assert_rows_from_sources(out: md.MuData, sources: dict[str, ad.AnnData]):
    """Each modality's rows (X, layers, obs, obsm) are those of its source cells."""
    names = None
    for mod, source in sources.items():
        part = out.mod[mod]
        if names is None:
            names = part.obs_names
        assert part.obs_names.equals(names)
        pos = source.obs_names.get_indexer(out.obs[f"butterflyvi_source_cell_{mod}"].to_numpy())
        assert (pos >= 0).all()
        assert_matrix_equal(part.X, source.X.tocsr()[pos].asformat("csr"))
        for key in source.layers:
            assert_matrix_equal(part.layers[key], source.layers[key].tocsr()[pos])
        expected_obs = source.obs.iloc[pos].copy()
        expected_obs.index = part.obs_names
        pd.testing.assert_frame_equal(part.obs, expected_obs)
        for key in source.obsm:
            np.testing.assert_array_equal(part.obsm[key], np.asarray(source.obsm[key])[pos])
        pd.testing.assert_frame_equal(part.var, source.var)
        assert_tree_equal(dict(part.uns), dict(source.uns))
    assert names.is_unique


def labels_of(mdata: md.MuData) -> pd.Series:
    return mdata.mod["rna"].obs["cell_type"].astype(object)
