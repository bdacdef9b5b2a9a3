"""Preprocessing: fit on training cells, store the state, re-apply to new cells, invert;
CrossMP's filters, z-scoring and gene activity.

Each ``preprocess_*`` function works in place (``copy=True`` returns a new AnnData), keeps
the raw counts in ``layers["counts"]``, writes the transformed values to ``X`` (CSR, float32)
and stores its fitted state in ``adata.uns["butterflyvi_preprocessing"]`` (a plain dict with
``"kind"``), per-feature fitted values in ``var``. :func:`apply_preprocessing` re-applies a
state to new cells; :func:`recover_atac_counts` inverts the accessibility transform.

:func:`get_state` reads a fitted state back; input validators shared with the rest of the
package live in ``butterflyvi._validation`` (``check_matrix``, ``stored_values``, ...).
"""

from ._adt import preprocess_adt
from ._atac import preprocess_atac
from ._crossmp import preprocess_crossmp
from ._fragments import count_fragments
from ._gene_activity import gene_activity, read_gene_annotation
from ._inverse import binarize_recovered, estimate_totals, inverse_tfidf, recover_atac_counts
from ._map_peaks import map_peaks
from ._peak_filters import (
    filter_peaks,
    keep_autosomes,
    merge_overlapping_peaks,
    remove_sex_chromosomes,
)
from ._peaks import annotate_peaks, chromosome_groups, chromosome_order, parse_peak_names
from ._rna import preprocess_rna
from ._states import STATE_KEYS
from ._transform import apply_fitted, apply_preprocessing, get_state
from ._velocity import velocity_genes

__all__ = [
    "STATE_KEYS",
    "annotate_peaks",
    "apply_fitted",
    "apply_preprocessing",
    "binarize_recovered",
    "chromosome_groups",
    "chromosome_order",
    "count_fragments",
    "estimate_totals",
    "filter_peaks",
    "gene_activity",
    "get_state",
    "inverse_tfidf",
    "keep_autosomes",
    "map_peaks",
    "merge_overlapping_peaks",
    "parse_peak_names",
    "preprocess_adt",
    "preprocess_atac",
    "preprocess_crossmp",
    "preprocess_rna",
    "read_gene_annotation",
    "recover_atac_counts",
    "remove_sex_chromosomes",
    "velocity_genes",
]
