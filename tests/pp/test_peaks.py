"""Peak-name parsing, annotation, natural chromosome order and per-chromosome groups."""

from __future__ import annotations

import anndata as ad
import mudata
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import butterflyvi as bf

FORMATS = {
    "chr1:100-200": ("chr1", 100, 200),
    "chr1-100-200": ("chr1", 100, 200),
    "chr1_100_200": ("chr1", 100, 200),
    "1-100-200": ("1", 100, 200),
    "chrUn_GL000195v1:100-200": ("chrUn_GL000195v1", 100, 200),
    "chrUn_GL000195v1_100_200": ("chrUn_GL000195v1", 100, 200),
    "GL000195.1-100-200": ("GL000195.1", 100, 200),
    "chr1_KI270706v1_random-5-9": ("chr1_KI270706v1_random", 5, 9),
    "chrX:0-0": ("chrX", 0, 0),
}


@pytest.mark.parametrize(("name", "expected"), list(FORMATS.items()))
def test_parse_each_format(name, expected):
    df = bf.pp.parse_peak_names([name])
    assert list(df.index) == [name]
    assert (df["chrom"].iloc[0], df["start"].iloc[0], df["end"].iloc[0]) == expected
    assert isinstance(df["chrom"].iloc[0], str)
    assert df["start"].dtype == np.int64 and df["end"].dtype == np.int64


def test_parse_mixed_formats_keeps_order():
    names = list(FORMATS)[::-1]
    df = bf.pp.parse_peak_names(pd.Index(names))
    assert list(df.index) == names
    assert list(df.columns) == ["chrom", "start", "end"]
    assert df.loc["1-100-200", "chrom"] == "1"


@pytest.mark.parametrize(
    "bad",
    [
        "foo",
        "chr1:100",
        "chr1:abc-200",
        "peak_1",
        ":100-200",
        "chr1:100-200-",
        "chr1 100 200",
        "chr1:1-2\n",
    ],
)
def test_parse_bad_names(bad):
    names = ["chr1:1-2", bad, "chr2:3-4"]
    with pytest.raises(ValueError, match=r"1 of 3 names") as err:
        bf.pp.parse_peak_names(names)
    assert repr(bad) in str(err.value)
    assert "chr1:100-200" in str(err.value)  # lists the accepted formats


def test_parse_counts_failures_and_start_after_end():
    with pytest.raises(ValueError, match=r"3 of 4 names.*'a'"):
        bf.pp.parse_peak_names(["a", "b", "chr1:1-2", "c"])
    with pytest.raises(ValueError, match=r"start > end.*'chr1:300-200'"):
        bf.pp.parse_peak_names(["chr1:100-200", "chr1:300-200"])


def test_parse_empty():
    df = bf.pp.parse_peak_names([])
    assert df.shape == (0, 3)


def _peaks_adata(names, var=None):
    X = sparse.csr_matrix(np.ones((2, len(names)), dtype=np.float32))
    var = pd.DataFrame(index=names) if var is None else var
    return ad.AnnData(X, var=var)


def test_annotate_peaks_parses_names_and_copy():
    a = _peaks_adata(["chr2_5_9", "chr1_1_3"])
    out = bf.pp.annotate_peaks(a, copy=True)
    assert "chrom" not in a.var.columns
    assert out.var["chrom"].tolist() == ["chr2", "chr1"]
    assert out.var["start"].tolist() == [5, 1]
    assert bf.pp.annotate_peaks(a) is None
    assert a.var["end"].tolist() == [9, 3]


def test_annotate_peaks_uses_existing_columns():
    var = pd.DataFrame(
        {"chrom": pd.Categorical(["chr3", "chr1"]), "start": [10.0, 20.0], "end": [15, 25]},
        index=["peakA", "peakB"],  # unparseable names: the columns must be used
    )
    a = _peaks_adata(["peakA", "peakB"], var)
    bf.pp.annotate_peaks(a)
    assert a.var["chrom"].tolist() == ["chr3", "chr1"]
    assert a.var["start"].dtype == np.int64 and a.var["start"].tolist() == [10, 20]


