"""Property tests (hypothesis) of the pairing checks: the same cells in another order are
refused; ``pair_unpaired`` and ``pair_by_ot`` pair within a type only.
"""

from __future__ import annotations

import warnings

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import butterflyvi as bf
from _helpers import FAST
from butterflyvi.model._setup import check_paired


@FAST
@given(n=st.integers(1, 8), data=st.data())
def test_check_paired_refuses_any_reordering(n, data):
    names = [f"c{i}" for i in range(n)]
    order = data.draw(st.permutations(range(n)))
    x = ad.AnnData(np.zeros((n, 1), np.float32), obs=pd.DataFrame(index=names))
    y = ad.AnnData(np.zeros((n, 1), np.float32), obs=pd.DataFrame(index=[names[i] for i in order]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdata = md.MuData({"x": x, "y": y})
    if list(order) == list(range(n)):
        check_paired(mdata, ("x", "y"))
    else:
        with pytest.raises(ValueError, match="same cells in a different order"):
            check_paired(mdata, ("x", "y"))


def _labelled(labels: list, prefix: str, n_vars: int = 3) -> ad.AnnData:
    rng = np.random.default_rng(len(labels))
    a = ad.AnnData(sp.csr_matrix(rng.poisson(1.0, (len(labels), n_vars)).astype(np.float32)))
    a.obs_names = [f"{prefix}{i}" for i in range(len(labels))]
    a.obs["cell_type"] = pd.Series(labels, index=a.obs_names, dtype=object)
    return a


@FAST
@given(
    x=st.lists(st.sampled_from(["a", "b", "c", None]), min_size=1, max_size=12),
    y=st.lists(st.sampled_from(["a", "b", "d"]), min_size=1, max_size=12),
    seed=st.integers(0, 100),
)
def test_pair_unpaired_pairs_within_shared_types(x, y, seed):
    shared = {t for t in x if t is not None} & set(y)
    ax, ay = _labelled(x, "x"), _labelled(y, "y")
    if not shared:
        with pytest.raises(ValueError, match="expected shared 'cell_type' labels, found none"):
            bf.tl.pair_unpaired(ax, ay, seed=seed)
        return
    out = bf.tl.pair_unpaired(ax, ay, seed=seed)
    tx = ax.obs["cell_type"].reindex(out.obs["butterflyvi_source_cell_rna"]).to_numpy()
    ty = ay.obs["cell_type"].reindex(out.obs["butterflyvi_source_cell_atac"]).to_numpy()
    assert (tx == ty).all() and set(tx) <= shared
    per_type = out.uns["butterflyvi_pairing"]["n_pairs_per_type"]
    assert sum(per_type.values()) == out.n_obs and out.obs_names.is_unique


@FAST
@given(
    groups=st.lists(st.sampled_from(["g1", "g2", "g3"]), min_size=2, max_size=14),
    data=st.data(),
)
def test_pair_by_ot_pairs_within_groups(groups, data):
    conditions = data.draw(
        st.lists(
            st.sampled_from(["control", "stimulated"]), min_size=len(groups), max_size=len(groups)
        )
    )
    a = _labelled(groups, "c", n_vars=4)
    a.obs["condition"] = conditions
    both = {
        g
        for g in set(groups)
        if {"control", "stimulated"}
        <= {c for gg, c in zip(groups, conditions, strict=True) if gg == g}
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # groups lacking a condition
        if len(set(conditions)) < 2:
            with pytest.raises(ValueError, match=r"expected a value of adata.obs\['condition'\]"):
                bf.tl.pair_by_ot(a, n_pcs=2)
            return
        if not both:
            with pytest.raises(ValueError, match="nothing to pair"):
                bf.tl.pair_by_ot(a, n_pcs=2)
            return
        out = bf.tl.pair_by_ot(a, n_pcs=2)
    source_c = out.obs["butterflyvi_source_cell_control"].to_numpy()
    source_s = out.obs["butterflyvi_source_cell_stimulated"].to_numpy()
    obs = a.obs
    assert (obs.loc[source_c, "condition"] == "control").all()
    assert (obs.loc[source_s, "condition"] == "stimulated").all()
    assert (
        obs.loc[source_c, "cell_type"].to_numpy() == obs.loc[source_s, "cell_type"].to_numpy()
    ).all()
    expected = obs.index[(obs["condition"] == "control") & obs["cell_type"].isin(both)]
    assert sorted(source_c) == sorted(expected)  # every pairable control cell, once
