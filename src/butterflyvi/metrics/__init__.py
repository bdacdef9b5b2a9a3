"""Evaluation of cross-modality translation, with a trivial baseline.

Every metric returns a plain ``dict`` of Python floats and ints, accepts AnnData, numpy
arrays or scipy sparse matrices (sparse and dense inputs give the same numbers), aligns
AnnData inputs by name, and never modifies its inputs.

- :func:`clustering`: PCA → kNN → Leiden against cell types (ARI, AMI, NMI, homogeneity).
- :func:`accessibility`: AUROC and AUPR of predicted vs binarised measured ATAC.
- :func:`expression`: Pearson and Spearman per cell and per feature, RMSE (RNA, ADT).
- :func:`correlation_distance`: how well the features' correlation structure is kept (CMD).
- :func:`perturbation`: top-DEG overlap and R² of mean expression, with bootstrap.
- :func:`annotation`: accuracy, Cohen's kappa, F1-macro, F1-weighted;
  :func:`transfer_labels`: kNN label transfer from a reference.
- :func:`baseline_mean`: every cell predicted as the training mean.
- :func:`coverage`, :func:`calibration_error`, :func:`reliability_curve`: interval coverage
  and width; calibration of predicted probabilities.
- :func:`predict_modality`, :func:`scaled_scores`: the OpenProblems ``predict_modality``
  task's metrics and its score scaled between control methods.
"""

from ._accessibility import accessibility
from ._annotation import annotation, transfer_labels
from ._baseline import baseline_mean
from ._clustering import clustering
from ._correlation_distance import correlation_distance
from ._expression import expression
from ._harness import predict_modality, scaled_scores
from ._perturbation import perturbation
from ._trust import calibration_error, coverage, reliability_curve

__all__ = [
    "accessibility",
    "annotation",
    "baseline_mean",
    "calibration_error",
    "clustering",
    "correlation_distance",
    "coverage",
    "expression",
    "perturbation",
    "predict_modality",
    "reliability_curve",
    "scaled_scores",
    "transfer_labels",
]
