"""Property tests (hypothesis) of peak names: parsing round trip over all formats; chromosome
groups of shuffled peaks, one chromosome included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import assume, given
from hypothesis import strategies as st

import butterflyvi as bf
from _helpers import CHROMS, FAST


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
