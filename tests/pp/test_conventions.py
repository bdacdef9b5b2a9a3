"""One convention across ``bf.pp``: an AnnData, or a MuData with ``mod=``; in place, or a new
object with ``copy=True`` (as scanpy and muon)."""

from __future__ import annotations

import numpy as np
import pytest

import butterflyvi as bf


def test_a_mudata_modality_is_preprocessed_in_place_with_mod(snare_demo):
    expected = bf.pp.preprocess_rna(snare_demo["rna"], copy=True)
    assert bf.pp.preprocess_rna(snare_demo, mod="rna") is None
    assert snare_demo["rna"].n_vars == expected.n_vars
    np.testing.assert_array_equal(snare_demo["rna"].X.toarray(), expected.X.toarray())
    assert snare_demo.n_vars == expected.n_vars + snare_demo["atac"].n_vars  # updated


def test_copy_returns_a_new_mudata_and_leaves_the_input(snare_demo):
    before = snare_demo["atac"].X.copy()
    out = bf.pp.preprocess_atac(snare_demo, mod="atac", copy=True)
    assert out is not snare_demo and "butterflyvi_preprocessing" in out["atac"].uns
    assert (snare_demo["atac"].X != before).nnz == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: bf.pp.preprocess_rna(m, mod="protein"), "mod: expected a modality"),
        (lambda m: bf.pp.preprocess_rna(m), "mod: expected a modality"),
        (lambda m: bf.pp.preprocess_rna(m["rna"], mod="rna"), "mod: expected None"),
        (lambda m: bf.pp.annotate_peaks("atac.h5ad"), "adata: expected an AnnData"),
    ],
)
def test_wrong_combinations_are_named(snare_demo, call, message):
    with pytest.raises((ValueError, KeyError, TypeError), match=message):
        call(snare_demo)


def test_crossmp_preprocessing_in_place_or_as_a_copy(snare_demo):
    copied = bf.pp.preprocess_crossmp(snare_demo, min_genes=100, max_genes=7000, copy=True)
    assert snare_demo["rna"].n_vars == 1677  # untouched
    assert bf.pp.preprocess_crossmp(snare_demo, min_genes=100, max_genes=7000) is None
    assert snare_demo["atac"].n_vars == copied["atac"].n_vars
    assert snare_demo.n_obs == copied.n_obs
