"""Tests of the pairing tools: augment (T), pair_unpaired and pair_by_ot."""

from __future__ import annotations

import logging

import mudata as md
import numpy as np
import pandas as pd
import pytest

import butterflyvi as bf
from _pairing import assert_adata_unchanged, assert_rows_from_sources, paired_modality


def make_unpaired(x_counts: dict, y_counts: dict, *, seed=0):
    rng = np.random.default_rng(seed)

    def one(counts, prefix, kind):
        labels = [t for t, k in counts.items() for _ in range(k)]
        names = [f"{prefix}{i}" for i in range(len(labels))]
        return paired_modality(
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
