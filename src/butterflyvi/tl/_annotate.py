"""Annotating cells measured in one modality through their translation into another."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from mudata import MuData

from .._validation import check_positive_int, missing, wrong_type


def annotate_by_translation(
    query: AnnData | MuData,
    *,
    model,
    reference: AnnData | MuData,
    source: str,
    label_key: str = "cell_type",
    n_neighbors: int = 15,
    n_pcs: int = 50,
    missing_features: Literal["auto", "error", "zero"] = "auto",
    key_added: str | None = None,
    seed: int = 0,
) -> pd.Series:
    """Label query cells measured in ``source`` from a reference measured in the other
    modality: translate the query, then vote among its nearest reference cells.

    The scButterfly application "annotate scATAC by translation": ATAC-only cells are
    translated to RNA with ``model``, the labelled reference RNA is brought into the model's
    RNA feature space (raw counts are preprocessed with the model's stored state), and each
    query cell takes the majority label of its ``n_neighbors`` nearest reference cells in a
    PCA of the reference (:func:`butterflyvi.metrics.transfer_labels`).

    Parameters
    ----------
    query
        Cells to label: a MuData with modality ``source`` or an AnnData of it.
    model
        A trained :class:`~butterflyvi.ButterflyModel` (e.g. from ``bf.zoo.load``) with
        ``source`` among its modalities.
    reference
        Labelled cells of the other modality: an AnnData, or a MuData holding it; labels in
        ``obs[label_key]``.
    source
        The query's modality.
    label_key
        Column of the reference's ``obs`` with the labels.
    n_neighbors, n_pcs, seed
        Neighbours voting, PCA components and the PCA's random state.
    missing_features
        As ``missing`` of ``model.translate``, for the query and the reference.
    key_added
        ``obs`` column written to ``query`` (and to its ``source`` modality for a MuData);
        default ``"{label_key}_from_translation"``.

    Returns
    -------
    The labels, indexed by the query's cells (also written to ``query.obs[key_added]``).
    """
    from ..metrics import transfer_labels

    n_neighbors = check_positive_int(n_neighbors, name="n_neighbors")
    modalities = list(getattr(model, "modalities_", []))
    if source not in modalities:
        raise missing("source", f"one of the model's modalities {modalities}", repr(source))
    target = modalities[1 - modalities.index(source)]
    target_space = model.feature_spaces[1 - modalities.index(source)]
    if isinstance(reference, MuData):
        if target not in reference.mod:
            raise missing(
                "reference",
                f"a MuData with modality {target!r}",
                f"modalities {list(reference.mod)}",
            )
        labels_obs = reference.obs if label_key in reference.obs else reference.mod[target].obs
        reference = reference.mod[target]
    elif isinstance(reference, AnnData):
        labels_obs = reference.obs
    else:
        raise wrong_type("reference", "an AnnData or MuData of labelled cells", reference)
    if label_key not in labels_obs:
        raise missing(
            "label_key", f"a column of the reference's obs {list(labels_obs)}", repr(label_key)
        )
    translated = model.translate(query, source=source, missing=missing_features)
    matrix = target_space.to_model_space(reference, missing_features=missing_features)
    labelled = AnnData(
        X=matrix,
        obs=pd.DataFrame(
            {label_key: labels_obs[label_key].reindex(reference.obs_names).to_numpy()},
            index=reference.obs_names,
        ),
        var=target_space.var()[[]],
    )
    labels = transfer_labels(
        translated, labelled, label_key=label_key, n_neighbors=n_neighbors, n_pcs=n_pcs, seed=seed
    )
    key = key_added or f"{label_key}_from_translation"
    result = pd.Series(np.asarray(labels, dtype=object), index=translated.obs_names, name=key)
    values = pd.Categorical(result.to_numpy())
    query.obs[key] = values
    if isinstance(query, MuData):
        query.mod[source].obs[key] = values
    return result
