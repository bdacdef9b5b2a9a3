"""Named, seeded data sets for the ablation study (see ``benchmarks/ablation.py``).

Every data set is preprocessed as in the paper, on all its cells (as the original
scButterfly and ``shared/BASELINE.md`` do), and split into fixed train / validation / test
positions. The split never depends on the options being compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mudata as md
import numpy as np
import scipy.sparse as sp

import butterflyvi as bf

#: Data sets known to :func:`prepare`.
DATASETS = ("demo", "snare3k", "snareseq", "bmmc_multiome", "bmmc_cite")


@dataclass
class Prepared:
    """A preprocessed paired data set with its split.

    Attributes
    ----------
    name
        Data set name.
    mdata
        Preprocessed MuData (both modalities hold the same cells in the same order).
    modalities
        ``(x, y)`` modality names (x is modality 0).
    kinds
        Kind of each modality.
    split
        ``{"train", "validation", "test"}`` → integer positions.
    label_key
        obs column with cell types.
    eval_peaks
        For an accessibility modality: names of the peaks the metrics are computed on (the
        peaks kept by the paper's 0.5 % filter), so that a different peak filter is compared
        on the same peaks. ``None`` when there is no accessibility modality.
    """

    name: str
    mdata: md.MuData
    modalities: tuple[str, str]
    kinds: tuple[str, str]
    split: dict[str, np.ndarray]
    label_key: str = "cell_type"
    eval_peaks: list[str] | None = None
    info: dict = field(default_factory=dict)


def _permutation_split(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """80 / 10 / 10 split of ``n`` cells by ``np.random.RandomState(seed).permutation``."""
    order = np.random.RandomState(seed).permutation(n)
    n_train, n_val = int(0.8 * n), int(0.1 * n)
    return {
        "train": np.sort(order[:n_train]),
        "validation": np.sort(order[n_train : n_train + n_val]),
        "test": np.sort(order[n_train + n_val :]),
    }


def _subset(mdata: md.MuData, positions: np.ndarray) -> md.MuData:
    """A new MuData of the cells at ``positions`` (every modality, same order)."""
    mods = {name: mdata[name][positions].copy() for name in mdata.mod}
    out = md.MuData(mods)
    for column in mdata.obs.columns:
        if column not in out.obs:
            out.obs[column] = mdata.obs[column].to_numpy()[positions]
    return out


def _official_split(mdata: md.MuData) -> dict[str, np.ndarray]:
    names = mdata.obs_names
    return {
        part: np.sort(names.get_indexer(cells))
        for part, cells in bf.datasets.snareseq_split().items()
    }


def _snare3k(mdata: md.MuData, seed: int = 0) -> tuple[md.MuData, dict[str, np.ndarray]]:
    """3,000 cells of the official SNARE-seq split: 2,400 train, 300 validation, 300 test."""
    full = _official_split(mdata)
    rng = np.random.RandomState(seed)
    picked = {
        part: np.sort(rng.choice(full[part], size=size, replace=False))
        for part, size in (("train", 2400), ("validation", 300), ("test", 300))
    }
    positions = np.concatenate([picked["train"], picked["validation"], picked["test"]])
    sub = _subset(mdata, positions)
    split = {
        "train": np.arange(0, 2400),
        "validation": np.arange(2400, 2700),
        "test": np.arange(2700, 3000),
    }
    return sub, split


def _load_raw(name: str) -> tuple[md.MuData, dict[str, np.ndarray]]:
    if name == "demo":
        mdata = bf.datasets.snareseq_demo()
        return mdata, _permutation_split(mdata.n_obs)
    if name == "snareseq":
        mdata = bf.datasets.load_shared("snareseq")
        return mdata, _official_split(mdata)
    if name == "snare3k":
        return _snare3k(bf.datasets.load_shared("snareseq"))
    if name in ("bmmc_multiome", "bmmc_cite"):
        mdata = bf.datasets.load_shared(name)
        return mdata, _permutation_split(mdata.n_obs)
    raise ValueError(f"dataset: expected one of {DATASETS}, found {name!r}.")


def prepare(name: str, *, min_cell_fraction: float = 0.005, n_top_genes: int = 3000) -> Prepared:
    """Load, preprocess (paper pipeline) and split data set ``name``.

    Parameters
    ----------
    name
        One of :data:`DATASETS`.
    min_cell_fraction
        Peak filter of :func:`butterflyvi.pp.preprocess_atac`; the metrics are computed on the
        peaks kept by the paper's 0.5 % filter whatever this value.
    n_top_genes
        Highly variable genes kept.
    """
    mdata, split = _load_raw(name)
    second = "adt" if "adt" in mdata.mod else "atac"
    modalities = ("rna", second)
    bf.pp.preprocess_rna(mdata["rna"], n_top_genes=n_top_genes)
    eval_peaks = None
    if second == "atac":
        counts = sp.csr_matrix(mdata["atac"].X)
        n_open = np.bincount(counts.indices, minlength=counts.shape[1])
        threshold = max(1, int(np.ceil(round(0.005 * mdata.n_obs, 9))))
        eval_peaks = mdata["atac"].var_names[n_open >= threshold].astype(str).tolist()
        bf.pp.preprocess_atac(mdata["atac"], min_cell_fraction=min_cell_fraction)
        kinds = ("expression", "accessibility")
    else:
        bf.pp.preprocess_adt(mdata["adt"])
        kinds = ("expression", "protein")
    mdata.update()
    label_key = "cell_type"
    for mod in modalities:  # make the labels available in every modality's obs
        if label_key not in mdata[mod].obs:
            mdata[mod].obs[label_key] = mdata.obs[label_key].to_numpy()
    info = {
        "n_cells": int(mdata.n_obs),
        "n_features": {m: int(mdata[m].n_vars) for m in modalities},
        "n_split": {k: len(v) for k, v in split.items()},
    }
    return Prepared(name, mdata, modalities, kinds, split, label_key, eval_peaks, info)
