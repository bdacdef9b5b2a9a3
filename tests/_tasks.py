"""Small OpenProblems tasks in the harness's format, built from synthetic paired counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

import butterflyvi as bf


def synthetic_task(mod1: str, mod2: str, *, n_cells=240, n_peaks=600, n_proteins=49, seed=0):
    """Harness files of one direction from synthetic GEX / ATAC / ADT counts (two batches)."""
    data = bf.datasets.synthetic_paired(
        n_cells, n_genes=300, n_peaks=n_peaks, n_proteins=n_proteins, n_cell_types=4, seed=seed
    )
    obs = pd.DataFrame(
        {"batch": np.where(np.arange(n_cells) % 2 == 0, "b1", "b2")}, index=data.obs_names
    )
    mods = {"GEX": "rna", "ATAC": "atac", "ADT": "adt"}
    files = {}
    for harness, name in ((mod1, mods[mod1]), (mod2, mods[mod2])):
        files[harness] = bf.openproblems.harness_modality(
            data[name].X, obs, data[name].var_names, harness, "synthetic"
        )
    labels = data["rna"].obs["cell_type"].to_numpy()
    return bf.openproblems.process_dataset(files[mod1], files[mod2], cell_type=labels, seed=1)
