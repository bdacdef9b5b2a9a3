"""Where each public dataset comes from: addresses pinned to a commit, checksums, licences.

Every address is a file of a public repository at a fixed commit, so its bytes (and SHA-256)
never change. Four datasets are those files as they are; two (SNARE-seq, PBMC 10k CITE-seq)
are derived from them by :mod:`._derive`.
"""

from __future__ import annotations

from dataclasses import dataclass

_OPENPROBLEMS = (
    "https://raw.githubusercontent.com/openproblems-bio/neurips2021_multimodal_viash/"
    "edaa879332ce91af98f9a6eac3b3606b6fd860b2/resources_test/common/"
)
_SCMOMAT = (
    "https://raw.githubusercontent.com/PeterZZQ/scMoMaT/"
    "dbd954de4b1be415cdea543baf2856df0fda6992/data/real/MOp_5batches/"
)
_MUON = (
    "https://raw.githubusercontent.com/scverse/muon/"
    "03c762e5ebe44b5aa23392b1f31d27c41f2e0b44/tests/data/atac/"
)
_NEURIPS_CITATION = (
    "Luecken et al., A sandbox for prediction and integration of DNA, RNA, and proteins in "
    "single cells, NeurIPS Datasets and Benchmarks 2021 (GEO GSE194122)"
)


@dataclass(frozen=True)
class Source:
    """One file to download: its address, its SHA-256 and the name it is stored under."""

    url: str
    sha256: str
    file_name: str


@dataclass(frozen=True)
class PublicDataset:
    """A dataset of the docs, tutorials and benchmarks.

    ``files`` are the names of the ready-to-read files (those of the shared data folder);
    ``derived`` says whether they are built from ``sources`` (else they are the sources
    themselves, renamed).
    """

    name: str
    title: str
    files: tuple[str, ...]
    sources: tuple[Source, ...]
    derived: bool
    n_cells: int
    modalities: tuple[str, ...]
    licence: str
    citation: str


