"""Property tests (hypothesis) for what ``test_pp_properties.py`` and ``test_tl.py`` leave out.

- peak names: parsing round trip over all formats; chromosome groups of shuffled peaks,
  one chromosome included;
- applying a fitted preprocessing to new cells does not depend on the feature order or on
  extra features, for random sparse counts of any small shape (1 cell, 1 feature, empty
  cells and features);
- the model's feature alignment (reordered, extra and missing features);
- the pairing checks: same cells in another order are refused; ``pair_unpaired`` and
  ``pair_by_ot`` pair within a type only.
"""

from __future__ import annotations

import warnings

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import butterflyvi as bf
from butterflyvi._constants import PP_UNS_KEY
from butterflyvi.model._features import align_features
from butterflyvi.model._setup import check_paired

warnings.filterwarnings("ignore", category=FutureWarning)

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CHROMS = ["chr1", "chr2", "chr10", "chrX", "chrM", "3", "chrUn_GL000195v1", "GL000195.1"]


# ------------------------------------------------------------------------------ peak names
@st.composite
def peaks(draw, max_size: int = 12):
    n = draw(st.integers(1, max_size))
    chroms = draw(st.lists(st.sampled_from(CHROMS), min_size=n, max_size=n))
    starts = draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n))
    lengths = draw(st.lists(st.integers(0, 10**4), min_size=n, max_size=n))
    seps = draw(
        st.lists(st.sampled_from([(":", "-"), ("-", "-"), ("_", "_")]), min_size=n, max_size=n)
    )
    names = [
        f"{c}{a}{s}{b}{s + w}"
        for c, s, w, (a, b) in zip(chroms, starts, lengths, seps, strict=True)
    ]
    return names, chroms, starts, [s + w for s, w in zip(starts, lengths, strict=True)]


@FAST
@given(peaks())
def test_parse_peak_names_round_trip(case):
    names, chroms, starts, ends = case
    assume(len(set(names)) == len(names))
    parsed = bf.pp.parse_peak_names(names)
    assert list(parsed.index) == names
    assert list(parsed["chrom"]) == chroms
    assert list(parsed["start"]) == starts and list(parsed["end"]) == ends


@FAST
@given(peaks(), st.randoms(use_true_random=False))
def test_chromosome_groups_of_shuffled_peaks(case, rnd):
    _, chroms, starts, ends = case
    var = pd.DataFrame({"chrom": chroms, "start": starts, "end": ends})
    order = list(range(len(var)))
    rnd.shuffle(order)
    var = var.iloc[order].reset_index(drop=True)
    groups = bf.pp.chromosome_groups(var)
    positions = np.concatenate([g for _, g in groups])
    assert sorted(positions) == list(range(len(var)))  # a permutation
    assert [c for c, _ in groups] == bf.pp.chromosome_order(var["chrom"])
    for chrom, group in groups:
        assert (var["chrom"].to_numpy()[group] == chrom).all()
        assert np.all(np.diff(var["start"].to_numpy()[group]) >= 0)


def test_chromosome_groups_single_chromosome_and_single_peak():
    var = pd.DataFrame(index=["chr5:30-40", "chr5:10-20", "chr5:20-25"])
    groups = bf.pp.chromosome_groups(var)
    assert [c for c, _ in groups] == ["chr5"]
    assert list(groups[0][1]) == [1, 2, 0]
    one = bf.pp.chromosome_groups(pd.DataFrame(index=["7-1-2"]))
    assert [(c, list(g)) for c, g in one] == [("7", [0])]


# ------------------------------------------------------------------------------ re-applying pp
@st.composite
def counts(draw):
    n_cells = draw(st.integers(1, 7))
    n_features = draw(st.integers(1, 7))
    X = draw(arrays(np.int64, (n_cells, n_features), elements=st.integers(0, 5), fill=st.just(0)))
    return X.astype(np.float32)


def _adata(X: np.ndarray, prefix: str) -> ad.AnnData:
    a = ad.AnnData(sp.csr_matrix(X))
    a.obs_names = [f"c{i}" for i in range(X.shape[0])]
    a.var_names = [
        f"chr{1 + i % 2}:{10 * i}-{10 * i + 5}" if prefix == "peak" else f"{prefix}{i}"
        for i in range(X.shape[1])
    ]
    return a


PREPROCESS = {
    "expression": lambda a: bf.pp.preprocess_rna(a, n_top_genes=1000),
    "accessibility": lambda a: bf.pp.preprocess_atac(a, min_cell_fraction=0.0),
    "protein": bf.pp.preprocess_adt,
}


