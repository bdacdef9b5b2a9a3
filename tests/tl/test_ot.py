"""Tests of the pairing tools: augment (T), pair_unpaired and pair_by_ot."""

from __future__ import annotations

import warnings

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import butterflyvi as bf
from butterflyvi.tl import _ot


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


def make_perturbation(ctrl_points, stim_points, *, groups=None, sparse=True):
    """Cells at given points (rows), condition control/stimulated, one group unless given."""
    ctrl_points, stim_points = np.atleast_2d(ctrl_points), np.atleast_2d(stim_points)
    x = np.vstack([ctrl_points, stim_points]).astype(np.float32)
    n_c, n_s = len(ctrl_points), len(stim_points)
    obs = pd.DataFrame(
        {
            "condition": ["control"] * n_c + ["stimulated"] * n_s,
            "cell_type": groups if groups is not None else ["T"] * (n_c + n_s),
        },
        index=[f"c{i}" for i in range(n_c)] + [f"s{i}" for i in range(n_s)],
    )
    return ad.AnnData(
        X=sp.csr_matrix(x) if sparse else x,
        obs=obs,
        var=pd.DataFrame(index=[f"g{i}" for i in range(x.shape[1])]),
        uns={"butterflyvi_preprocessing": {"kind": "expression"}},
    )


def _matches(out) -> dict[str, str]:
    return dict(
        zip(
            out.obs["butterflyvi_source_cell_control"],
            out.obs["butterflyvi_source_cell_stimulated"],
            strict=True,
        )
    )


def test_pair_by_ot_solves_line_by_hand():
    # control at 0, 2, 20; stimulated at 1, 10, 21 (listed out of order).
    # Nearest neighbours would send c0 and c1 both to 1; the optimal 1:1 plan is
    # c0 -> 1 (cost 1), c1 -> 10 (8), c2 -> 21 (1): total 10 (vs 11 for c0 -> 10, c1 -> 1).
    ctrl = [[0.0, 0.0], [2.0, 0.0], [20.0, 0.0]]
    stim = [[21.0, 0.0], [1.0, 0.0], [10.0, 0.0]]
    adata = make_perturbation(ctrl, stim)
    before = adata.copy()
    out = bf.tl.pair_by_ot(adata)
    assert _matches(out) == {"c0": "s1", "c1": "s2", "c2": "s0"}
    np.testing.assert_allclose(out.obs["butterflyvi_ot_cost"], [1.0, 8.0, 1.0], rtol=1e-6)
    assert list(out.obs_names) == ["c0+s1", "c1+s2", "c2+s0"]
    assert list(out.mod) == ["control", "stimulated"]
    assert out.mod["control"].obs_names.equals(out.mod["stimulated"].obs_names)
    assert (out.mod["control"].obs["condition"] == "control").all()
    assert (out.mod["stimulated"].obs["condition"] == "stimulated").all()
    assert_rows_from_sources(out, {"control": adata, "stimulated": adata})
    assert out.uns["butterflyvi_pairing"]["groups"]["T"]["solver"] == "emd"
    assert_adata_unchanged(before, adata)


def test_pair_by_ot_non_square():
    # 4 control, 2 stimulated: each stimulated cell takes the two control cells near it.
    out = bf.tl.pair_by_ot(make_perturbation([[0.0], [1.0], [10.0], [11.0]], [[10.5], [0.5]]))
    assert _matches(out) == {"c0": "s1", "c1": "s1", "c2": "s0", "c3": "s0"}
    # 2 control, 4 stimulated: each control row splits its mass over its two neighbours.
    out = bf.tl.pair_by_ot(
        make_perturbation([[0.0], [10.0]], [[-1.0], [9.0], [1.5], [11.5]], sparse=False)
    )
    matches = _matches(out)
    assert matches["c0"] in {"s0", "s2"} and matches["c1"] in {"s1", "s3"}


@pytest.mark.parametrize("fallback", ["sinkhorn", "minibatch"])
def test_pair_by_ot_fallback_for_large_groups(fallback):
    ctrl = [[0.0], [10.0], [20.0]]
    stim = [[21.0], [1.0], [11.0]]
    adata = make_perturbation(ctrl, stim)
    out = bf.tl.pair_by_ot(adata, max_cells_exact=2, fallback=fallback)
    solver = out.uns["butterflyvi_pairing"]["groups"]["T"]["solver"]
    assert solver == ("sinkhorn" if fallback == "sinkhorn" else "minibatch-emd")
    matches = _matches(out)
    assert set(matches) == {"c0", "c1", "c2"}
    assert set(matches.values()) <= {"s0", "s1", "s2"}
    if fallback == "sinkhorn":  # well separated: the entropic plan finds the same matching
        assert matches == {"c0": "s1", "c1": "s2", "c2": "s0"}
    else:  # chunks of at most 2 cells each side, exactly matched
        assert len(set(matches.values())) == 3


def test_pair_by_ot_recovers_permutation_in_high_dimension():
    rng = np.random.default_rng(0)
    ctrl = rng.normal(size=(20, 200))
    perm = rng.permutation(20)
    stim = ctrl[perm] + rng.normal(scale=1e-3, size=(20, 200))
    adata = make_perturbation(ctrl, stim)
    out = bf.tl.pair_by_ot(adata, n_pcs=50)
    expected = {f"c{perm[j]}": f"s{j}" for j in range(20)}
    assert _matches(out) == expected
    assert out.uns["butterflyvi_pairing"]["groups"]["T"]["n_pcs"] == 40
    again = bf.tl.pair_by_ot(adata, n_pcs=50)
    pd.testing.assert_frame_equal(out.obs, again.obs)


