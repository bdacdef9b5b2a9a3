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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import butterflyvi as bf
from butterflyvi.tl import _ot

warnings.filterwarnings("ignore", category=FutureWarning)


# --------------------------------------------------------------------------------------------
# helpers


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
        pos = source.obs_names.get_indexer(out.obs[f"source_cell_{mod}"].to_numpy())
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


# --------------------------------------------------------------------------------------------
# augment (scButterfly-T)


@pytest.mark.parametrize("rounds", [0, 1, 2, 3])
def test_augment_counts_purity_and_contents(rounds):
    mdata = make_paired()
    before = mdata.copy()
    out = bf.tl.augment(mdata, groupby="cell_type", rounds=rounds, seed=0)
    n = mdata.n_obs
    assert out.n_obs == (1 + rounds) * n
    assert list(out.mod) == ["rna", "atac"]
    assert out.mod["rna"].obs_names.equals(out.mod["atac"].obs_names)
    assert out.obs_names.equals(out.mod["rna"].obs_names)
    assert_rows_from_sources(out, {"rna": mdata.mod["rna"], "atac": mdata.mod["atac"]})

    labels = _labels_of(mdata)
    src_x, src_y = out.obs["source_cell_rna"], out.obs["source_cell_atac"]
    np.testing.assert_array_equal(labels[src_x].to_numpy(), labels[src_y].to_numpy())
    np.testing.assert_array_equal(out.obs["butterfly_group"].astype(object), labels[src_x])
    measured = (out.obs["butterfly_origin"] == "measured").to_numpy()
    assert measured.sum() == n
    assert (src_x[measured] == src_y[measured]).all()
    assert (src_x[~measured] != src_y[~measured]).all()  # augmented pairs are new pairs
    assert list(out.obs_names[:n]) == list(mdata.mod["rna"].obs_names)
    assert set(out.obs["butterfly_round"]) == set(range(rounds + 1))
    for r in range(1, rounds + 1):
        in_round = (out.obs["butterfly_round"] == r).to_numpy()
        # each cell's X side is used exactly once per round
        assert sorted(src_x[in_round]) == sorted(mdata.mod["rna"].obs_names)
        assert out.obs_names[in_round].str.endswith(f"#r{r}").all()
    record = out.uns["butterfly_pairing"]
    assert record["n_measured"] == n and record["n_augmented"] == rounds * n
    assert_mudata_unchanged(before, mdata)


def test_augment_reproducible_by_seed():
    mdata = make_paired((20, 15))
    first = bf.tl.augment(mdata, seed=3)
    again = bf.tl.augment(mdata, seed=3)
    other = bf.tl.augment(mdata, seed=4)
    assert first.obs_names.equals(again.obs_names)
    pd.testing.assert_frame_equal(first.obs, again.obs)
    assert not first.obs_names.equals(other.obs_names)