DATASETS: dict[str, PublicDataset] = {
    "snareseq": PublicDataset(
        name="snareseq",
        title="SNARE-seq adult mouse cortex, RNA + ATAC",
        files=("snareseq_mouse_cortex_chen2019.h5mu",),
        sources=(
            Source(
                _SCMOMAT + "GxC1.npz",
                "44e48e6243954feafe0541f33b6b116093ca1ed4a25fc2f3ca146d89d1ab1bab",
                "GxC1.npz",
            ),
            Source(
                _SCMOMAT + "RxC1.npz",
                "59d6f46dc4e908194bfc859b7773bc666d96ab74d9386b0a8f92d6b29dfcacf7",
                "RxC1.npz",
            ),
            Source(
                _SCMOMAT + "genes.txt",
                "9d722d1d281f5ff152dc8a1fb257fec883b8aa28ea3f4f79783d0595dd8b4833",
                "genes.txt",
            ),
            Source(
                _SCMOMAT + "regions.txt",
                "d77319b1ad8a51af2c97ffa5d23d5458e95356b1926e9ae4e0ab821cc7e492a3",
                "regions.txt",
            ),
            Source(
                _SCMOMAT + "meta_c1.csv",
                "05ea13be8042f66ee51516ccf9fd28ca43972498a69748a9e89b5b1ca280b037",
                "meta_c1.csv",
            ),
        ),
        derived=True,
        n_cells=10_309,
        modalities=("rna", "atac"),
        licence="MIT (scMoMaT repository); data GEO GSE126074",
        citation=(
            "Chen, Lake & Zhang, High-throughput sequencing of the transcriptome and chromatin "
            "accessibility in the same cell, Nat. Biotechnol. 2019 (GEO GSE126074); files of "
            "scMoMaT (Zhang et al., Nat. Commun. 2023)"
        ),
    ),
    "bmmc_multiome": PublicDataset(
        name="bmmc_multiome",
        title="NeurIPS 2021 BMMC Multiome starter, RNA + ATAC",
        files=("bmmc_multiome_starter_rna.h5ad", "bmmc_multiome_starter_atac.h5ad"),
        sources=(
            Source(
                _OPENPROBLEMS + "openproblems_bmmc_multiome_starter/"
                "openproblems_bmmc_multiome_starter.output_rna.h5ad",
                "53efc0c9c9fb205587d18087e9010846c7532d8de23daea26ff5a410b029cea6",
                "bmmc_multiome_starter_rna.h5ad",
            ),
            Source(
                _OPENPROBLEMS + "openproblems_bmmc_multiome_starter/"
                "openproblems_bmmc_multiome_starter.output_mod2.h5ad",
                "f6d6368518a7e5ed0e19eb67f87370b017a1d98d735b9aedbad78dd93c84a068",
                "bmmc_multiome_starter_atac.h5ad",
            ),
        ),
        derived=False,
        n_cells=500,
        modalities=("rna", "atac"),
        licence="MIT (openproblems-bio/neurips2021_multimodal_viash)",
        citation=_NEURIPS_CITATION,
    ),
    "bmmc_cite": PublicDataset(
        name="bmmc_cite",
        title="NeurIPS 2021 BMMC CITE-seq starter, RNA + protein",
        files=("bmmc_cite_starter_rna.h5ad", "bmmc_cite_starter_adt.h5ad"),
        sources=(
            Source(
                _OPENPROBLEMS + "openproblems_bmmc_cite_starter/"
                "openproblems_bmmc_cite_starter.output_rna.h5ad",
                "9c9e6e67a874f54e2ec10829cc399bec011b226c42a070f8ddd494435de51f24",
                "bmmc_cite_starter_rna.h5ad",
            ),
            Source(
                _OPENPROBLEMS + "openproblems_bmmc_cite_starter/"
                "openproblems_bmmc_cite_starter.output_mod2.h5ad",
                "aec93359c69cba9d6a764d954afe25b851fdbd271e659a51a6fa936666bafafc",
                "bmmc_cite_starter_adt.h5ad",
            ),
        ),
        derived=False,
        n_cells=600,
        modalities=("rna", "adt"),
        licence="MIT (openproblems-bio/neurips2021_multimodal_viash)",
        citation=_NEURIPS_CITATION,
    ),
    "pbmc10k_cite": PublicDataset(
        name="pbmc10k_cite",
        title="10x PBMC 10k CITE-seq (scMDC's 1,000-gene version), RNA + protein",
        files=("pbmc10k_cite_10x_scmdc1000g.h5mu",),
        sources=(
            Source(
                "https://raw.githubusercontent.com/xianglin226/scMDC/"
                "5f354593220d3e583fdc44dd019f55b5e090bff3/datasets/10XPBMC_filtered_1000G.H5",
                "44eba814cf417e3154790c6867405e73825aec986ca7191fdb96ef90a0165bf7",
                "10XPBMC_filtered_1000G.H5",
            ),
            Source(
                "https://raw.githubusercontent.com/scverse/scvi-tools/"
                "40fa551e43cabe575a9f777925a950215cdcdd06/tests/test_data/"
                "pbmc_10k_protein_v3.h5ad",
                "512fe360bd1cc79821f67959cc47e19b92bb7edbbb9351da5d1e9d70b35102a2",
                "pbmc_10k_protein_v3.h5ad",
            ),
        ),
        derived=True,
        n_cells=6_661,
        modalities=("rna", "prot"),
        licence="Apache-2.0 (scMDC); BSD-3-Clause (scvi-tools); data 10x Genomics (CC BY 4.0)",
        citation=(
            "10x Genomics pbmc_10k_protein_v3; filtered by scMDC (Lin et al., Nat. Commun. "
            "2022); protein names from scvi-tools' test data"
        ),
    ),
    "pbmc_multiome": PublicDataset(
        name="pbmc_multiome",
        title="10x PBMC Multiome, muon's 1,000-cell test file, RNA + ATAC (+ fragments)",
        files=(
            "pbmc_multiome_muon_test1000.h5mu",
            "pbmc_multiome_muon_test1000_fragments.tsv.gz",
            "pbmc_multiome_muon_test1000_fragments.tsv.gz.tbi",
        ),
        sources=(
            Source(
                _MUON + "test_rna_atac.h5mu",
                "9f5c1943c1159e9fa494216993f00da26c138ba68d6afe37340774db739da93d",
                "pbmc_multiome_muon_test1000.h5mu",
            ),
            Source(
                _MUON + "test_rna_atac_fragments.tsv.gz",
                "e97ddd8c9e8953a5a0476f57f192b797e0d55744522cbcb3308cfe508843e952",
                "pbmc_multiome_muon_test1000_fragments.tsv.gz",
            ),
            Source(
                _MUON + "test_rna_atac_fragments.tsv.gz.tbi",
                "f5a4ad0df7b5a824f86e53d64f1208cfd6e49b7a9ddadac12677f3772f802f4f",
                "pbmc_multiome_muon_test1000_fragments.tsv.gz.tbi",
            ),
        ),
        derived=False,
        n_cells=1_000,
        modalities=("rna", "atac"),
        licence="BSD-3-Clause (scverse/muon); data 10x Genomics (CC BY 4.0)",
        citation=(
            "10x Genomics PBMC Multiome; muon test data (Bredikhin et al., Genome Biol. 2022)"
        ),
    ),
    "kang": PublicDataset(
        name="kang",
        title="Kang et al. 2018 IFN-β PBMC, control and stimulated (scGen's valid_pbmc)",
        files=("kang2018_scgen_valid_pbmc.h5ad",),
        sources=(
            Source(
                "https://raw.githubusercontent.com/theislab/scgen/"
                "dd7e178f9b42b9dfef9eb18d0da4b8e3caea4cf7/data/valid.h5ad",
                "83f89f5356a4c01f65bbcee225eb45d8d8b13b6c962724431a26c1bf568ff09e",
                "kang2018_scgen_valid_pbmc.h5ad",
            ),
        ),
        derived=False,
        n_cells=1_975,
        modalities=("control", "stimulated"),
        licence="GPL-3 (theislab/scgen, from Feb 2019); data GEO GSE96583",
        citation=(
            "Kang et al., Multiplexed droplet single-cell RNA-sequencing using natural genetic "
            "variation, Nat. Biotechnol. 2018 (GEO GSE96583); split of scGen (Lotfollahi et "
            "al., Nat. Methods 2019)"
        ),
    ),
}
