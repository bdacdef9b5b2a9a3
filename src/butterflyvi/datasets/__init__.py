"""Datasets: public data with download and checksums, the bundled demo, a synthetic generator.

- :func:`available` — every public dataset the docs, tutorials and benchmarks use;
- loaders :func:`snareseq`, :func:`bmmc_multiome`, :func:`bmmc_cite`, :func:`pbmc10k_cite`,
  :func:`pbmc_multiome`, :func:`kang` (a local copy, else a checked download) and the
  benchmarks' SNARE-seq split :func:`snareseq_split`;
- :func:`snareseq_demo` — 2,000 SNARE-seq cells shipped with the package;
- :func:`synthetic_paired` — simulated paired RNA + ATAC for tests;
- :func:`recalled_peaks` — the counts of ATAC cells on another pipeline's peak calls.
"""

from ._demo import snareseq_demo
from ._download import cache_dir
from ._locate import shared_data_dir
from ._public import (
    available,
    bmmc_cite,
    bmmc_multiome,
    kang,
    pbmc10k_cite,
    pbmc_multiome,
    snareseq,
    snareseq_split,
)
from ._recalled import recalled_peaks
from ._shared import list_shared, load_shared
from ._synthetic import synthetic_paired

__all__ = [
    "available",
    "bmmc_cite",
    "bmmc_multiome",
    "cache_dir",
    "kang",
    "list_shared",
    "load_shared",
    "pbmc10k_cite",
    "pbmc_multiome",
    "recalled_peaks",
    "shared_data_dir",
    "snareseq",
    "snareseq_demo",
    "snareseq_split",
    "synthetic_paired",
]
