"""Bad arguments to ``ButterflyModel.train`` get a clear error naming the argument, what was
expected and what was found.
"""

from __future__ import annotations

import numpy as np
import pytest

import butterflyvi as bf
from _tiny import fit, preprocess
from butterflyvi.model import ButterflyModel

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_train_refuses_bad_arguments(mdata):
    ButterflyModel.setup_mudata(mdata)
    model = ButterflyModel(mdata)
    with pytest.raises(ValueError, match=r"batch_size: expected an integer of at least 2"):
        model.train(max_epochs_pretrain=1, max_epochs=1, batch_size=1)
    with pytest.raises(ValueError, match=r"batch_size: expected an integer of at least 2"):
        model.train(max_epochs_pretrain=1, max_epochs=1, batch_size=2.5)
    with pytest.raises(ValueError, match=r"max_epochs_pretrain: expected a non-negative integer"):
        model.train(max_epochs_pretrain=-1, max_epochs=1)
    with pytest.raises(ValueError, match=r"positive sum"):
        model.train(max_epochs_pretrain=0, max_epochs=0)


def test_train_refuses_a_single_training_cell(raw):
    tiny = preprocess(raw[:2].copy())
    ButterflyModel.setup_mudata(tiny)
    model = ButterflyModel(tiny)
    with pytest.raises(ValueError, match=r"at least 2 training cells, found 1"):
        fit(model, train_size=0.5)


def test_train_handles_a_last_batch_of_one_cell(raw):
    # 33 training cells with batch_size 32: the last minibatch would hold one cell, which
    # BatchNorm refuses in training mode; train drops it instead of failing.
    small = preprocess(raw[:37].copy())
    ButterflyModel.setup_mudata(small)
    model = ButterflyModel(small)
    idx = [np.arange(33), np.arange(33, 37), np.array([], dtype=int)]
    fit(model, external_indexing=idx)
    assert model.is_trained_


def test_train_with_all_zero_cells(raw):
    # Cells with no counts preprocess to all-zero rows (warned), and train without NaN.
    data = raw[:40].copy()
    for mod in ("rna", "atac"):
        X = data[mod].X.tolil()
        X[:3] = 0
        data[mod].X = X.tocsr()
    with pytest.warns(UserWarning, match="3 of 40 cells have a total count of 0"):
        bf.pp.preprocess_rna(data["rna"], n_top_genes=1000)
    with pytest.warns(UserWarning, match="3 of 40 cells have no open peak"):
        bf.pp.preprocess_atac(data["atac"], min_cell_fraction=0.0)
    data.update()
    ButterflyModel.setup_mudata(data)
    model = ButterflyModel(data)
    fit(model)
    pred = model.translate(data, source="rna")
    assert np.isfinite(pred.X.data).all()
