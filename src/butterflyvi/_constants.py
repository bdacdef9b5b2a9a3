"""Every key butterflyvi writes into ``uns``, ``obs``, ``var`` or the scvi-tools registry.

All keys carry the ``butterflyvi_`` prefix. Releases up to 0.1 wrote some of them with a
``butterfly_`` prefix; :data:`LEGACY_KEYS` maps each current key to its old name, and
:func:`read_key` reads either, so that objects written by those releases still work.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: ``adata.uns`` key under which each ``pp.preprocess_*`` function stores its fitted state.
PP_UNS_KEY = "butterflyvi_preprocessing"
#: ``adata.uns`` key naming the kind of a modality (written by the pairing tools, read by
#: ``setup_mudata`` when there is no fitted preprocessing to tell the kind).
KIND_UNS_KEY = "butterflyvi_kind"
#: ``MuData.uns`` key holding the record of how the training pairs were made.
PAIRING_UNS_KEY = "butterflyvi_pairing"
#: ``uns`` key of a translation: its source and target modalities.
TRANSLATION_UNS_KEY = "butterflyvi_translation"
#: ``uns`` key of the trivial baseline beside a metric table.
BASELINE_UNS_KEY = "butterflyvi_baseline"
#: ``uns`` key of the report of how a translation's input features were matched to the
#: model's (method, counts, fraction, renamings).
FEATURE_MATCH_KEY = "feature_match"

#: ``MuData.obs`` column telling where each training pair comes from.
ORIGIN_KEY = "butterflyvi_origin"
#: ``MuData.obs`` column with the augmentation round (0 for measured pairs).
ROUND_KEY = "butterflyvi_round"
#: ``MuData.obs`` column with the group (cell type or cluster) of an augmented pair.
GROUP_KEY = "butterflyvi_group"
#: ``MuData.obs`` column with each optimal-transport pair's distance.
OT_COST_KEY = "butterflyvi_ot_cost"
#: Default ``obs`` column of the clusters of ``tl.cluster_for_augmentation``.
CLUSTER_KEY = "butterflyvi_cluster"
#: Prefix of the ``MuData.obs`` columns naming the source cell of each modality in a pair.
SOURCE_CELL_PREFIX = "butterflyvi_source_cell_"

#: scvi-tools registry keys of the two registered modalities (model input) and of their raw
#: counts (registered when present, read by count likelihoods).
MODALITY_KEYS = ("mod_0", "mod_1")
COUNTS_KEYS = ("counts_0", "counts_1")
#: Registry keys of each modality's extra input (e.g. gene activity beside ATAC).
EXTRA_KEYS = ("extra_0", "extra_1")
#: Registry key of the batch codes (scvi-tools' ``REGISTRY_KEYS.BATCH_KEY``).
BATCH_KEY = "batch"

#: Current key -> the key releases up to 0.1 wrote.
LEGACY_KEYS: dict[str, str] = {
    PAIRING_UNS_KEY: "butterfly_pairing",
    ORIGIN_KEY: "butterfly_origin",
    ROUND_KEY: "butterfly_round",
    GROUP_KEY: "butterfly_group",
    OT_COST_KEY: "butterfly_ot_cost",
    CLUSTER_KEY: "butterfly_cluster",
    SOURCE_CELL_PREFIX: "source_cell_",
}


def read_key(mapping: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """``mapping[key]``, else the value under the key's legacy name, else ``default``."""
    if key in mapping:
        return mapping[key]
    legacy = LEGACY_KEYS.get(key)
    if legacy is not None and legacy in mapping:
        return mapping[legacy]
    return default
