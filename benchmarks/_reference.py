"""Published / measured reference figures quoted from ``shared/BASELINE.md``.

SNARE-seq test cells (1,032; split ``snareseq_split()``), 5,420 peaks and 1,677 genes: the
original scButterfly 0.0.9 (variant B, 50 / 50 / 100 epochs, seed 19193, 2 CPU cores) and
scvi-tools MULTIVI (1.4.2 defaults, 200 epochs); pbmc10k CITE: TOTALVI.
"""

from __future__ import annotations

#: (direction, metric key) -> value.
SNARESEQ_ORIGINAL: dict[tuple[str, str], float] = {
    ("rna_to_atac", "auroc"): 0.704,
    ("rna_to_atac", "aupr"): 0.032,
    ("rna_to_atac", "auroc_per_cell_mean"): 0.706,
    ("rna_to_atac", "auroc_per_peak_mean"): 0.603,
    ("atac_to_rna", "pearson_per_cell_mean"): 0.727,
    ("atac_to_rna", "pearson_per_feature_mean"): 0.116,
}
SNARESEQ_BASELINE_MD_MEAN: dict[tuple[str, str], float] = {
    ("rna_to_atac", "auroc"): 0.675,
    ("rna_to_atac", "aupr"): 0.033,
    ("rna_to_atac", "auroc_per_peak_mean"): 0.5,
    ("atac_to_rna", "pearson_per_cell_mean"): 0.703,
}
SNARESEQ_MULTIVI: dict[tuple[str, str], float] = {
    ("rna_to_atac", "auroc"): 0.712,
    ("rna_to_atac", "aupr"): 0.035,
    ("rna_to_atac", "auroc_per_peak_mean"): 0.612,
    ("atac_to_rna", "pearson_per_cell_mean"): 0.698,
    ("atac_to_rna", "pearson_per_feature_mean"): 0.089,
}
#: Clustering of test profiles: name -> (ARI, AMI, NMI, homogeneity).
SNARESEQ_ORIGINAL_CLUSTERING = {
    "translated_rna": (0.134, 0.293, 0.347, 0.376),
    "translated_atac": (0.299, 0.538, 0.573, 0.620),
    "measured_rna": (0.586, 0.632, 0.648, 0.596),
}
SNARESEQ_MULTIVI_CLUSTERING = {
    "translated_rna": (0.169, 0.321, None, None),
    "translated_atac": (0.332, 0.545, None, None),
}
#: Original speed on SNARE-seq (median s/epoch, training loop only; training cells/s).
SNARESEQ_ORIGINAL_SPEED = {
    "rna_pretraining": (3.6, 2284),
    "atac_pretraining": (6.9, 1196),
    "integrative": (15.6, 530),
}
SNARESEQ_ORIGINAL_WALL = {"train_minutes": 39, "peak_rss_gb": 1.93}
#: pbmc10k CITE RNA -> protein, TOTALVI: per-protein Pearson mean (default output), per-cell
#: Pearson range, training-mean baseline per cell.
PBMC10K_TOTALVI = {
    "pearson_per_feature_mean": 0.749,
    "pearson_per_feature_mean_background": 0.826,
    "pearson_per_cell_range": (0.858, 0.935),
    "baseline_pearson_per_cell_mean": 0.622,
}
