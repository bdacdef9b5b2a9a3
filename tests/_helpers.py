"""Helpers shared by test folders: a tiny RNA + ATAC module and a minibatch for it, tiny
paired data, hypothesis settings and strategies, checks of loaded datasets.
"""

from __future__ import annotations

import mudata as md
import numpy as np
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from _synthetic import tiny_paired
from butterflyvi.model._parts import build_module
from butterflyvi.module import ButterflyModule

#: Features of the tiny module: 30 genes, 40 peaks on three chromosomes.
N_RNA, N_ATAC = 30, 40
GROUPS = [np.arange(0, 15), np.arange(15, 32), np.arange(32, 40)]


def tiny_module(**kwargs) -> ButterflyModule:
    """A small expression ↔ accessibility module (seeded), built as the model builds one."""
    torch.manual_seed(0)
    return build_module(
        (N_RNA, N_ATAC),
        ("expression", "accessibility"),
        layouts=(None, GROUPS),
        n_embedding=16,
        n_hidden=24,
        n_latent=8,
        chromosome_units=4,
        **kwargs,
    )


def tiny_batch(n: int = 12) -> dict[str, torch.Tensor]:
    """A minibatch for :func:`tiny_module`: sparse-looking expression and accessibility."""
    g = torch.Generator().manual_seed(1)
    rna = torch.rand(n, N_RNA, generator=g) * (torch.rand(n, N_RNA, generator=g) < 0.4)
    atac = torch.rand(n, N_ATAC, generator=g) * (torch.rand(n, N_ATAC, generator=g) < 0.1)
    return {"mod_0": rna, "mod_1": atac}


SNARESEQ_FILE = "snareseq_mouse_cortex_chen2019.h5mu"


def is_count_matrix(x) -> bool:
    return (
        isinstance(x, sp.csr_matrix)
        and x.data.min(initial=0) >= 0
        and np.array_equal(x.data, np.round(x.data))
    )


def same_cells(mdata) -> bool:
    names = [a.obs_names for a in mdata.mod.values()]
    return all(n.equals(names[0]) for n in names) and mdata.obs_names.equals(names[0])


FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


CHROMS = ["chr1", "chr2", "chr10", "chrX", "chrM", "3", "chrUn_GL000195v1", "GL000195.1"]


@st.composite
def counts(draw):
    n_cells = draw(st.integers(1, 7))
    n_features = draw(st.integers(1, 7))
    X = draw(arrays(np.int64, (n_cells, n_features), elements=st.integers(0, 5), fill=st.just(0)))
    return X.astype(np.float32)


def shuffled_groups(n_features: int = 50, seed: int = 0) -> list[np.ndarray]:
    """Three chromosomes whose peaks are interleaved (not contiguous) in the input."""
    perm = np.random.default_rng(seed).permutation(n_features)
    return [np.sort(perm[:10]), np.sort(perm[10:13]), np.sort(perm[13:])]


def tiny_mdata(n_cells: int = 120, seed: int = 0) -> md.MuData:
    return tiny_paired(n_cells, n_chromosomes=3, seed=seed)
