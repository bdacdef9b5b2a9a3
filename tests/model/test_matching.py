"""A user's own feature names reach the model: genome prefixes, Ensembl ids (with versions,
in ``var["gene_ids"]`` or as names), symbol case — and another species is refused."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import butterflyvi as bf
from _synthetic import dense
from butterflyvi.model import FeatureSpace

HUMAN = [f"{g}{i}" for i in range(10) for g in ("CD3E", "MS4A", "LYZ")]  # 30 upper-case symbols
IDS = [f"ENSG{i:011d}" for i in range(30)]


def space() -> FeatureSpace:
    return FeatureSpace("rna", "expression", list(HUMAN), columns={"gene_ids": list(IDS)})


def cells(names, **var) -> ad.AnnData:
    counts = sp.csr_matrix(np.arange(1, 31, dtype=np.float32)[None, :].repeat(2, axis=0))
    return ad.AnnData(counts, var=pd.DataFrame(var, index=names))


@pytest.mark.parametrize(
    ("names", "var", "rule"),
    [
        ([f"GRCh38_{g}" for g in HUMAN], {}, "genome_prefix"),
        ([f"hg19-{g}" for g in HUMAN], {}, "genome_prefix"),
        ([f"x{i}" for i in range(30)], {"gene_ids": [f"{i}.7" for i in IDS]}, "ensembl_id"),
        ([f"{i}.12" for i in IDS], {}, "ensembl_id"),
        ([g.lower() for g in HUMAN][:10] + HUMAN[10:], {}, "case"),
    ],
    ids=["cellranger-prefix", "dash-prefix", "gene_ids-versions", "ids-as-names", "case"],
)
def test_every_name_form_matches_every_gene(names, var, rule):
    match = space().match(cells(names, **var))
    report = match.report
    assert report["method"] == "name" and report["n_matched"] == 30 and report["fraction"] == 1
    assert report["renamed"][rule] > 0
    assert list(match.names_for(cells(names, **var))) == HUMAN  # every column renamed


def test_a_barnyard_file_keeps_the_models_species():
    names = [f"GRCh38_{g}" for g in HUMAN] + [f"mm10_{g.capitalize()}" for g in HUMAN]
    counts = sp.csr_matrix(np.ones((2, 60), dtype=np.float32))
    match = space().match(ad.AnnData(counts, var=pd.DataFrame(index=names)))
    assert match.report["n_matched"] == 30
    assert (match.positions < 30).all()  # the human half


def test_another_species_is_refused_never_zero_filled():
    mouse = [g.capitalize() for g in HUMAN]
    with pytest.raises(
        ValueError, match=r"data: expected human genes, as the model's, found mouse"
    ):
        space().match(cells(mouse))
    with pytest.raises(ValueError, match="found mouse genes"):
        space().match(cells([f"mm10_{g}" for g in HUMAN]))


def test_a_catalogue_model_translates_prefixed_and_id_named_cells_alike():
    model = bf.zoo.load("mouse-cortex-rna-atac", accelerator="cpu")
    rna = bf.datasets.snareseq_demo()["rna"][:60].copy()
    expected = dense(model.translate(rna, source="rna").X)
    prefixed = rna.copy()
    prefixed.var_names = [f"mm10_{g}" for g in rna.var_names]
    pred = model.translate(prefixed, source="rna")
    np.testing.assert_allclose(dense(pred.X), expected, rtol=1e-5, atol=1e-6)
    assert (
        pred.uns["feature_match"]["renamed"]["genome_prefix"] == model.feature_spaces[0].n_features
    )
    upper = rna.copy()
    upper.var_names = [g.upper() for g in rna.var_names]
    with pytest.raises(ValueError, match="expected mouse genes"):
        model.translate(upper, source="rna")
