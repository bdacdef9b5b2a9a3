"""Recipes of the pretrained catalogue (``bf.zoo``): data, split, preprocessing, evaluation.

Used by ``scripts/build_zoo.py``. Every recipe fits on its training cells only (train +
validation for preprocessing and best-epoch choice; the test cells are never seen) and
evaluates on its test cells beside the trivial training-mean baseline.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from mudata import MuData

import butterflyvi as bf


@dataclass
class Split:
    """obs_names of the three parts."""

    train: list[str]
    validation: list[str]
    test: list[str]


@dataclass
class Recipe:
    """How one catalogue model is built."""

    name: str
    description: str
    dataset: str  # a loader of bf.datasets (bf.datasets.<dataset>())
    species: str
    tissue: str
    assay: str
    genome: str
    source: str
    modalities: tuple[str, str]
    directions: tuple[str, ...]
    epochs: tuple[int, int]
    prepare: Callable[[Any], Any]
    split: Callable[[Any], Split]
    train_data: Callable[[Any, Split], tuple[MuData, list[np.ndarray]]]
    evaluate: Callable[[bf.ButterflyModel, Any, Split], dict[str, dict[str, dict[str, float]]]]
    notes: list[str] = field(default_factory=list)
    full_size: str = ""
    #: obs column of cell types kept with the reference cells (``model.annotate``).
    label_key: str | None = None


# ------------------------------------------------------------------------------ helpers
def seeded_split(names: pd.Index, seed: int = 0) -> Split:
    """80 / 10 / 10 of ``np.random.RandomState(seed).permutation``; ids sorted within parts."""
    perm = np.random.RandomState(seed).permutation(len(names))
    n_train, n_val = int(0.8 * len(names)), int(0.1 * len(names))
    parts = np.split(perm, [n_train, n_train + n_val])
    return Split(*(sorted(names[p].astype(str)) for p in parts))


def paired_training(preprocess: dict[str, Callable[[AnnData], None]]):
    """Preprocess the train + validation cells of a paired MuData, positions of each part."""

    def build(mdata: MuData, split: Split) -> tuple[MuData, list[np.ndarray]]:
        cells = split.train + split.validation
        train = mdata[cells].copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            for mod, function in preprocess.items():
                function(train[mod])
            train.update()
        n = len(split.train)
        return train, [np.arange(n), np.arange(n, len(cells)), np.array([], dtype=int)]

    return build


def _binary(matrix) -> np.ndarray:
    dense = matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)
    return (dense > 0).astype(np.float32)


def _headline(kind: str, scores: dict[str, Any]) -> dict[str, float]:
    keys = (
        ("auroc", "aupr", "auroc_per_peak_mean", "auroc_per_cell_mean")
        if kind == "accessibility"
        else ("pearson_per_cell_mean", "pearson_per_feature_mean", "rmse")
    )
    return {k: float(scores[k]) for k in keys if k in scores}


def evaluate_paired(model: bf.ButterflyModel, mdata: MuData, split: Split) -> dict:
    """Each direction on the raw test cells, against the truth on the model's scale."""
    test = mdata[split.test].copy()
    train = mdata[split.train].copy()
    out = {}
    for source, target in (model.modalities_, model.modalities_[::-1]):
        space = model.feature_spaces[model.modalities_.index(target)]
        pred = model.translate(test[source], source=source)
        truth, baseline_train = _truth(space, test[target]), _truth(space, train[target])
        baseline = bf.metrics.baseline_mean(baseline_train, truth.n_obs, obs_names=truth.obs_names)
        kind = bf.kinds.get_kind(space.kind)
        out[f"{source}->{target}"] = {
            "model": _headline(space.kind, kind.metric(pred, truth)),
            "training mean": _headline(space.kind, kind.metric(baseline, truth)),
        }
    return out


