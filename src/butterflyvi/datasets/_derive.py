"""Building the SNARE-seq and PBMC 10k CITE-seq MuData objects from their public sources.

Each function reads the downloaded source files from one folder and returns the object that
is stored as the dataset's file (the same values, names and columns as ``shared/data``).
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import h5py
import mudata as md
import numpy as np
import pandas as pd
import scipy.sparse as sp


def derive_snareseq(folder: Path) -> md.MuData:
    """SNARE-seq from scMoMaT's batch-1 files.

    ``GxC1.npz`` (genes × cells) and ``RxC1.npz`` (peaks × cells) are transposed to CSR
    float32 cells × features; genes and peaks are named from ``genes.txt`` and
    ``regions.txt``; the peaks get ``chrom``/``start``/``end`` parsed from their names
    (``chr1_4914570_4914685``); ``meta_c1.csv`` gives the cells (its index) and the obs
    columns ``library`` (``Batch``), ``Barcode``, ``cell_type`` (``Ident``) and
    ``cell_type_coarse`` (``cluster (remapped)``), as categoricals.
    """
    meta = pd.read_csv(folder / "meta_c1.csv", index_col=0)
    obs = pd.DataFrame(
        {
            "library": meta["Batch"].astype(str),
            "Barcode": meta["Barcode"].astype(str),
            "cell_type": meta["Ident"].astype(str),
            "cell_type_coarse": meta["cluster (remapped)"].astype(str),
        },
        index=meta.index.astype(str),
    ).astype("category")
    genes = _lines(folder / "genes.txt")
    regions = _lines(folder / "regions.txt")
    rna = _cells_by_features(folder / "GxC1.npz", genes, obs)
    atac = _cells_by_features(folder / "RxC1.npz", regions, obs)
    parts = atac.var_names.str.rsplit("_", n=2, expand=True)
    atac.var["chrom"] = pd.Categorical(parts.get_level_values(0))
    atac.var["start"] = parts.get_level_values(1).astype(np.int64)
    atac.var["end"] = parts.get_level_values(2).astype(np.int64)
    return _described(
        {"rna": rna, "atac": atac},
        "SNARE-seq adult mouse cortex (Chen, Lake & Zhang 2019; GEO GSE126074), batch 1 of "
        "scMoMaT's MOp_5batches files, raw counts.",
    )


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _cells_by_features(path: Path, names: list[str], obs: pd.DataFrame) -> ad.AnnData:
    matrix = sp.load_npz(path)
    if matrix.shape != (len(names), len(obs)):
        raise ValueError(
            f"{path.name}: expected {len(names)} features × {len(obs)} cells, found {matrix.shape}."
        )
    X = sp.csr_matrix(matrix.T, dtype=np.float32)
    X.sort_indices()
    return ad.AnnData(X=X, obs=obs.copy(), var=pd.DataFrame(index=pd.Index(names)))


#: The 14 proteins of the scMDC file, in its column order: the H5 has no feature names; they
#: are those of scvi-tools' pbmc_10k_protein_v3 test file, whose count vectors match.
PBMC10K_PROTEINS = (
    "CD3_TotalSeqB",
    "CD4_TotalSeqB",
    "CD8a_TotalSeqB",
    "CD14_TotalSeqB",
    "CD15_TotalSeqB",
    "CD16_TotalSeqB",
    "CD56_TotalSeqB",
    "CD19_TotalSeqB",
    "CD25_TotalSeqB",
    "CD45RA_TotalSeqB",
    "CD45RO_TotalSeqB",
    "PD-1_TotalSeqB",
    "TIGIT_TotalSeqB",
    "CD127_TotalSeqB",
)


def derive_pbmc10k(folder: Path) -> md.MuData:
    """PBMC 10k CITE-seq from scMDC's ``10XPBMC_filtered_1000G.H5``.

    ``X1`` (cells × 1,000 genes) and ``X2`` (cells × 14 proteins) become CSR float32 raw
    counts, cells named ``cell00000``…, genes ``gene0000``…, ``Y`` the obs
    ``cluster_label`` (scMDC's unnamed clusters, categorical). The proteins are named from
    scvi-tools' ``pbmc_10k_protein_v3.h5ad`` (its ``uns["protein_names"]``, checked to be
    :data:`PBMC10K_PROTEINS`), and each gene gets ``var["inferred_symbol"]``: the gene of
    that file whose counts equal the column's over the cells found in both (a cell is found
    when exactly one scMDC cell has its 14 protein counts); empty when no single gene does.
    """
    with h5py.File(folder / "10XPBMC_filtered_1000G.H5", "r") as handle:
        genes_x = np.asarray(handle["X1"][:], dtype=np.float32)
        proteins_x = np.asarray(handle["X2"][:], dtype=np.float32)
        labels = np.asarray(handle["Y"][:])
    n_cells, n_genes = genes_x.shape
    reference = ad.read_h5ad(folder / "pbmc_10k_protein_v3.h5ad")
    names = [str(n) for n in reference.uns["protein_names"]]
    if tuple(names) != PBMC10K_PROTEINS or proteins_x.shape[1] != len(names):
        raise ValueError(
            "pbmc_10k_protein_v3.h5ad: expected the 14 proteins "
            f"{list(PBMC10K_PROTEINS)}, found {names}."
        )
    obs = pd.DataFrame(
        {"cluster_label": pd.Categorical(labels.astype(np.int64))},
        index=[f"cell{i:05d}" for i in range(n_cells)],
    )
    symbols = _inferred_symbols(genes_x, proteins_x, reference)
    rna = ad.AnnData(
        X=sp.csr_matrix(genes_x),
        obs=obs.copy(),
        var=pd.DataFrame(
            {"inferred_symbol": pd.Categorical(symbols)},
            index=[f"gene{j:04d}" for j in range(n_genes)],
        ),
    )
    prot = ad.AnnData(
        X=sp.csr_matrix(proteins_x), obs=obs.copy(), var=pd.DataFrame(index=list(names))
    )
    return _described(
        {"rna": rna, "prot": prot},
        "10x Genomics pbmc_10k_protein_v3 CITE-seq, 1000-gene filtered version shipped by "
        "scMDC; raw counts; protein names and gene symbols from scvi-tools' test file.",
    )


def _inferred_symbols(genes_x: np.ndarray, proteins_x: np.ndarray, reference: ad.AnnData):
    protein_ref = np.asarray(reference.obsm["protein_expression"], dtype=np.float32)
    rows: dict[bytes, list[int]] = {}
    for i, vector in enumerate(proteins_x):
        rows.setdefault(vector.tobytes(), []).append(i)
    ours, theirs = [], []
    for j, vector in enumerate(protein_ref):
        found = rows.get(vector.tobytes(), [])
        if len(found) == 1:
            ours.append(found[0])
            theirs.append(j)
    counts_ref = reference.X
    counts_ref = counts_ref.toarray() if sp.issparse(counts_ref) else np.asarray(counts_ref)
    columns_ref = np.asarray(counts_ref[theirs], dtype=np.float32).T  # genes × matched cells
    by_column: dict[bytes, list[int]] = {}
    for k, column in enumerate(columns_ref):
        by_column.setdefault(column.tobytes(), []).append(k)
    symbols = []
    for column in np.ascontiguousarray(genes_x[ours].T):
        found = by_column.get(column.tobytes(), [])
        symbols.append(str(reference.var_names[found[0]]) if len(found) == 1 else "")
    return symbols


def _described(modalities: dict, description: str) -> md.MuData:
    """A MuData of ``modalities`` with ``uns["description"]`` (no columns pulled up)."""
    with md.set_options(pull_on_update=False):
        mdata = md.MuData(modalities)
    mdata.uns["description"] = description
    return mdata
