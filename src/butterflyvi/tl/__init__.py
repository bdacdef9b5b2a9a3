"""Pairing tools: build the training pairs of a translation model.

- :func:`augment` — scButterfly-T: re-pair cells within cell types (or clusters);
- :func:`cluster_for_augmentation` — scButterfly-C: clusters of a MULTIVI/TOTALVI embedding,
  to augment without labels;
- :func:`pair_unpaired` — pseudo-pairs of unpaired data sharing cell types;
- :func:`pair_by_ot` — control/stimulated pairs by optimal transport (perturbation).

Each returns a new MuData (or, for :func:`cluster_for_augmentation`, writes one obs column)
and never modifies its inputs otherwise.
"""

from ._augment import augment
from ._cluster import cluster_for_augmentation
from ._ot import pair_by_ot
from ._unpaired import pair_unpaired

__all__ = ["augment", "cluster_for_augmentation", "pair_by_ot", "pair_unpaired"]
