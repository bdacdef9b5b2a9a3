"""Tests of the pairing tools: augment (T), pair_unpaired and pair_by_ot."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import butterflyvi as bf
from _pairing import assert_adata_unchanged, assert_rows_from_sources
from butterflyvi.tl import _ot


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
