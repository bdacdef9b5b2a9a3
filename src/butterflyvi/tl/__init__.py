"""Pairing tools, which build the training pairs of a translation model, and baselines.

- :func:`augment` — scButterfly-T: re-pair cells within cell types (or clusters);
- :func:`cluster_for_augmentation` — scButterfly-C: clusters of a MULTIVI/TOTALVI embedding,
  to augment without labels;
- :func:`pair_unpaired` — pseudo-pairs of unpaired data sharing cell types;
- :func:`pair_by_anchors` — pseudo-pairs of unpaired data from Seurat-style anchors (no labels);
- :func:`pair_by_ot` — control/stimulated pairs by optimal transport (perturbation).
- :func:`knn_translate`, :func:`ridge_translate` — the simple predictors that won the
  NeurIPS 2021 modality-prediction competition (kNN and kernel ridge in SVD space), with the
  inputs and outputs of ``model.translate``, to check any translation against;
- :func:`ensemble_translate` — a model blended with those predictors, weighted on
  validation cells by the OpenProblems ``predict_modality`` score;
- :func:`annotate_by_translation` — label cells of one modality from a labelled reference
  of the other, through the model's translation.

Each pairing tool returns a new MuData (or, for :func:`cluster_for_augmentation`, writes one obs column)
and never modifies its inputs otherwise.
"""

from ._anchors import pair_by_anchors
from ._annotate import annotate_by_translation
from ._augment import augment
from ._baselines import knn_translate, ridge_translate
from ._cluster import cluster_for_augmentation
from ._ensemble import ensemble_translate
from ._ot import pair_by_ot
from ._unpaired import pair_unpaired

__all__ = [
    "annotate_by_translation",
    "augment",
    "cluster_for_augmentation",
    "ensemble_translate",
    "knn_translate",
    "pair_by_anchors",
    "pair_by_ot",
    "pair_unpaired",
    "ridge_translate",
]
