"""Plots (matplotlib, scanpy conventions: ``show``, ``save``, ``ax``; axes returned when not shown).

- :func:`training_history`: every logged loss term per epoch, both phases, boundary marked;
- :func:`translated_embedding`: measured and translated profiles side by side (UMAP);
- :func:`feature_accuracy`: per-peak AUROC vs accessibility rate, or per-gene Pearson vs mean;
- :func:`metric_table`: methods × metrics, e.g. the model beside the mean baseline.
"""

from ._accuracy import feature_accuracy
from ._embedding import translated_embedding
from ._history import training_history
from ._table import metric_table

__all__ = ["feature_accuracy", "metric_table", "training_history", "translated_embedding"]