def test_embed_gram_and_arpack_paths_agree(monkeypatch):
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(1)
    block = sp.random(60, 300, density=0.2, format="csr", random_state=1, dtype=np.float64)
    block.data = rng.random(block.nnz)
    gram_scores, k = _ot._embed(block, 10, 0)
    assert k == 10 and gram_scores.shape == (60, 10)
    monkeypatch.setattr(_ot, "_GRAM_MAX_CELLS", 0)
    arpack_scores, _ = _ot._embed(block, 10, 0)
    np.testing.assert_allclose(pdist(gram_scores), pdist(arpack_scores), rtol=1e-6, atol=1e-8)
    dense = block.toarray()
    centred = dense - dense.mean(axis=0)
    _, s, _ = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(np.linalg.norm(gram_scores, axis=0), s[:10], rtol=1e-8)


def test_pair_by_ot_groups_holdout_and_skips():
    ctrl = [[0.0], [1.0], [5.0], [6.0], [9.0]]
    stim = [[0.5], [1.5], [5.5], [6.5]]
    groups = ["A", "A", "B", "B", "C", "A", "A", "B", "B"]
    adata = make_perturbation(ctrl, stim, groups=groups)
    with pytest.warns(UserWarning, match="groups without both conditions"):
        out = bf.tl.pair_by_ot(adata, holdout="B")
    assert set(out.obs["cell_type"]) == {"A"}
    assert _matches(out) == {"c0": "s0", "c1": "s1"}
    assert out.uns["butterflyvi_pairing"]["holdout"] == ["B"]
    assert "C" in out.uns["butterflyvi_pairing"]["skipped_groups"]
    with pytest.warns(UserWarning):
        both = bf.tl.pair_by_ot(adata, holdout=["A"])
    assert set(both.obs["cell_type"]) == {"B"}
    with pytest.raises(ValueError, match=r"holdout: expected groups of .*found \['Z'\]"):
        bf.tl.pair_by_ot(adata, holdout="Z")
    with pytest.raises(ValueError, match="nothing to pair"), pytest.warns(UserWarning):
        bf.tl.pair_by_ot(adata, holdout=["A", "B"])


def test_pair_by_ot_errors():
    adata = make_perturbation([[0.0], [1.0]], [[0.5], [1.5]])
    with pytest.raises(
        KeyError, match=r"condition_key: expected a column of adata.obs .*found 'cond'"
    ):
        bf.tl.pair_by_ot(adata, condition_key="cond")
    with pytest.raises(
        KeyError, match=r"groupby: expected a column of adata.obs .*found 'celltype'"
    ):
        bf.tl.pair_by_ot(adata, groupby="celltype")
    with pytest.raises(ValueError, match=r"stimulated: expected a value of .*found 'IFN'"):
        bf.tl.pair_by_ot(adata, stimulated="IFN")
    with pytest.raises(ValueError, match="expected two different conditions"):
        bf.tl.pair_by_ot(adata, stimulated="control")
    with pytest.raises(ValueError, match="n_pcs"):
        bf.tl.pair_by_ot(adata, n_pcs=0)
    with pytest.raises(ValueError, match="fallback"):
        bf.tl.pair_by_ot(adata, fallback="greedy")
    bad = adata.copy()
    bad.X = bad.X.toarray()
    bad.X[0, 0] = np.nan
    with pytest.raises(ValueError, match="expected finite values, found 1 NaN or infinite"):
        bf.tl.pair_by_ot(bad)


def test_pair_by_ot_real_kang_with_holdout(shared_file):
    adata = ad.read_h5ad(shared_file("kang2018_scgen_valid_pbmc.h5ad"))
    before = adata.copy()
    out = bf.tl.pair_by_ot(adata, holdout="CD4T", n_pcs=50, seed=0)
    obs = adata.obs
    expected = obs.index[(obs["condition"] == "control") & (obs["cell_type"] != "CD4T")]
    assert sorted(out.obs["butterflyvi_source_cell_control"]) == sorted(expected)
    assert "CD4T" not in set(out.obs["cell_type"])
    ctrl_type = obs.loc[out.obs["butterflyvi_source_cell_control"], "cell_type"].to_numpy()
    stim_type = obs.loc[out.obs["butterflyvi_source_cell_stimulated"], "cell_type"].to_numpy()
    assert (ctrl_type == stim_type).all()
    assert (
        obs.loc[out.obs["butterflyvi_source_cell_stimulated"], "condition"] == "stimulated"
    ).all()
    assert out.mod["stimulated"].n_vars == adata.n_vars
    assert {g["solver"] for g in out.uns["butterflyvi_pairing"]["groups"].values()} == {"emd"}
    assert_adata_unchanged(before, adata)
    # The pairs set up as they are: the modalities record their kind (expression).
    assert out.mod["control"].uns["butterflyvi_kind"] == "expression"
    bf.ButterflyModel.setup_mudata(out, modalities=tuple(out.mod))
    model = bf.ButterflyModel(out)
    assert model.kinds_ == ["expression", "expression"]


def test_pair_by_ot_output_sets_up_without_kinds():
    adata = make_perturbation(
        np.arange(6, dtype=float)[:, None] * [1.0, 0.0],
        np.arange(6, dtype=float)[:, None] * [1.0, 0.5],
    )
    out = bf.tl.pair_by_ot(adata, n_pcs=2, seed=0)
    bf.ButterflyModel.setup_mudata(out, modalities=tuple(out.mod))
    assert bf.ButterflyModel(out).kinds_ == ["expression", "expression"]
