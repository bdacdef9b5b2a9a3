"""``bf.pp.count_fragments``: Tn5 cut sites counted as Cell Ranger ARC, streamed, checked on a
small file by hand and against the bundled PBMC multiome peak counts."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from benchmarks.own_data import covered_peaks

import butterflyvi as bf


def test_each_end_inside_a_peak_counts_once(tmp_path):
    path = tmp_path / "fragments.tsv.gz"
    lines = [
        "# a comment line",
        "chr1\t100\t150\tA\t1",  # both ends in peak 0 → 2
        "chr1\t190\t260\tA\t3",  # start in peak 0, end in peak 1 → 1 and 1
        "chr1\t300\t400\tB\t1",  # no peak
        "1\t240\t250\tB\t1",  # "1" is chr1: both ends in peak 1 → 2
        "chr2\t10\t20\tC\t1",  # a barcode not asked for
    ]
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    out = bf.pp.count_fragments(
        path, ["chr1:100-200", "chr1:200-260"], barcodes=["A", "B"], chunk_rows=2
    )
    np.testing.assert_array_equal(out.X.toarray(), [[3, 1], [0, 2]])
    assert list(out.obs["n_fragments"]) == [2, 2]
    every = bf.pp.count_fragments(path, ["chr1:100-200", "chr1:200-260"])
    assert list(every.obs_names) == ["A", "B", "C"]


def test_it_reproduces_the_bundled_counts_on_the_covered_peaks(shared_file):
    import mudata as md

    atac = md.read_h5mu(shared_file("pbmc_multiome_muon_test1000.h5mu"))["atac"]
    fragments = shared_file("pbmc_multiome_muon_test1000_fragments.tsv.gz")
    out = bf.pp.count_fragments(fragments, atac.var_names, barcodes=atac.obs_names)
    covered = covered_peaks(
        pd.read_csv(fragments, sep="\t", header=None, usecols=[0, 1, 2]), out.var
    )
    assert covered.sum() >= 100  # the file holds fragments near the 45 genes only
    truth, counted = atac.X.toarray()[:, covered], out.X.toarray()[:, covered]
    assert np.corrcoef(truth.ravel(), counted.ravel())[0, 1] >= 0.99


def test_a_missing_file_and_overlapping_peaks_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="fragments_file"):
        bf.pp.count_fragments(tmp_path / "none.tsv.gz", ["chr1:1-10"])
    path = tmp_path / "f.tsv"
    path.write_text("chr1\t1\t5\tA\t1\n")
    with pytest.raises(ValueError, match="non-overlapping peaks"):
        bf.pp.count_fragments(path, ["chr1:1-10", "chr1:5-20"])
