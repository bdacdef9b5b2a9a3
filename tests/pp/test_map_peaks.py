"""``bf.pp.map_peaks`` and the overlap sweep: every name form, split / merged / shifted
peaks, checked against a brute-force loop."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import butterflyvi as bf
from _helpers import FAST
from butterflyvi.pp._map_peaks import overlap_matrix


def brute_force(source: pd.DataFrame, target: pd.DataFrame, min_overlap: int) -> np.ndarray:
    out = np.zeros((len(source), len(target)))
    for i, (c1, s1, e1) in enumerate(source[["chrom", "start", "end"]].itertuples(index=False)):
        for j, (c2, s2, e2) in enumerate(target[["chrom", "start", "end"]].itertuples(index=False)):
            same = c1.removeprefix("chr") == c2.removeprefix("chr")
            out[i, j] = same and min(e1, e2) - max(s1, s2) >= min_overlap
    return out


@st.composite
def intervals(draw, n_max=12):
    n = draw(st.integers(1, n_max))
    chrom = draw(st.lists(st.sampled_from(["chr1", "chr2", "1", "chrX"]), min_size=n, max_size=n))
    start = draw(st.lists(st.integers(0, 500), min_size=n, max_size=n))
    length = draw(st.lists(st.integers(1, 200), min_size=n, max_size=n))
    return pd.DataFrame(
        {"chrom": chrom, "start": start, "end": np.add(start, length)},
        index=[f"p{i}" for i in range(n)],
    )


@FAST
@given(source=intervals(), target=intervals(), min_overlap=st.integers(1, 50))
def test_the_sweep_finds_exactly_the_overlapping_pairs(source, target, min_overlap):
    found = overlap_matrix(source, target, min_overlap=min_overlap).toarray()
    np.testing.assert_array_equal(found, brute_force(source, target, min_overlap))


@pytest.mark.parametrize(
    "name",
    ["chr1:{s}-{e}", "chr1-{s}-{e}", "chr1_{s}_{e}", "1-{s}-{e}"],
    ids=["colon", "dash", "underscore", "no-chr"],
)
def test_every_name_form_maps(name):
    counts = sp.csr_matrix(np.array([[1, 2, 3], [4, 0, 6]], dtype=np.float32))
    own = [name.format(s=s, e=e) for s, e in ((100, 200), (150, 260), (1000, 1100))]
    adata = ad.AnnData(counts, var=pd.DataFrame(index=own))
    out = bf.pp.map_peaks(adata, ["chr1:120-180", "chr1:210-300", "chr1:5000-5100"])
    # peak 1 overlaps own peaks 0 and 1; peak 2 only own peak 1; peak 3 none.
    np.testing.assert_array_equal(out.X.toarray(), [[3, 2, 0], [4, 0, 0]])
    report = out.uns["feature_match"]
    assert report["method"] == "overlap" and report["n_matched"] == 2
    assert report["n_model_features"] == 3 and report["fraction"] == pytest.approx(2 / 3)
    assert list(out.var_names) == ["chr1:120-180", "chr1:210-300", "chr1:5000-5100"]


def test_split_merged_and_shifted_peaks_and_a_table_of_targets():
    own = pd.DataFrame(
        {
            "chrom": ["chr2", "chr2", "chr2", "chr2"],
            "start": [100, 150, 1000, 2050],  # a peak split in two, one merged, one shifted
            "end": [150, 200, 1400, 2150],
        },
        index=["a", "b", "c", "d"],
    )
    adata = ad.AnnData(sp.csr_matrix(np.array([[1.0, 2, 4, 8]], dtype=np.float32)), var=own)
    targets = pd.DataFrame(
        {
            "chrom": ["2", "2", "2", "2"],
            "start": [100, 1000, 1200, 2000],
            "end": [200, 1200, 1400, 2100],
        },
        index=["whole", "left", "right", "shifted"],
    )
    out = bf.pp.map_peaks(adata, targets)
    np.testing.assert_array_equal(out.X.toarray(), [[3, 4, 4, 8]])
    assert list(out.var["n_source_peaks"]) == [2, 1, 1, 1]
    fewer = bf.pp.map_peaks(adata, targets, min_overlap=80)
    np.testing.assert_array_equal(fewer.X.toarray(), [[0, 4, 4, 0]])


def test_bad_peaks_are_named():
    adata = ad.AnnData(np.ones((2, 1), dtype=np.float32), var=pd.DataFrame(index=["chr1:1-5"]))
    with pytest.raises(ValueError, match="could not be parsed"):
        bf.pp.map_peaks(adata, ["peak_one"])
    with pytest.raises(TypeError, match="peaks: expected peak names"):
        bf.pp.map_peaks(adata, "chr1:1-5")