@given(
    sizes=st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=5),
    n_nan=st.integers(min_value=0, max_value=3),
    rounds=st.integers(min_value=0, max_value=3),
    seed=st.integers(min_value=0, max_value=2**31),
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_augment_count_formula_property(sizes, n_nan, rounds, seed):
    mdata = make_paired(tuple(sizes), extra_labels=[np.nan] * n_nan, seed=seed % 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = bf.tl.augment(mdata, rounds=rounds, seed=seed)
    n = sum(sizes) + n_nan
    m = sum(size for size in sizes if size >= 2)
    assert out.n_obs == n + rounds * m
    labels = _labels_of(mdata)
    aug = (out.obs["butterfly_origin"] == "augmented").to_numpy()
    sx = out.obs["source_cell_rna"][aug]
    sy = out.obs["source_cell_atac"][aug]
    assert (labels[sx].to_numpy() == labels[sy].to_numpy()).all()
    assert (sx.to_numpy() != sy.to_numpy()).all()
    assert out.obs_names.is_unique


def test_augment_singleton_and_nan_labels_keep_only_measured_pair():
    mdata = make_paired((5, 4, 1), extra_labels=[np.nan, np.nan])
    with pytest.warns(UserWarning, match=r"2 of 12 cells have no 'cell_type' label"):
        out = bf.tl.augment(mdata, rounds=2)
    assert out.n_obs == 12 + 2 * 9
    labels = _labels_of(mdata)
    lonely = list(labels.index[labels.isna()]) + list(labels.index[labels == "t2"])
    used = set(out.obs["source_cell_rna"][out.obs["butterfly_round"] > 0])
    used |= set(out.obs["source_cell_atac"][out.obs["butterfly_round"] > 0])
    assert not used & set(lonely)
    assert out.uns["butterfly_pairing"]["n_unlabelled"] == 2


def test_augment_groupby_locations_agree():
    mdata = make_paired()
    reference = bf.tl.augment(mdata, groupby="cell_type", seed=1)
    prefixed = bf.tl.augment(mdata, groupby="rna:cell_type", seed=1)
    global_level = mdata.copy()
    global_level.obs["label"] = _labels_of(mdata).reindex(global_level.obs_names).to_numpy()
    top = bf.tl.augment(global_level, groupby="label", seed=1)
    assert reference.obs_names.equals(prefixed.obs_names)
    assert reference.obs_names.equals(top.obs_names)


def test_augment_aligns_modalities_by_name():
    mdata = make_paired()
    shuffled = md.MuData(
        {"rna": mdata.mod["rna"].copy(), "atac": mdata.mod["atac"][::-1].copy()},
    )
    out = bf.tl.augment(shuffled, rounds=1, seed=0)
    measured = out[out.obs["butterfly_origin"] == "measured"]
    assert (measured.obs["source_cell_rna"] == measured.obs["source_cell_atac"]).all()
    assert_rows_from_sources(out, {"rna": shuffled.mod["rna"], "atac": shuffled.mod["atac"]})


def test_augment_modalities_argument_and_errors():
    mdata = make_paired()
    three = md.MuData(
        {
            "rna": mdata.mod["rna"].copy(),
            "atac": mdata.mod["atac"].copy(),
            "adt": mdata.mod["rna"].copy(),
        }
    )
    with pytest.raises(ValueError, match="exactly two modalities"):
        bf.tl.augment(three)
    out = bf.tl.augment(three, modalities=("atac", "rna"), groupby="rna:cell_type")
    assert list(out.mod) == ["atac", "rna"]
    with pytest.raises(KeyError, match="not in `mdata`"):
        bf.tl.augment(mdata, modalities=("rna", "prot"))
    with pytest.raises(KeyError, match=r"Available columns: .*rna:cell_type"):
        bf.tl.augment(mdata, groupby="celltype")
    with pytest.raises(ValueError, match="non-negative integer"):
        bf.tl.augment(mdata, rounds=-1)
    with pytest.raises(TypeError, match="seed"):
        bf.tl.augment(mdata, seed=1.5)
    with pytest.raises(TypeError, match="MuData"):
        bf.tl.augment(mdata.mod["rna"])
    unpaired = md.MuData({"rna": mdata.mod["rna"][:10].copy(), "atac": mdata.mod["atac"].copy()})
    with pytest.raises(ValueError, match="same cells"):
        bf.tl.augment(unpaired)


def test_augment_result_writes_to_h5mu(tmp_path):
    out = bf.tl.augment(make_paired(), rounds=1)
    path = tmp_path / "aug.h5mu"
    out.write(path)
    back = md.read_h5mu(path)
    assert back.obs_names.equals(out.obs_names)
    assert back.uns["butterfly_pairing"]["rounds"] == 1


def test_augment_real_multiome(shared_file):
    rna = ad.read_h5ad(shared_file("bmmc_multiome_starter_rna.h5ad"))
    atac = ad.read_h5ad(shared_file("bmmc_multiome_starter_atac.h5ad"))
    mdata = md.MuData({"rna": rna, "atac": atac})
    before = mdata.copy()
    out = bf.tl.augment(mdata, groupby="rna:cell_type", rounds=2, seed=0)
    sizes = rna.obs["cell_type"].value_counts()
    assert out.n_obs == 500 + 2 * int(sizes[sizes >= 2].sum())
    types = rna.obs["cell_type"].astype(str)
    np.testing.assert_array_equal(
        types[out.obs["source_cell_rna"]].to_numpy(), types[out.obs["source_cell_atac"]].to_numpy()
    )
    assert_rows_from_sources(out, {"rna": rna, "atac": atac})
    assert_mudata_unchanged(before, mdata)


# --------------------------------------------------------------------------------------------
# pair_unpaired


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
    record = out.uns["butterfly_pairing"]
    assert record["n_pairs_per_type"] == {"A": 5, "B": 6}
    assert record["dropped_types"] == {"rna": ["C"], "atac": ["D"]}
    assert record["shared_types"] == ["A", "B"]
    assert record["n_cells_per_type"]["rna"] == {"A": 6, "B": 3, "C": 1}
    assert "C" in caplog.text and "D" in caplog.text
    # purity: both source cells have the pair's type
    pair_type = out.obs["cell_type"].astype(str).to_numpy()
    for mod, source in (("rna", x), ("atac", y)):
        source_type = source.obs["cell_type"].astype(str)[out.obs[f"source_cell_{mod}"]]
        assert (source_type.to_numpy() == pair_type).all()
    assert (out.obs["butterfly_origin"] == "pseudo_pair").all()
    assert_rows_from_sources(out, {"rna": x, "atac": y})
    assert_adata_unchanged(before[0], x)
    assert_adata_unchanged(before[1], y)


def test_pair_unpaired_n_pairs_largest_remainder():
    x, y = make_unpaired({"A": 6, "B": 3, "C": 1}, {"A": 2, "B": 6, "D": 4})
    out = bf.tl.pair_unpaired(x, y, n_pairs=100, mod_names=("gex", "peaks"))
    # 100 * s = 48.936, 51.064 -> floors 48, 51; one left goes to A (remainder 0.936)
    assert out.uns["butterfly_pairing"]["n_pairs_per_type"] == {"A": 49, "B": 51}
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
    assert back.uns["butterfly_pairing"]["n_pairs_per_type"] == {"A": 25, "B": 25}


def test_pair_unpaired_errors():
    x, y = make_unpaired({"A": 3}, {"B": 3})
    with pytest.raises(ValueError, match="share no 'cell_type' label"):
        bf.tl.pair_unpaired(x, y)
    x, y = make_unpaired({"A": 3}, {"A": 3})
    with pytest.raises(KeyError, match=r"`groupby`='type' is not a column of `adata_x.obs`"):
        bf.tl.pair_unpaired(x, y, groupby="type")
    with pytest.raises(ValueError, match="mod_names"):
        bf.tl.pair_unpaired(x, y, mod_names=("rna", "rna"))
    with pytest.raises(ValueError, match="n_pairs"):
        bf.tl.pair_unpaired(x, y, n_pairs=0)
    with pytest.raises(TypeError, match="adata_y"):
        bf.tl.pair_unpaired(x, md.MuData({"a": y}))


# --------------------------------------------------------------------------------------------
# pair_by_ot


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
    return dict(zip(out.obs["source_cell_control"], out.obs["source_cell_stimulated"], strict=True))


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
    np.testing.assert_allclose(out.obs["butterfly_ot_cost"], [1.0, 8.0, 1.0], rtol=1e-6)
    assert list(out.obs_names) == ["c0+s1", "c1+s2", "c2+s0"]
    assert list(out.mod) == ["control", "stimulated"]
    assert out.mod["control"].obs_names.equals(out.mod["stimulated"].obs_names)
    assert (out.mod["control"].obs["condition"] == "control").all()
    assert (out.mod["stimulated"].obs["condition"] == "stimulated").all()
    assert_rows_from_sources(out, {"control": adata, "stimulated": adata})
    assert out.uns["butterfly_pairing"]["groups"]["T"]["solver"] == "emd"
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
    solver = out.uns["butterfly_pairing"]["groups"]["T"]["solver"]
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
    assert out.uns["butterfly_pairing"]["groups"]["T"]["n_pcs"] == 40
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
    assert out.uns["butterfly_pairing"]["holdout"] == ["B"]
    assert "C" in out.uns["butterfly_pairing"]["skipped_groups"]
    with pytest.warns(UserWarning):
        both = bf.tl.pair_by_ot(adata, holdout=["A"])
    assert set(both.obs["cell_type"]) == {"B"}
    with pytest.raises(ValueError, match=r"`holdout` names groups not in .*\['Z'\]"):
        bf.tl.pair_by_ot(adata, holdout="Z")
    with pytest.raises(ValueError, match="nothing to pair"), pytest.warns(UserWarning):
        bf.tl.pair_by_ot(adata, holdout=["A", "B"])


def test_pair_by_ot_errors():
    adata = make_perturbation([[0.0], [1.0]], [[0.5], [1.5]])
    with pytest.raises(KeyError, match="`condition_key`='cond'"):
        bf.tl.pair_by_ot(adata, condition_key="cond")
    with pytest.raises(KeyError, match="`groupby`='celltype'"):
        bf.tl.pair_by_ot(adata, groupby="celltype")
    with pytest.raises(ValueError, match=r"`stimulated`='IFN' is not a value"):
        bf.tl.pair_by_ot(adata, stimulated="IFN")
    with pytest.raises(ValueError, match="must differ"):
        bf.tl.pair_by_ot(adata, stimulated="control")
    with pytest.raises(ValueError, match="n_pcs"):
        bf.tl.pair_by_ot(adata, n_pcs=0)
    with pytest.raises(ValueError, match="fallback"):
        bf.tl.pair_by_ot(adata, fallback="greedy")
    bad = adata.copy()
    bad.X = bad.X.toarray()
    bad.X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        bf.tl.pair_by_ot(bad)


def test_pair_by_ot_real_kang_with_holdout(shared_file):
    adata = ad.read_h5ad(shared_file("kang2018_scgen_valid_pbmc.h5ad"))
    before = adata.copy()
    out = bf.tl.pair_by_ot(adata, holdout="CD4T", n_pcs=50, seed=0)
    obs = adata.obs
    expected = obs.index[(obs["condition"] == "control") & (obs["cell_type"] != "CD4T")]
    assert sorted(out.obs["source_cell_control"]) == sorted(expected)
    assert "CD4T" not in set(out.obs["cell_type"])
    ctrl_type = obs.loc[out.obs["source_cell_control"], "cell_type"].to_numpy()
    stim_type = obs.loc[out.obs["source_cell_stimulated"], "cell_type"].to_numpy()
    assert (ctrl_type == stim_type).all()
    assert (obs.loc[out.obs["source_cell_stimulated"], "condition"] == "stimulated").all()
    assert out.mod["stimulated"].n_vars == adata.n_vars
    assert {g["solver"] for g in out.uns["butterfly_pairing"]["groups"].values()} == {"emd"}
    assert_adata_unchanged(before, adata)
