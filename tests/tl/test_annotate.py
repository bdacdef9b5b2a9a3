"""annotate_by_translation on the bundled SNARE-seq cells with the catalogue's mouse-cortex
model: ATAC-only cells labelled from a labelled RNA reference.
"""

from __future__ import annotations

import numpy as np
import pytest
from anndata import AnnData

import butterflyvi as bf


@pytest.fixture(scope="module")
def halves():
    mdata = bf.datasets.snareseq_demo()
    order = np.random.default_rng(0).permutation(mdata.n_obs)
    reference = mdata[mdata.obs_names[order[:1200]]].copy()
    query = mdata[mdata.obs_names[order[1200:]]].copy()
    return reference, query


@pytest.fixture(scope="module")
def model():
    return bf.zoo.load("mouse-cortex-rna-atac")


def test_translated_atac_is_annotated_better_than_atac_alone(halves, model):
    reference, query = halves
    truth = query.obs["cell_type"].astype(str).to_numpy()
    atac = query.mod["atac"].copy()
    atac.obs = atac.obs[[]]  # the query carries no labels
    labels = bf.tl.annotate_by_translation(atac, model=model, reference=reference, source="atac")
    assert labels.index.equals(atac.obs_names)
    assert atac.obs["cell_type_from_translation"].tolist() == labels.tolist()
    translated = bf.metrics.annotation(truth, labels.to_numpy())
    # the alternative without a model: label transfer from the reference's own ATAC
    space = model.feature_spaces[model.modalities_.index("atac")]
    ref_atac = AnnData(space.to_model_space(reference["atac"]), obs=reference.obs[["cell_type"]])
    direct = bf.metrics.transfer_labels(
        AnnData(space.to_model_space(query["atac"])), ref_atac, label_key="cell_type"
    )
    from_atac = bf.metrics.annotation(truth, direct)
    assert translated["accuracy"] > from_atac["accuracy"] + 0.05
    assert translated["kappa"] > from_atac["kappa"]


def test_a_mudata_query_gets_the_labels_in_both_obs(halves, model):
    reference, query = halves
    query = query[:50].copy()
    bf.tl.annotate_by_translation(
        query, model=model, reference=reference["rna"], source="atac", key_added="predicted"
    )
    assert "predicted" in query.obs and "predicted" in query["atac"].obs


def test_bad_arguments_are_named(halves, model):
    reference, query = halves
    with pytest.raises(KeyError, match="source: expected one of the model's modalities"):
        bf.tl.annotate_by_translation(query, model=model, reference=reference, source="adt")
    with pytest.raises(KeyError, match="label_key"):
        bf.tl.annotate_by_translation(
            query, model=model, reference=reference, source="atac", label_key="celltype"
        )
    with pytest.raises(TypeError, match="reference: expected an AnnData or MuData"):
        bf.tl.annotate_by_translation(query, model=model, reference=None, source="atac")