def _truth(space, counts: AnnData) -> AnnData:
    """The measured cells on the scale of the model's predictions of ``space``."""
    var = space.var()
    if space.kind == "accessibility":  # predictions are P(open): compare with open / closed
        present = counts[:, counts.var_names.isin(var.index)]
        values = present[:, var.index].X
        return AnnData(_binary(values), obs=counts.obs[[]].copy(), var=var)
    return bf.pp.apply_preprocessing(counts, state=space.preprocessing, var=var)


# ------------------------------------------------------------------------------ datasets
def snareseq_split(mdata: MuData) -> Split:
    """The fixed split of ``snareseq_split.json``."""
    parts = bf.datasets.snareseq_split()
    return Split(parts["train"], parts["validation"], parts["test"])


def pbmc10k_with_symbols(mdata: MuData) -> MuData:
    """Genes named by their symbol where scMDC matched one (``var["inferred_symbol"]``)."""
    rna = mdata["rna"]
    symbol = rna.var["inferred_symbol"].astype(str).fillna("")
    names = np.where((symbol != "") & (symbol != "nan"), symbol, rna.var_names)
    rna.var["original_name"] = rna.var_names.to_numpy()
    rna.var_names = pd.Index(names).astype(str)
    rna.var_names_make_unique()
    mdata.update()
    return mdata


# ------------------------------------------------------------------------------ perturbation
N_KANG_GENES = 2000


def kang_prepare(adata: AnnData) -> AnnData:
    """Kang et al. as stored (log-normalised)."""
    return adata


def kang_split(adata: AnnData) -> Split:
    """80 / 10 / 10 of the cells, seeded."""
    return seeded_split(adata.obs_names)


def kang_training(adata: AnnData, split: Split) -> tuple[MuData, list[np.ndarray]]:
    """OT pairs of the train + validation cells, on genes variable in the training cells."""
    import scanpy as sc

    fit = adata[split.train].copy()
    hvg = sc.pp.highly_variable_genes(fit, n_top_genes=N_KANG_GENES, flavor="seurat", inplace=False)
    genes = fit.var_names[hvg["highly_variable"].to_numpy()]
    cells = adata[split.train + split.validation, genes].copy()
    pairs = bf.tl.pair_by_ot(cells, n_pcs=50, seed=0)
    in_val = pd.Index(pairs.obs["butterflyvi_source_cell_control"]).isin(split.validation)
    positions = np.arange(pairs.n_obs)
    return pairs, [positions[~in_val], positions[in_val], np.array([], dtype=int)]


def kang_evaluate(model: bf.ButterflyModel, adata: AnnData, split: Split) -> dict:
    """Per held-out cell type: R² of the mean over all genes and the top-100 DEGs."""
    test = adata[split.test].copy()
    train = adata[split.train].copy()
    genes = model.feature_spaces[0].var_names
    stim_train = train[train.obs["condition"] == "stimulated", genes]
    rows: dict[str, list[dict]] = {"model": [], "training mean": [], "control unchanged": []}
    for cell_type in sorted(test.obs["cell_type"].unique()):
        part = test[test.obs["cell_type"] == cell_type, genes]
        ctrl = part[part.obs["condition"] == "control"].copy()
        stim = part[part.obs["condition"] == "stimulated"].copy()
        if ctrl.n_obs < 2 or stim.n_obs < 2:
            continue
        pred = model.translate(ctrl, source="control")
        mean = bf.metrics.baseline_mean(stim_train, ctrl.n_obs, obs_names=ctrl.obs_names)
        for key, prediction in (
            ("model", pred),
            ("training mean", mean),
            ("control unchanged", ctrl),
        ):
            scores = bf.metrics.perturbation(prediction, ctrl, stim, n_boot=20)
            rows[key].append({"r2_all": scores["r2_all"], "r2_degs": scores["r2_degs"]})
    return {
        "control->stimulated": {
            key: {m: float(np.mean([r[m] for r in values])) for m in ("r2_all", "r2_degs")}
            for key, values in rows.items()
        }
    }


# ------------------------------------------------------------------------------ the catalogue
def _rna(adata: AnnData) -> None:
    bf.pp.preprocess_rna(adata, n_top_genes=3000)