def test_annotate_peaks_invalid_columns_fall_back_to_names():
    var = pd.DataFrame(
        {"chrom": ["chr3", None], "start": [10, 20], "end": [15, 25]},
        index=["chr3:10-15", "chr1:20-25"],
    )
    a = _peaks_adata(list(var.index), var)
    with pytest.warns(UserWarning, match="not valid"):
        bf.pp.annotate_peaks(a)
    assert a.var["chrom"].tolist() == ["chr3", "chr1"]


def test_annotate_peaks_bad_names_unchanged():
    a = _peaks_adata(["chr1:1-2", "geneX"])
    before = a.var.copy()
    with pytest.raises(ValueError, match="1 of 2 names"):
        bf.pp.annotate_peaks(a)
    pd.testing.assert_frame_equal(a.var, before)


def test_chromosome_order_natural():
    chroms = ["chr10", "chrY", "chr2", "chrM", "chrX", "chr1", "chrUn_GL000195v1", "chr22"]
    chroms += ["GL000205.2", "chr2", "chr1_KI270706v1_random"]
    assert bf.pp.chromosome_order(chroms) == [
        "chr1",
        "chr2",
        "chr10",
        "chr22",
        "chrX",
        "chrY",
        "chrM",
        "chr1_KI270706v1_random",  # scaffolds alphabetically, "chr" ignored: "1_KI..." first
        "GL000205.2",
        "chrUn_GL000195v1",
    ]
    assert bf.pp.chromosome_order(["MT", "Y", "X", "11", "3"]) == ["3", "11", "X", "Y", "MT"]


def test_chromosome_groups_on_shuffled_peaks():
    rng = np.random.default_rng(0)
    chroms = rng.choice(["chr1", "chr2", "chr10", "chrX", "chrUn_GL1"], size=200)
    starts = rng.integers(0, 10_000, size=200)
    names = [f"{c}:{s}-{s + 50}" for c, s in zip(chroms, starts, strict=True)]
    names = list(dict.fromkeys(names))
    var = pd.DataFrame(index=names)
    groups = bf.pp.chromosome_groups(var)
    parsed = bf.pp.parse_peak_names(names)
    assert [c for c, _ in groups] == bf.pp.chromosome_order(parsed["chrom"])
    allpos = np.concatenate([p for _, p in groups])
    assert np.array_equal(np.sort(allpos), np.arange(len(names)))
    for chrom, pos in groups:
        assert (parsed["chrom"].to_numpy()[pos] == chrom).all()
        assert np.all(np.diff(parsed["start"].to_numpy()[pos]) >= 0)
        assert pos.dtype == np.int64


def test_chromosome_groups_real_snare(shared_file):
    m = mudata.read_h5mu(shared_file("snareseq_mouse_cortex_chen2019.h5mu"))
    var = m["atac"].var
    perm = np.random.default_rng(1).permutation(len(var))
    shuffled = var.iloc[perm]
    groups = bf.pp.chromosome_groups(shuffled)
    names = [c for c, _ in groups]
    assert names[:3] == ["chr1", "chr2", "chr3"] and names.index("chr10") == 9
    assert names[-1] == "chrX"
    for chrom, pos in groups:
        sub = shuffled.iloc[pos]
        assert (sub["chrom"].astype(str) == chrom).all()
        assert sub["start"].is_monotonic_increasing
    # same groups whether taken from the columns or the names
    from_names = bf.pp.chromosome_groups(pd.DataFrame(index=shuffled.index))
    assert [c for c, _ in from_names] == names
    for (_, a), (_, b) in zip(groups, from_names, strict=True):
        assert np.array_equal(a, b)


def test_real_peak_names_parse(shared_file):
    a = ad.read_h5ad(shared_file("bmmc_multiome_starter_atac.h5ad"))  # chr1-1677585-1678477
    df = bf.pp.parse_peak_names(a.var_names)
    first = a.var_names[0].split("-")
    assert df["chrom"].iloc[0] == first[0] and df["start"].iloc[0] == int(first[1])
    assert "GL000205.2" in set(df["chrom"])  # a scaffold
    assert bf.pp.chromosome_order(df["chrom"])[-1] == "GL000205.2"
    m = mudata.read_h5mu(shared_file("pbmc_multiome_muon_test1000.h5mu"))  # chr1:100-200
    df = bf.pp.parse_peak_names(m["atac"].var_names)
    interval = m["atac"].var["interval"].iloc[0]
    assert f"{df['chrom'].iloc[0]}:{df['start'].iloc[0]}-{df['end'].iloc[0]}" == interval
