"""CrossMP's preprocessing: peak filters, sex chromosomes and autosomes, merged peaks, z-scoring with
clipping, gene activity (MAESTRO's RP model), and the whole recipe on real data."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import butterflyvi as bf


def peaks(names, X) -> ad.AnnData:
    return ad.AnnData(sp.csr_matrix(np.asarray(X, dtype=np.float32)), var=pd.DataFrame(index=names))


def test_filter_peaks_by_open_cells_and_open_fraction():
    X = np.array([[1, 0, 3, 1], [2, 0, 0, 1], [0, 0, 1, 1], [0, 1, 0, 1]])  # open in 2,1,2,4
    adata = peaks([f"chr1:{i}00-{i}50" for i in range(1, 5)], X)
    bf.pp.filter_peaks(adata, min_cells=2, max_cell_fraction=0.5)
    assert list(adata.var_names) == ["chr1:100-150", "chr1:300-350"]
    assert list(adata.var["n_cells_open"]) == [2, 2]
    with pytest.raises(ValueError, match="filters that keep at least one peak"):
        bf.pp.filter_peaks(adata, min_cells=3)


def test_sex_chromosomes_are_removed_with_or_without_chr():
    adata = peaks(
        ["chr1:1-10", "chrX:1-10", "X-5-9", "Y_1_10", "chrY:1-10", "2:3-4"], np.ones((2, 6))
    )
    kept = bf.pp.remove_sex_chromosomes(adata, copy=True)
    assert list(kept.var_names) == ["chr1:1-10", "2:3-4"]
    genes = ad.AnnData(
        np.ones((2, 3), dtype=np.float32),
        var=pd.DataFrame({"interval": ["chr1:1-5", "chrX:1-9", "chr2:4-8"]}, index=["A", "B", "C"]),
    )
    assert list(bf.pp.remove_sex_chromosomes(genes, copy=True).var_names) == ["A", "C"]
    bare = ad.AnnData(np.ones((2, 2), dtype=np.float32), var=pd.DataFrame(index=["A", "B"]))
    with pytest.raises(KeyError, match=r"adata.var: expected gene coordinates"):
        bf.pp.remove_sex_chromosomes(bare, feature_type="genes")


def test_autosomes_are_the_numbered_chromosomes_as_crossmps_code_keeps():
    names = ["chr1:1-10", "chrX:1-10", "chrM:1-9", "chrUn_GL456:1-5", "19:3-4", "MT:1-2"]
    names += ["chr1_KI270706v1_random:1-9", "chr22:5-9"]
    adata = peaks(names, np.ones((2, len(names))))
    kept = bf.pp.keep_autosomes(adata, copy=True)
    assert list(kept.var_names) == ["chr1:1-10", "19:3-4", "chr22:5-9"]
    assert adata.n_vars == len(names)  # copy=True leaves the input as it was
    genes = ad.AnnData(
        np.ones((2, 3), dtype=np.float32),
        var=pd.DataFrame({"chrom": ["chr3", "chrY", "MT"]}, index=["A", "B", "C"]),
    )
    bf.pp.keep_autosomes(genes)
    assert list(genes.var_names) == ["A"]
    sex_only = peaks(["chrX:1-10", "chrY:1-10"], np.ones((2, 2)))
    with pytest.raises(ValueError, match="features on numbered chromosomes"):
        bf.pp.keep_autosomes(sex_only)


def test_crossmp_recipe_keeps_autosomes_unless_asked_for_no_sex(snare_demo):
    raw = snare_demo.copy()
    raw.mod["atac"] = raw["atac"].copy()
    extra = ad.AnnData(
        sp.csr_matrix(np.ones((raw.n_obs, 1), dtype=np.float32)),
        obs=pd.DataFrame(index=raw.obs_names),
        var=pd.DataFrame({"chrom": ["chrM"], "start": [100], "end": [900]}, index=["chrM_100_900"]),
    )
    raw.mod["atac"] = ad.concat([raw["atac"], extra], axis=1, merge="first")
    raw.mod["atac"].var = pd.concat([snare_demo["atac"].var, extra.var])
    raw.update()
    options = {"min_genes": 100, "max_genes": 7000, "max_peak_fraction": 1.0, "copy": True}
    autosomes = bf.pp.preprocess_crossmp(raw, **options)["atac"]
    no_sex = bf.pp.preprocess_crossmp(raw, chromosomes="no_sex", **options)["atac"]
    assert set(autosomes.var["chrom"]) == set(no_sex.var["chrom"]) - {"chrM"}
    assert "chrM" in set(no_sex.var["chrom"])
    with pytest.raises(ValueError, match="chromosomes: expected 'autosomes' or 'no_sex'"):
        bf.pp.preprocess_crossmp(raw, chromosomes="all", **options)


def test_overlapping_peaks_merge_and_their_counts_add_up():
    names = ["chr1:300-400", "chr1:100-200", "chr1:200-250", "chr2:100-200", "chr1:600-700"]
    X = np.array([[1, 2, 3, 4, 5], [0, 1, 0, 2, 0]])
    adata = peaks(names, X)
    adata.layers["counts"] = adata.X.copy()
    merged = bf.pp.merge_overlapping_peaks(adata, copy=True)
    assert list(merged.var_names) == [
        "chr1:100-250",
        "chr1:300-400",
        "chr1:600-700",
        "chr2:100-200",
    ]
    np.testing.assert_array_equal(merged.X.toarray(), [[5, 1, 5, 4], [1, 0, 0, 2]])
    np.testing.assert_array_equal(merged.layers["counts"].toarray(), merged.X.toarray())
    assert list(merged.var["n_merged"]) == [2, 1, 1, 1]
    assert sp.issparse(merged.X) and adata.n_vars == 5  # copy: input unchanged
    bf.pp.merge_overlapping_peaks(adata)
    assert adata.n_vars == 4


def test_zscore_with_clipping_is_stored_and_reapplied_to_new_cells(snare_demo):
    rna = snare_demo["rna"][:400].copy()
    raw = rna.copy()
    bf.pp.preprocess_rna(rna, scale="zscore", clip_quantile=0.005)
    X = rna.X
    assert isinstance(X, np.ndarray) and X.dtype == np.float32
    state = rna.uns["butterflyvi_preprocessing"]
    assert X.min() >= state["clip_low"] and X.max() <= state["clip_high"]
    clipped = np.mean((X == state["clip_low"]) | (X == state["clip_high"]))
    assert 0 < clipped < 0.05
    unclipped = (X > state["clip_low"]) & (X < state["clip_high"])
    np.testing.assert_allclose(X.mean(axis=0)[unclipped.all(axis=0)], 0, atol=1e-4)
    again = bf.pp.apply_preprocessing(raw, state=state, var=rna.var)
    np.testing.assert_allclose(np.asarray(again.X), X, rtol=1e-5, atol=1e-5)


def test_gene_activity_follows_maestros_rp_model(tmp_path):
    # gene G (+ strand) TSS at 100,000, exons [100,000-101,000] and [105,000-106,000] (2 kb);
    # gene H (- strand) TSS at 300,000.
    gtf = tmp_path / "genes.gtf"
    gtf.write_text(
        'chr1\tt\tgene\t100000\t110000\t.\t+\t.\tgene_id "g1"; gene_name "G";\n'
        'chr1\tt\texon\t100000\t101000\t.\t+\t.\tgene_id "g1"; gene_name "G";\n'
        'chr1\tt\texon\t105000\t106000\t.\t+\t.\tgene_id "g1"; gene_name "G";\n'
        'chr1\tt\tgene\t280000\t300000\t.\t-\t.\tgene_id "h1"; gene_name "H";\n'
    )
    names = [
        "chr1:105400-105600",  # in G's second exon: 1 / 2 kb
        "chr1:119900-120100",  # 20 kb downstream of G's TSS: 2^-2
        "chr1:299000-299200",  # H's promoter, 900 bp from its TSS: H only
        "chr2:100000-100200",  # another chromosome: nothing
        "chr1:450100-450300",  # 150.2 kb from H's TSS: beyond 15 x decay
    ]
    atac = peaks(names, [[1, 1, 1, 1, 1], [0, 3, 0, 0, 0]])
    ga = bf.pp.gene_activity(atac, str(gtf), decay=10_000)
    assert list(ga.var_names) == ["G", "H"] and sp.issparse(ga.X)
    G, H = ga.X.toarray().T
    # H's promoter peak counts for H only; the peak 20 kb from G is 180 kb from H's TSS.
    assert G[0] == pytest.approx(1 / 2.0 + 2 ** (-2.0), rel=1e-5)
    assert H[0] == pytest.approx(2 ** (-900 / 10_000), rel=1e-5)
    assert G[1] == pytest.approx(2 ** (-2.0), rel=1e-5)  # binarised: 3 counts count once
    counts = bf.pp.gene_activity(atac, str(gtf), binarize=False).X.toarray()
    assert counts[1, 0] == pytest.approx(3 * 2 ** (-2.0), rel=1e-5)
    assert (ga.X.data >= 0).all()


def test_gene_activity_streams_blocks_and_reads_10x_intervals(shared_file):
    mdata = bf.datasets.load_shared(
        "pbmc_multiome", path=shared_file("pbmc_multiome_muon_test1000.h5mu").parent
    )
    whole = bf.pp.gene_activity(mdata["atac"], mdata["rna"])
    blocks = bf.pp.gene_activity(mdata["atac"], mdata["rna"], block_rows=97)
    assert whole.shape == (1000, 45)
    np.testing.assert_allclose(blocks.X.toarray(), whole.X.toarray())
    assert (whole.var["n_peaks"] > 0).sum() >= 40  # peaks were chosen near these genes
    # gene activity tracks expression: positively correlated across cells on average
    rna = np.log1p(mdata["rna"].X.toarray())
    act = whole.X.toarray()
    r = [
        np.corrcoef(rna[:, j], act[:, j])[0, 1]
        for j in range(45)
        if rna[:, j].std() > 0 and act[:, j].std() > 0
    ]
    assert np.mean(r) > 0.05


def test_the_crossmp_recipe_on_real_cells(snare_demo):
    out = bf.pp.preprocess_crossmp(snare_demo, min_genes=100, max_genes=7000, copy=True)
    rna, atac = out["rna"], out["atac"]
    assert rna.obs_names.equals(atac.obs_names) and 100 < rna.n_obs < snare_demo.n_obs
    assert not atac.var["chrom"].str.upper().str.replace("CHR", "").isin(["X", "Y"]).any()
    # the peak filter runs on all cells, before the cell filter (CrossMP's order)
    assert atac.n_vars < snare_demo["atac"].n_vars
    assert atac.var["n_cells_open"].max() <= 0.1 * snare_demo.n_obs
    assert set(np.unique(atac.X.data)) <= {1.0}  # binarised input
    assert rna.uns["butterflyvi_preprocessing"]["scale"] == "zscore"
    assert snare_demo["rna"].n_vars == 1677  # the input is not changed


def test_velocity_genes_are_skipped_without_spliced_layers(snare_demo, caplog):
    with caplog.at_level("INFO"):
        assert bf.pp.velocity_genes(snare_demo["rna"]) is None
    assert "spliced" in caplog.text
