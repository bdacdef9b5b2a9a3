"""The kinds registry: one ``infer_kind`` for every part of the package."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from butterflyvi.kinds import available_kinds, get_kind, infer_kind


def _adata(**var) -> ad.AnnData:
    n = len(next(iter(var.values()))) if var else 3
    frame = pd.DataFrame(var, index=[f"f{i}" for i in range(n)])
    return ad.AnnData(np.zeros((2, n), dtype=np.float32), var=frame)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("rna", "expression"),
        ("GEX", "expression"),
        ("atac", "accessibility"),
        ("chromatin", "accessibility"),
        ("accessibility", "accessibility"),
        ("adt", "protein"),
        ("prot", "protein"),
        ("control", None),
    ],
)
def test_kind_from_the_modality_name(name, kind):
    assert infer_kind(_adata(), name) == kind


@pytest.mark.parametrize(
    ("types", "kind"),
    [
        (["Gene Expression"] * 3, "expression"),
        (["gex"] * 3, "expression"),
        (["Peaks"] * 3, "accessibility"),
        (["Antibody Capture", "adt", "ADT"], "protein"),
        (["Gene Expression", "Peaks", "Peaks"], None),  # mixed: not one kind
    ],
)
def test_kind_from_10x_feature_types(types, kind):
    assert infer_kind(_adata(feature_types=types), "x") == kind


def test_order_state_then_recorded_kind_then_feature_types_then_name():
    adata = _adata(feature_types=["Peaks"] * 3)
    adata.uns["butterflyvi_kind"] = "protein"
    assert infer_kind(adata, "rna") == "protein"
    adata.uns["butterflyvi_preprocessing"] = {"kind": "expression"}
    assert infer_kind(adata, "atac") == "expression"


def test_every_builtin_kind_declares_what_the_package_needs():
    assert set(available_kinds()) >= {"expression", "accessibility", "protein"}
    for name in ("expression", "accessibility", "protein"):
        kind = get_kind(name)
        assert kind.default_likelihood in kind.likelihoods
        assert 0 <= kind.mask_rate < 1 and kind.kl_weight(100) > 0
        assert callable(kind.preprocess) and callable(kind.apply) and kind.metric is not None
    assert sorted(get_kind("expression").likelihoods) == ["mse", "nb", "nb_crossmp", "zinb"]
    assert sorted(get_kind("accessibility").likelihoods) == ["bce_tfidf", "bernoulli"]
    assert sorted(get_kind("protein").likelihoods) == ["mse", "nb"]


def test_unknown_kind_is_refused_with_the_known_ones():
    with pytest.raises(
        ValueError, match=r"kinds: expected one of \(.*'expression'.*\), found 'methyl'"
    ):
        get_kind("methyl")
