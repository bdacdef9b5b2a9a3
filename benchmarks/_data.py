"""Datasets of the benchmarks: loading, the fixed split, subsampling and preprocessing."""

from __future__ import annotations

from dataclasses import dataclass, field

import mudata as md
import numpy as np

import butterflyvi as bf

#: Paired datasets: modalities (x, y), kinds (x, y) and the obs column of cell labels.
PAIRED: dict[str, dict] = {
    "demo": {"mods": ("rna", "atac"), "label": "cell_type"},
    "snareseq": {"mods": ("rna", "atac"), "label": "cell_type"},
    "bmmc_multiome": {"mods": ("rna", "atac"), "label": "cell_type"},
    "bmmc_cite": {"mods": ("rna", "adt"), "label": "cell_type"},
    # scMDC's unnamed integer clusters: the only labels of this file (see docs/benchmarks.md).
    "pbmc10k_cite": {"mods": ("rna", "prot"), "label": "cluster_label"},
    # muon's 1,000-cell test file has no labels: Leiden clusters of its RNA stand in.
    "pbmc_multiome": {"mods": ("rna", "atac"), "label": "rna_leiden"},
}
PERTURBATION = ("kang",)
DATASETS = (*PAIRED, *PERTURBATION)

#: Cells kept by ``--quick`` (a seeded random subsample, before the split).
QUICK_CELLS = 400


@dataclass
class PairedData:
    """A preprocessed paired dataset and its split (integer positions, obs_names)."""

    name: str
    mdata: md.MuData
    mods: tuple[str, str]
    label_key: str
    split: dict[str, np.ndarray]
    notes: list[str] = field(default_factory=list)

    def names(self, part: str) -> list[str]:
        """obs_names of one part of the split."""
        return self.mdata.obs_names[self.split[part]].tolist()


def seeded_split(n: int, *, seed: int = 0) -> dict[str, np.ndarray]:
    """``RandomState(seed).permutation(n)``: first 80 % train, next 10 % validation, rest test."""
    perm = np.random.RandomState(seed).permutation(n)
    n_train, n_val = int(0.8 * n), int(0.1 * n)
    return {
        "train": perm[:n_train],
        "validation": perm[n_train : n_train + n_val],
        "test": perm[n_train + n_val :],
    }


def _load(name: str) -> md.MuData:
    if name == "demo":
        return bf.datasets.snareseq_demo()
    return bf.datasets.load_shared(name)


def _preprocess(
    mdata: md.MuData, mods: tuple[str, str], notes: list[str], pp: str = "default"
) -> md.MuData:
    if pp == "crossmp":
        out = bf.pp.preprocess_crossmp(mdata, min_genes=10, max_genes=7000, copy=True)
        notes.append(
            "Preprocessing: CrossMP's (bf.pp.preprocess_crossmp): sex chromosomes removed, "
            "overlapping peaks merged, peaks open in < 5 cells or > 10 % of cells dropped, "
            "cells with < 10 or > 7,000 genes removed (10, not 200: the panels here are small), "
            "RNA z-scored and clipped at 0.5 %, peaks binarised."
        )
        return out
    for mod in mods:
        adata = mdata.mod[mod]
        if mod == "rna":
            bf.pp.preprocess_rna(adata, n_top_genes=3000)
        elif mod == "atac":
            bf.pp.preprocess_atac(adata)
        else:
            bf.pp.preprocess_adt(adata)
    mdata.update()
    notes.append(
        "Preprocessing fitted on all cells of the dataset, as the original scButterfly did "
        "(RNA: median normalisation, log1p, top 3000 HVGs; ATAC: binarise, peaks open in "
        "< 0.5 % of cells dropped, TF-IDF scaled by its max; ADT: CLR)."
    )
    return mdata


def load_paired(
    name: str, *, quick: bool = False, seed: int = 0, pp: str = "default", extra: str | None = None
) -> PairedData:
    """Load, subsample (``quick``), preprocess and split one paired dataset.

    SNARE-seq uses the fixed split of ``bf.datasets.snareseq_split()`` (the BASELINE split);
    the others ``np.random.RandomState(0).permutation(n)`` 80/10/10 (``seed`` is the model
    seed, not the split's).
    """
    spec = PAIRED[name]
    mods, label = spec["mods"], spec["label"]
    mdata = _load(name)
    notes: list[str] = []
    if quick:
        keep = np.sort(np.random.RandomState(0).permutation(mdata.n_obs)[:QUICK_CELLS])
        mdata = mdata[keep].copy()
        notes.append(f"--quick: a seeded random subsample of {mdata.n_obs} cells.")
    if name == "snareseq" and not quick:
        parts = bf.datasets.snareseq_split()
        index = mdata.obs_names
        split = {p: np.sort(index.get_indexer(parts[p])) for p in parts}
        if any((v < 0).any() for v in split.values()):
            raise ValueError("snareseq_split() names cells absent from load_shared('snareseq').")
        notes.append("Split: bf.datasets.snareseq_split() (the BASELINE.md split).")
    else:
        split = seeded_split(mdata.n_obs)
        notes.append("Split: np.random.RandomState(0).permutation(n), 80 / 10 / 10.")
    activity = None
    if extra == "gene_activity":
        activity = bf.pp.gene_activity(mdata["atac"], mdata["rna"])
        activity.X = activity.X.log1p()
        notes.append("Extra input beside ATAC: gene activity (MAESTRO RP, 10 kb), log1p.")
    names_before = mdata.obs_names
    mdata = _preprocess(mdata, mods, notes, pp)
    if not mdata.obs_names.equals(names_before):  # cells removed: the split follows the names
        kept = mdata.obs_names
        split = {
            p: np.sort(kept.get_indexer(names_before[v][names_before[v].isin(kept)]))
            for p, v in split.items()
        }
    if activity is not None:
        mdata.mod["gene_activity"] = activity[mdata.obs_names].copy()
        mdata.update()
    if label == "rna_leiden" and label not in mdata.obs:
        mdata.obs[label] = _leiden_labels(mdata[mods[0]])
        notes.append("Labels: Leiden clusters (resolution 1) of the measured RNA.")
    if label not in mdata.obs:
        mdata.obs[label] = mdata.mod[mods[0]].obs[label]
    return PairedData(name=name, mdata=mdata, mods=mods, label_key=label, split=split, notes=notes)


def _leiden_labels(rna) -> np.ndarray:
    import scanpy as sc

    from butterflyvi._neighbors import neighbors

    work = rna.copy()
    sc.pp.pca(work, n_comps=min(20, work.n_vars - 1), random_state=0)
    neighbors(work, n_neighbors=15, use_rep="X_pca")
    sc.tl.leiden(
        work, resolution=1.0, flavor="igraph", n_iterations=2, directed=False, random_state=0
    )
    return work.obs["leiden"].astype(str).to_numpy()
