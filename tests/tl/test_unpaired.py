"""Tests of the pairing tools: augment (T), pair_unpaired and pair_by_ot."""

from __future__ import annotations

import logging
import warnings

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import butterflyvi as bf


def _modality(labels, *, n_vars, prefix, kind, fmt, rng, names):
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
    rna = _modality(labels, n_vars=8, prefix="g", kind="GEX", fmt="csr", rng=rng, names=names)
    atac = _modality(labels, n_vars=6, prefix="p", kind="Peaks", fmt="csc", rng=rng, names=names)
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


def _labels_of(mdata: md.MuData) -> pd.Series:
    return mdata.mod["rna"].obs["cell_type"].astype(object)


def make_unpaired(x_counts: dict, y_counts: dict, *, seed=0):
    rng = np.random.default_rng(seed)

    def one(counts, prefix, kind):
        labels = [t for t, k in counts.items() for _ in range(k)]
        names = [f"{prefix}{i}" for i in range(len(labels))]
        return _modality(
            labels, n_vars=5, prefix=prefix, kind=kind, fmt="csr", rng=rng, names=names
        )

    return one(x_counts, "r", "GEX"), one(y_counts, "a", "Peaks")


def test_pair_unpaired_shares_match_formula(caplog):
    x, y = make_unpaired({"A": 6, "B": 3, "C": 1}, {"A": 2, "B": 6, "D": 4})
    before = (x.copy(), y.copy())
    with caplog.at_level(logging.WARNING, logger="butterflyvi.tl"):
        out = bf.tl.pair_unpaired(x, y, groupby="cell_type", seed=0)
    # By hand: n_x = 10, n_y = 12; shared A, B.
    # s_A = (6/10 + 2/12) / (6/10 + 2/12 + 3/10 + 6/12) = 0.76667 / 1.56667 = 0.48936
    # s_B = 0.80 / 1.56667 = 0.51064; pairs = s * (10 + 12) / 2 -> 5.383 -> 5, 5.617 -> 6
    counts = out.obs["cell_type"].value_counts()
    assert counts["A"] == 5 and counts["B"] == 6 and out.n_obs == 11
    record = out.uns["butterflyvi_pairing"]
    assert record["n_pairs_per_type"] == {"A": 5, "B": 6}
    assert record["dropped_types"] == {"rna": ["C"], "atac": ["D"]}
    assert record["shared_types"] == ["A", "B"]
    assert record["n_cells_per_type"]["rna"] == {"A": 6, "B": 3, "C": 1}
    assert "C" in caplog.text and "D" in caplog.text
    # purity: both source cells have the pair's type
    pair_type = out.obs["cell_type"].astype(str).to_numpy()
    for mod, source in (("rna", x), ("atac", y)):
        source_type = source.obs["cell_type"].astype(str)[out.obs[f"butterflyvi_source_cell_{mod}"]]
        assert (source_type.to_numpy() == pair_type).all()
    assert (out.obs["butterflyvi_origin"] == "pseudo_pair").all()
    assert_rows_from_sources(out, {"rna": x, "atac": y})
    assert_adata_unchanged(before[0], x)
    assert_adata_unchanged(before[1], y)


def test_pair_unpaired_n_pairs_largest_remainder():
    x, y = make_unpaired({"A": 6, "B": 3, "C": 1}, {"A": 2, "B": 6, "D": 4})
    out = bf.tl.pair_unpaired(x, y, n_pairs=100, mod_names=("gex", "peaks"))
    # 100 * s = 48.936, 51.064 -> floors 48, 51; one left goes to A (remainder 0.936)
    assert out.uns["butterflyvi_pairing"]["n_pairs_per_type"] == {"A": 49, "B": 51}
    assert list(out.mod) == ["gex", "peaks"]
    assert out.n_obs == 100 and out.obs_names.is_unique


def test_pair_unpaired_reproducible_and_writable(tmp_path):
    x, y = make_unpaired({"A": 30, "B": 20}, {"A": 20, "B": 30})
    first = bf.tl.pair_unpaired(x, y, seed=7)
    again = bf.tl.pair_unpaired(x, y, seed=7)
    other = bf.tl.pair_unpaired(x, y, seed=8)
    pd.testing.assert_frame_equal(first.obs, again.obs)
    assert not first.obs_names.equals(other.obs_names)
    first.write(tmp_path / "pairs.h5mu")
    back = md.read_h5mu(tmp_path / "pairs.h5mu")
    assert back.uns["butterflyvi_pairing"]["n_pairs_per_type"] == {"A": 25, "B": 25}


def test_pair_unpaired_errors():
    x, y = make_unpaired({"A": 3}, {"B": 3})
    with pytest.raises(ValueError, match="expected shared 'cell_type' labels, found none"):
        bf.tl.pair_unpaired(x, y)
    x, y = make_unpaired({"A": 3}, {"A": 3})
    with pytest.raises(KeyError, match=r"groupby: expected a column of adata_x.obs .*found 'type'"):
        bf.tl.pair_unpaired(x, y, groupby="type")
    with pytest.raises(ValueError, match="mod_names"):
        bf.tl.pair_unpaired(x, y, mod_names=("rna", "rna"))
    with pytest.raises(ValueError, match="n_pairs"):
        bf.tl.pair_unpaired(x, y, n_pairs=0)
    with pytest.raises(TypeError, match="adata_y"):
        bf.tl.pair_unpaired(x, md.MuData({"a": y}))
