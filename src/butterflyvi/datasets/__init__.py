"""Datasets: the bundled SNARE-seq demo, loaders of the shared real data, a synthetic generator."""

from ._demo import snareseq_demo
from ._locate import shared_data_dir
from ._shared import list_shared, load_shared, snareseq_split
from ._synthetic import synthetic_paired

__all__ = [
    "list_shared",
    "load_shared",
    "shared_data_dir",
    "snareseq_demo",
    "snareseq_split",
    "synthetic_paired",
]