@FAST
@given(
    X=counts(), kind=st.sampled_from(list(PREPROCESS)), n_extra=st.integers(0, 2), data=st.data()
)
def test_apply_preprocessing_ignores_feature_order_and_extras(X, kind, n_extra, data):
    assume(X.any())
    fitted = _adata(X, "peak" if kind == "accessibility" else "f")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # empty cells
        PREPROCESS[kind](fitted)
    kept = fitted.var_names
    raw = _adata(X, "peak" if kind == "accessibility" else "f")
    order = data.draw(st.permutations(range(raw.n_vars)))
    extra = np.ones((raw.n_obs, n_extra), dtype=np.float32)
    new = ad.AnnData(
        sp.csr_matrix(np.hstack([raw.X.toarray()[:, order], extra])),
        obs=pd.DataFrame(index=raw.obs_names),
        var=pd.DataFrame(
            index=[*raw.var_names[list(order)], *(f"extra{i}" for i in range(n_extra))]
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = bf.pp.apply_preprocessing(new, state=fitted.uns[PP_UNS_KEY], var=fitted.var)
    assert list(out.var_names) == list(kept)
    if kind == "expression" and n_extra:
        # extra genes count in each cell's total (as in the fit, totals run over all genes)
        return
    np.testing.assert_allclose(out.X.toarray(), fitted.X.toarray(), rtol=1e-6, atol=1e-7)
    assert np.isfinite(out.X.data).all()


# ------------------------------------------------------------------------------ model alignment
@FAST
@given(
    X=counts(),
    data=st.data(),
    n_extra=st.integers(0, 2),
    fmt=st.sampled_from(["csr", "csc", "dense"]),
)
def test_align_features_by_name(X, data, n_extra, fmt):
    n = X.shape[1]
    reference = pd.Index([f"g{i}" for i in range(n)])
    present = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    order = data.draw(st.permutations([i for i in range(n) if present[i]]))
    names = pd.Index([*reference[list(order)], *(f"x{i}" for i in range(n_extra))])
    matrix = np.hstack([X[:, list(order)], np.full((X.shape[0], n_extra), 9, np.float32)])
    matrix = matrix if fmt == "dense" else sp.csr_matrix(matrix).asformat(fmt)
    n_missing = n - sum(present)
    if n_missing:
        with pytest.raises(
            ValueError, match=rf"{n_missing} of the model's {n} features are missing"
        ):
            align_features(matrix, names, reference, missing="error", what="data")
        with pytest.warns(UserWarning, match="filled with zeros"):
            out = align_features(matrix, names, reference, missing="zero", what="data")
    else:
        out = align_features(matrix, names, reference, missing="error", what="data")
    dense = out.toarray() if sp.issparse(out) else np.asarray(out)
    expected = np.where(np.array(present)[None, :], X, 0)
    np.testing.assert_array_equal(dense, expected)


# ------------------------------------------------------------------------------ pairing
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
        with pytest.raises(ValueError, match="share no 'cell_type' label"):
            bf.tl.pair_unpaired(ax, ay, seed=seed)
        return
    out = bf.tl.pair_unpaired(ax, ay, seed=seed)
    tx = ax.obs["cell_type"].reindex(out.obs["source_cell_rna"]).to_numpy()
    ty = ay.obs["cell_type"].reindex(out.obs["source_cell_atac"]).to_numpy()
    assert (tx == ty).all() and set(tx) <= shared
    per_type = out.uns["butterfly_pairing"]["n_pairs_per_type"]
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
            with pytest.raises(ValueError, match=r"is not a value of `adata.obs\['condition'\]`"):
                bf.tl.pair_by_ot(a, n_pcs=2)
            return
        if not both:
            with pytest.raises(ValueError, match="nothing to pair"):
                bf.tl.pair_by_ot(a, n_pcs=2)
            return
        out = bf.tl.pair_by_ot(a, n_pcs=2)
    source_c = out.obs["source_cell_control"].to_numpy()
    source_s = out.obs["source_cell_stimulated"].to_numpy()
    obs = a.obs
    assert (obs.loc[source_c, "condition"] == "control").all()
    assert (obs.loc[source_s, "condition"] == "stimulated").all()
    assert (
        obs.loc[source_c, "cell_type"].to_numpy() == obs.loc[source_s, "cell_type"].to_numpy()
    ).all()
    expected = obs.index[(obs["condition"] == "control") & obs["cell_type"].isin(both)]
    assert sorted(source_c) == sorted(expected)  # every pairable control cell, once
