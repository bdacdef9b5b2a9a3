"""Bad input to ``butterflyvi.tl`` gets a clear error naming the argument, what was expected
and what was found.
"""

from __future__ import annotations

import numpy as np
import pytest

import butterflyvi as bf
from _tiny import mudata_of

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_tl_labels_with_nan_and_a_single_class(mdata):
    labels = mdata["rna"].obs["cell_type"].astype(object).copy()
    labels.iloc[:5] = np.nan
    mdata.obs["label"] = labels.to_numpy()
    with pytest.warns(UserWarning, match=r"5 of 80 cells have no 'label' label \(NaN\)"):
        out = bf.tl.augment(mdata, groupby="label", rounds=1)
    assert out.n_obs == 80 + 75
    mdata.obs["one"] = "a"
    assert bf.tl.augment(mdata, groupby="one", rounds=1).n_obs == 160
    with pytest.raises(KeyError, match=r"groupby: expected an obs column .*found 'nope'"):
        bf.tl.augment(mdata, groupby="nope")
    with pytest.raises(KeyError, match=r"modalities: expected modalities of mdata .*found 'adt'"):
        bf.tl.augment(mdata, groupby="one", modalities=("rna", "adt"))
    shuffled = mudata_of(rna=mdata["rna"].copy(), atac=mdata["atac"][5:].copy())
    shuffled.obs["one"] = "a"
    with pytest.raises(
        ValueError, match=r"to hold the same cells.*found 5 cells of 'rna' not in 'atac'"
    ):
        bf.tl.augment(shuffled, groupby="one")


def test_tl_pair_unpaired_nan_labels_and_no_shared_type(raw):
    x, y = raw["rna"].copy(), raw["atac"].copy()
    y.obs_names = [f"y{i}" for i in range(y.n_obs)]
    x.obs["cell_type"] = x.obs["cell_type"].astype(object)
    x.obs.iloc[:4, x.obs.columns.get_loc("cell_type")] = np.nan
    out = bf.tl.pair_unpaired(x, y, groupby="cell_type")
    assert out.uns["butterflyvi_pairing"]["n_unlabelled"]["rna"] == 4
    y.obs["cell_type"] = "elsewhere"
    with pytest.raises(ValueError, match=r"expected shared 'cell_type' labels, found none"):
        bf.tl.pair_unpaired(x, y, groupby="cell_type")


def test_tl_cluster_refuses_non_count_data(mdata):
    with pytest.raises(
        ValueError, match=r"mdata\['rna'\] X: expected raw counts, found non-integer values"
    ):
        bf.tl.cluster_for_augmentation(mdata, layer=None, max_epochs=1)
