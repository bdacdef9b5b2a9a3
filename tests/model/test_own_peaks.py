"""ATAC called with other peaks goes through a catalogue model: re-called peaks (shifted,
split, merged, partly missing) translate as well as the model's own, within 0.02."""

from __future__ import annotations

import pytest
from anndata import AnnData

import butterflyvi as bf


@pytest.fixture(scope="module")
def cells_and_model():
    demo = bf.datasets.snareseq_demo()
    return demo[demo.obs_names[:400]].copy(), bf.zoo.load(
        "mouse-cortex-rna-atac", accelerator="cpu"
    )


def test_recalled_peaks_translate_as_the_models_own(cells_and_model):
    cells, model = cells_and_model
    space = model.feature_spaces[model.modalities_.index("rna")]
    truth = AnnData(space.to_model_space(cells["rna"]), obs=cells["rna"].obs[[]], var=space.var())
    own = bf.metrics.expression(model.translate(cells["atac"], source="atac"), truth)
    recalled = bf.datasets.recalled_peaks(cells["atac"], seed=0)
    assert not recalled.var_names.isin(cells["atac"].var_names).any()  # no name matches
    prediction = model.translate(recalled, source="atac")
    report = prediction.uns["feature_match"]
    assert report["method"] == "overlap" and 0.9 < report["fraction"] < 1.0  # 5 % dropped
    other = bf.metrics.expression(prediction, truth)
    for metric in ("pearson_per_feature_mean", "pearson_per_cell_mean"):
        assert abs(other[metric] - own[metric]) <= 0.02


def test_peaks_without_coordinates_or_overlap_are_refused(cells_and_model):
    cells, model = cells_and_model
    unnamed = cells["atac"].copy()
    unnamed.var_names = [f"peak{i}" for i in range(unnamed.n_vars)]
    unnamed.var = unnamed.var[[]]
    with pytest.raises(ValueError, match=r"expected at least 50% of the model's atac features"):
        model.translate(unnamed, source="atac")