def _atac(adata: AnnData) -> None:
    bf.pp.preprocess_atac(adata, min_cell_fraction=0.005)


RECIPES: dict[str, Recipe] = {
    "mouse-cortex-rna-atac": Recipe(
        name="mouse-cortex-rna-atac",
        label_key="cell_type",
        description=(
            "Adult mouse cortex, RNA ↔ chromatin accessibility, trained on the SNARE-seq "
            "cells of the fixed train split (snareseq_split.json)."
        ),
        dataset="snareseq",
        species="mouse",
        tissue="brain (cerebral cortex)",
        assay="SNARE-seq",
        genome="mm10",
        source=(
            "GEO GSE126074 (Chen, Lake & Zhang, Nat. Biotechnol. 2019); matrices as shipped by "
            "scMoMaT, https://github.com/PeterZZQ/scMoMaT/tree/"
            "dbd954de4b1be415cdea543baf2856df0fda6992/data/real/MOp_5batches"
        ),
        modalities=("rna", "atac"),
        directions=("rna->atac", "atac->rna"),
        epochs=(50, 100),
        prepare=lambda m: m,
        split=snareseq_split,
        train_data=paired_training({"rna": _rna, "atac": _atac}),
        evaluate=evaluate_paired,
        notes=[
            "50 + 100 epochs: on this split the default preset reaches the same held-out "
            "figures as at the paper's 100 + 200 (docs/benchmarks.md).",
            "The SNARE-seq gene panel of scMoMaT has 1,677 genes; new RNA cells are matched "
            "by gene symbol.",
        ],
        full_size=(
            "The full GSE126074 cortex data (all genes): download the 10x-style matrices from "
            "GEO, build a MuData with `rna` and `atac` raw counts, and run "
            "`python scripts/build_zoo.py mouse-cortex-rna-atac --data full.h5mu --out DIR`."
        ),
    ),
    "human-pbmc-rna-protein": Recipe(
        name="human-pbmc-rna-protein",
        label_key="cluster_label",
        description=(
            "Human PBMC, RNA → 14 surface proteins (and back), trained on 80 % of the 10x "
            "PBMC 10k CITE-seq cells (scMDC's 1,000-gene version)."
        ),
        dataset="pbmc10k_cite",
        species="human",
        tissue="blood (PBMC)",
        assay="CITE-seq (10x Genomics, TotalSeq-B)",
        genome="GRCh38",
        source=(
            "10x Genomics dataset pbmc_10k_protein_v3 (https://www.10xgenomics.com/datasets), "
            "1,000-gene version of scMDC (https://github.com/xianglin226/scMDC)"
        ),
        modalities=("rna", "prot"),
        directions=("rna->prot", "prot->rna"),
        epochs=(100, 200),
        prepare=pbmc10k_with_symbols,
        split=lambda m: seeded_split(m.obs_names),
        train_data=paired_training({"rna": _rna, "prot": bf.pp.preprocess_adt}),
        evaluate=evaluate_paired,
        notes=[
            "302 of the 1,000 genes have no symbol in the source (scMDC names them gene0000…); "
            "they keep those names and are absent from new data, so new cells match at most "
            "698 genes (70 %, above the 50 % a translation needs).",
            "Split: np.random.RandomState(0).permutation of the 6,661 cells, 80 / 10 / 10.",
        ],
    ),
    "human-pbmc-ifnb-response": Recipe(
        name="human-pbmc-ifnb-response",
        label_key="cell_type",
        description=(
            "Human PBMC response to interferon-β: control → stimulated expression for all "
            "seven cell types, trained on optimal-transport pairs of 80 % of the Kang et al. "
            "cells."
        ),
        dataset="kang",
        species="human",
        tissue="blood (PBMC)",
        assay="10x Chromium scRNA-seq, control and IFN-β stimulated (Kang et al. 2018)",
        genome="hg19 gene symbols",
        source=(
            "GEO GSE96583 (Kang et al., Nat. Biotechnol. 2018); scGen's valid_pbmc.h5ad, "
            "https://github.com/theislab/scgen/blob/dd7e178f9b42b9dfef9eb18d0da4b8e3caea4cf7/"
            "data/valid.h5ad"
        ),
        modalities=("control", "stimulated"),
        directions=("control->stimulated", "stimulated->control"),
        epochs=(100, 200),
        prepare=kang_prepare,
        split=kang_split,
        train_data=kang_training,
        evaluate=kang_evaluate,
        notes=[
            "Input: log-normalised expression (as scGen's file; no raw counts exist for it), "
            f"{N_KANG_GENES:,} genes most variable in the training cells.",
            "Held-out figures: per test cell type, R² of the mean predicted vs measured "
            "stimulated expression (all genes and top-100 DEGs), averaged over the 7 types.",
        ],
    ),
    "human-bmmc-rna-atac": Recipe(
        name="human-bmmc-rna-atac",
        label_key="cell_type",
        description=(
            "Human bone marrow, RNA ↔ chromatin accessibility, trained on the NeurIPS 2021 "
            "Multiome starter subset: only 400 training cells, 600 genes and 600 peaks — a "
            "small demonstration model, not a production translator."
        ),
        dataset="bmmc_multiome",
        species="human",
        tissue="bone marrow (BMMC)",
        assay="10x Multiome (NeurIPS 2021 Open Problems)",
        genome="GRCh38",
        source=(
            "GEO GSE194122 (Luecken et al. 2021); Open Problems starter subset, "
            "https://github.com/openproblems-bio/neurips2021_multimodal_viash/tree/"
            "edaa879332ce91af98f9a6eac3b3606b6fd860b2/resources_test/common/"
            "openproblems_bmmc_multiome_starter"
        ),
        modalities=("rna", "atac"),
        directions=("rna->atac", "atac->rna"),
        epochs=(100, 200),
        prepare=lambda m: m,
        split=lambda m: seeded_split(m.obs_names),
        train_data=paired_training(
            {"rna": _rna, "atac": lambda a: bf.pp.preprocess_atac(a, min_cell_fraction=0.005)}
        ),
        evaluate=evaluate_paired,
        notes=["The starter subset holds 500 cells; the full data (GSE194122) has 69,249."],
        full_size=(
            "Full NeurIPS 2021 Multiome (69,249 cells, 13,431 genes, 116,490 peaks): expect "
            "about 4 h per 100 epochs on 2 CPU cores and 12 GB of memory, minutes on a GPU."
        ),
    ),
    "human-bmmc-rna-protein": Recipe(
        name="human-bmmc-rna-protein",
        label_key="cell_type",
        description=(
            "Human bone marrow, RNA ↔ 134 surface proteins, trained on the NeurIPS 2021 "
            "CITE-seq starter subset: only 480 training cells — a small demonstration model."
        ),
        dataset="bmmc_cite",
        species="human",
        tissue="bone marrow (BMMC)",
        assay="CITE-seq (NeurIPS 2021 Open Problems, TotalSeq-A)",
        genome="GRCh38",
        source=(
            "GEO GSE194122 (Luecken et al. 2021); Open Problems starter subset, "
            "https://github.com/openproblems-bio/neurips2021_multimodal_viash/tree/"
            "edaa879332ce91af98f9a6eac3b3606b6fd860b2/resources_test/common/"
            "openproblems_bmmc_cite_starter"
        ),
        modalities=("rna", "adt"),
        directions=("rna->adt", "adt->rna"),
        epochs=(100, 200),
        prepare=lambda m: m,
        split=lambda m: seeded_split(m.obs_names),
        train_data=paired_training({"rna": _rna, "adt": bf.pp.preprocess_adt}),
        evaluate=evaluate_paired,
        notes=["The starter subset holds 600 cells; the full data (GSE194122) has 90,261."],
        full_size=(
            "Full NeurIPS 2021 CITE-seq (90,261 cells, 13,953 genes, 134 proteins): expect "
            "about 3 h per 100 epochs on 2 CPU cores and 10 GB of memory."
        ),
    ),
}
