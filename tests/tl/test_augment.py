"""Tests of the pairing tools: augment (T), pair_unpaired and pair_by_ot."""

from __future__ import annotations

import warnings

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import butterflyvi as bf
from _pairing import assert_mudata_unchanged, assert_rows_from_sources, labels_of, make_paired


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

    labels = labels_of(mdata)
    src_x, src_y = out.obs["butterflyvi_source_cell_rna"], out.obs["butterflyvi_source_cell_atac"]
    np.testing.assert_array_equal(labels[src_x].to_numpy(), labels[src_y].to_numpy())
    np.testing.assert_array_equal(out.obs["butterflyvi_group"].astype(object), labels[src_x])
    measured = (out.obs["butterflyvi_origin"] == "measured").to_numpy()
    assert measured.sum() == n
    assert (src_x[measured] == src_y[measured]).all()
    assert (src_x[~measured] != src_y[~measured]).all()  # augmented pairs are new pairs
    assert list(out.obs_names[:n]) == list(mdata.mod["rna"].obs_names)
    assert set(out.obs["butterflyvi_round"]) == set(range(rounds + 1))
    for r in range(1, rounds + 1):
        in_round = (out.obs["butterflyvi_round"] == r).to_numpy()
        # each cell's X side is used exactly once per round
        assert sorted(src_x[in_round]) == sorted(mdata.mod["rna"].obs_names)
        assert out.obs_names[in_round].str.endswith(f"#r{r}").all()
    record = out.uns["butterflyvi_pairing"]
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
    labels = labels_of(mdata)
    aug = (out.obs["butterflyvi_origin"] == "augmented").to_numpy()
    sx = out.obs["butterflyvi_source_cell_rna"][aug]
    sy = out.obs["butterflyvi_source_cell_atac"][aug]
    assert (labels[sx].to_numpy() == labels[sy].to_numpy()).all()
    assert (sx.to_numpy() != sy.to_numpy()).all()
    assert out.obs_names.is_unique


def test_augment_singleton_and_nan_labels_keep_only_measured_pair():
    mdata = make_paired((5, 4, 1), extra_labels=[np.nan, np.nan])
    with pytest.warns(UserWarning, match=r"2 of 12 cells have no 'cell_type' label"):
        out = bf.tl.augment(mdata, rounds=2)
    assert out.n_obs == 12 + 2 * 9
    labels = labels_of(mdata)
    lonely = list(labels.index[labels.isna()]) + list(labels.index[labels == "t2"])
    used = set(out.obs["butterflyvi_source_cell_rna"][out.obs["butterflyvi_round"] > 0])
    used |= set(out.obs["butterflyvi_source_cell_atac"][out.obs["butterflyvi_round"] > 0])
    assert not used & set(lonely)
    assert out.uns["butterflyvi_pairing"]["n_unlabelled"] == 2


def test_augment_groupby_locations_agree():
    mdata = make_paired()
    reference = bf.tl.augment(mdata, groupby="cell_type", seed=1)
    prefixed = bf.tl.augment(mdata, groupby="rna:cell_type", seed=1)
    global_level = mdata.copy()
    global_level.obs["label"] = labels_of(mdata).reindex(global_level.obs_names).to_numpy()
    top = bf.tl.augment(global_level, groupby="label", seed=1)
    assert reference.obs_names.equals(prefixed.obs_names)
    assert reference.obs_names.equals(top.obs_names)


def test_augment_aligns_modalities_by_name():
    mdata = make_paired()
    shuffled = md.MuData(
        {"rna": mdata.mod["rna"].copy(), "atac": mdata.mod["atac"][::-1].copy()},
    )
    out = bf.tl.augment(shuffled, rounds=1, seed=0)
    measured = out[out.obs["butterflyvi_origin"] == "measured"]
    assert (
        measured.obs["butterflyvi_source_cell_rna"] == measured.obs["butterflyvi_source_cell_atac"]
    ).all()
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
    with pytest.raises(KeyError, match="expected modalities of mdata"):
        bf.tl.augment(mdata, modalities=("rna", "prot"))
    with pytest.raises(KeyError, match=r"expected an obs column .*rna:cell_type"):
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
    assert back.uns["butterflyvi_pairing"]["rounds"] == 1


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
        types[out.obs["butterflyvi_source_cell_rna"]].to_numpy(),
        types[out.obs["butterflyvi_source_cell_atac"]].to_numpy(),
    )
    assert_rows_from_sources(out, {"rna": rna, "atac": atac})
    assert_mudata_unchanged(before, mdata)
