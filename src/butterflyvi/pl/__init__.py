"""Plots (matplotlib, scanpy conventions: ``show``, ``save``, ``ax``; axes returned when not shown).

- :func:`training_history`: every logged loss term per epoch, both phases, boundary marked;
- :func:`translated_embedding`: measured and translated profiles side by side (UMAP);
- :func:`feature_accuracy`: per-peak AUROC vs accessibility rate, or per-gene Pearson vs mean;
- :func:`metric_table`: methods × metrics, e.g. the model beside the mean baseline;
- :func:`reliability`: the reliability diagram of predicted probabilities;
- :func:`reference_map`: query cells on a model's reference map.
"""

from ._accuracy import feature_accuracy
from ._embedding import translated_embedding
from ._history import training_history
from ._table import metric_table
from ._trust import reference_map, reliability

__all__ = [
    "feature_accuracy",
    "metric_table",
    "reference_map",
    "reliability",
    "training_history",
    "translated_embedding",
]
