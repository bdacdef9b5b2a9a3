"""Tests of cluster_for_augmentation (scButterfly-C): checks, then MULTIVI/TOTALVI runs."""

from __future__ import annotations

import warnings

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import butterflyvi as bf
from butterflyvi.tl._cluster import _choose_method

QUIET = {"enable_progress_bar": False}


def _adata(n, n_vars, *, kind=None, prefix="f", seed=0, counts=True):
    rng = np.random.default_rng(seed)
    x = rng.poisson(2.0, size=(n, n_vars)).astype(np.float32)
    if not counts:
        x = np.log1p(x)
    var = pd.DataFrame(index=[f"{prefix}{i}" for i in range(n_vars)])
    if kind is not None:
        var["feature_types"] = kind
    return ad.AnnData(
        X=sp.csr_matrix(x), obs=pd.DataFrame(index=[f"c{i}" for i in range(n)]), var=var
    )


def _mudata(mods: dict[str, ad.AnnData]) -> md.MuData:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return md.MuData(mods)


def _read_pair(shared_file, prefix, second, names):
    first = ad.read_h5ad(shared_file(f"{prefix}_rna.h5ad"))
    other = ad.read_h5ad(shared_file(f"{prefix}_{second}.h5ad"))
    return _mudata({names[0]: first, names[1]: other})


def test_choose_method_from_feature_types_and_names():
    gex, peaks = _adata(5, 3, kind="GEX"), _adata(5, 3, kind="Peaks", prefix="p")
    assert _choose_method(_mudata({"a": gex, "b": peaks}), "a", "b", "auto") == (
        "multivi",
        "a",
        "b",
    )
    assert _choose_method(_mudata({"b": peaks, "a": gex}), "b", "a", "auto") == (
        "multivi",
        "a",
        "b",
    )
    rna, adt = _adata(5, 3), _adata(5, 3, prefix="p")
    mdata = _mudata({"adt": adt, "rna": rna})
    assert _choose_method(mdata, "adt", "rna", "auto") == ("totalvi", "rna", "adt")
    assert _choose_method(mdata, "adt", "rna", "TOTALVI") == ("totalvi", "rna", "adt")
    with pytest.raises(ValueError, match="found modality 'adt' of kind protein"):
        _choose_method(mdata, "adt", "rna", "multivi")
    unknown = _mudata({"m1": _adata(5, 3), "m2": _adata(5, 3, prefix="p")})
    with pytest.raises(ValueError, match="Pass method='multivi'"):
        _choose_method(unknown, "m1", "m2", "auto")
    assert _choose_method(unknown, "m1", "m2", "multivi") == ("multivi", "m1", "m2")
    with pytest.raises(ValueError, match="method: expected"):
        _choose_method(unknown, "m1", "m2", "scvi")


def test_cluster_rejects_bad_input_before_training():
    rna, atac = _adata(20, 6, kind="GEX"), _adata(20, 5, kind="Peaks", prefix="p")
    mdata = _mudata({"rna": rna, "atac": atac})
    snapshot = mdata.copy()
    logged = _mudata({"rna": _adata(20, 6, kind="GEX", counts=False), "atac": atac})
    with pytest.raises(
        ValueError, match=r"mdata\['rna'\] X: expected raw counts, found non-integer values"
    ):
        bf.tl.cluster_for_augmentation(logged)
    negative = atac.copy()
    negative.X.data[0] = -1
    with pytest.raises(ValueError, match="negative values"):
        bf.tl.cluster_for_augmentation(_mudata({"rna": rna, "atac": negative}))
    with pytest.raises(ValueError, match=r"positions in \[0, 20\)"):
        bf.tl.cluster_for_augmentation(mdata, train_indices=[0, 5, 25])
    with pytest.raises(KeyError, match="expected names of cells in the data"):
        bf.tl.cluster_for_augmentation(mdata, train_indices=["c0", "c1", "zz"])
    with pytest.raises(ValueError, match="one entry per cell"):
        bf.tl.cluster_for_augmentation(mdata, train_indices=np.ones(5, dtype=bool))
    with pytest.raises(ValueError, match="resolution"):
        bf.tl.cluster_for_augmentation(mdata, resolution=0)
    with pytest.raises(ValueError, match="max_epochs"):
        bf.tl.cluster_for_augmentation(mdata, max_epochs=0)
    with pytest.raises(ValueError, match=r"train_kwargs: expected no .max_epochs."):
        bf.tl.cluster_for_augmentation(mdata, train_kwargs={"max_epochs": 2})
    with pytest.raises(KeyError, match="batch_key"):
        bf.tl.cluster_for_augmentation(mdata, batch_key="sample")
    assert "butterflyvi_cluster" not in mdata.obs
    pd.testing.assert_frame_equal(mdata.obs, snapshot.obs)


def test_cluster_multivi_real_multiome_then_augment(shared_file):
    mdata = _read_pair(shared_file, "bmmc_multiome_starter", "atac", ("rna", "atac"))
    snapshot = mdata.copy()
    np_state = np.random.get_state()  # noqa: NPY002 (checking it is restored)
    is_train = mdata.mod["rna"].obs["is_train"].to_numpy().astype(bool)
    bf.tl.cluster_for_augmentation(
        mdata, max_epochs=3, train_indices=is_train, train_kwargs=QUIET, seed=0
    )
    clusters = mdata.obs["butterflyvi_cluster"]
    assert isinstance(clusters.dtype, pd.CategoricalDtype)
    assert clusters.notna().all() and clusters.nunique() >= 2
    # the only change is the new column; the global RNG state is restored
    pd.testing.assert_frame_equal(mdata.obs.drop(columns="butterflyvi_cluster"), snapshot.obs)
    for mod in mdata.mod:
        assert mdata.mod[mod].obs.equals(snapshot.mod[mod].obs)
        assert (mdata.mod[mod].layers["counts"] != snapshot.mod[mod].layers["counts"]).nnz == 0
        assert set(mdata.mod[mod].uns) == set(snapshot.mod[mod].uns)
    after = np.random.get_state()  # noqa: NPY002
    assert np_state[0] == after[0] and np.array_equal(np_state[1], after[1])

    out = bf.tl.augment(mdata, groupby="butterflyvi_cluster", rounds=2, seed=0)
    sizes = clusters.value_counts()
    assert out.n_obs == 500 + 2 * int(sizes[sizes >= 2].sum())
    src = out.obs[["butterflyvi_source_cell_rna", "butterflyvi_source_cell_atac"]]
    np.testing.assert_array_equal(
        clusters[src["butterflyvi_source_cell_rna"]].to_numpy(),
        clusters[src["butterflyvi_source_cell_atac"]].to_numpy(),
    )


@pytest.mark.slow
def test_cluster_totalvi_real_cite_reproducible(shared_file):
    mdata = _read_pair(shared_file, "bmmc_cite_starter", "adt", ("adt", "rna"))
    mdata = _mudata({mod: mdata.mod[mod][:300].copy() for mod in ("adt", "rna")})
    kwargs = {"max_epochs": 2, "train_kwargs": QUIET, "batch_key": "rna:batch", "seed": 1}
    bf.tl.cluster_for_augmentation(mdata, key_added="first", **kwargs)
    bf.tl.cluster_for_augmentation(mdata, key_added="second", **kwargs)
    assert mdata.obs["first"].notna().all() and mdata.obs["first"].nunique() >= 2
    np.testing.assert_array_equal(mdata.obs["first"], mdata.obs["second"])
