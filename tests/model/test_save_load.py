"""``ButterflyModel.load`` reads ``model.pt`` with torch's weights-only unpickler.

A save/load round trip gives the same model; a truncated, corrupted or tampered file raises a
clear ``ValueError`` (never a traceback from inside torch), and a pickled object with a
malicious ``__reduce__`` is refused before it can run.
"""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import mudata as md
import numpy as np
import pandas as pd
import pytest
import torch

from _synthetic import dense, tiny_paired
from _tiny import QUIET
from butterflyvi.model import ButterflyModel
from butterflyvi.model._save_load import history_from_plain, history_to_plain, read_model_file

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Payload:
    """Unpickling it would create the file ``target`` (a stand-in for arbitrary code)."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny trained model, saved with its MuData."""
    mdata = tiny_paired(50, n_genes=20, n_peaks=60, n_cell_types=2, peak_density=0.2)
    ButterflyModel.setup_mudata(mdata)
    model = ButterflyModel(mdata)
    model.train(
        max_epochs_pretrain=1,
        max_epochs=1,
        batch_size=16,
        **QUIET,
    )
    path = tmp_path_factory.mktemp("saved") / "model"
    model.save(path, save_anndata=True)
    return model, mdata, path


def copy_of(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(path, target)
    return target


def test_saved_file_needs_no_unsafe_globals(saved):
    _, _, path = saved
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path / "model.pt")
    # numpy arrays (var names, registry, split indices) are allowed explicitly; nothing else
    assert set(unsafe) <= {
        "numpy.ndarray",
        "numpy.dtype",
        "numpy._core.multiarray._reconstruct",
        "numpy.dtypes.ObjectDType",
        "numpy.dtypes.Int64DType",
        "builtins.bytes",
    }, unsafe


def test_round_trip(saved):
    model, mdata, path = saved
    expected = dense(model.translate(mdata, source="rna").X)
    for data in (None, mdata):  # the saved MuData, or the caller's
        loaded = ButterflyModel.load(path, adata=data, accelerator="cpu")
        got = dense(loaded.translate(mdata, source="rna").X)
        np.testing.assert_array_equal(got, expected)
        assert loaded.modalities_ == model.modalities_ and loaded.kinds_ == model.kinds_
        assert loaded.preprocessing_ == model.preprocessing_
        assert set(loaded.history) == set(model.history)
        for key, frame in model.history.items():
            pd.testing.assert_frame_equal(
                loaded.history[key], frame.astype(np.float64), check_names=True
            )


def test_history_plain_round_trip():
    history = {
        "train_loss": pd.DataFrame(
            {"train_loss": [1.0, 0.5]}, index=pd.Index([0, 1], name="epoch")
        ),
        "lr": pd.DataFrame({"lr": [0.1]}, index=pd.Index([3], name="epoch")),
    }
    plain = history_to_plain(history)
    back = history_from_plain(plain)
    for key, frame in history.items():
        pd.testing.assert_frame_equal(back[key], frame)
    assert history_to_plain(None) is None and history_from_plain({"a": 1}) == {"a": 1}


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"dir_path: no saved model at .*model\.pt"):
        ButterflyModel.load(tmp_path)


def test_truncated_file(saved, tmp_path):
    _, mdata, path = saved
    target = copy_of(path, tmp_path)
    data = (target / "model.pt").read_bytes()
    (target / "model.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(
        ValueError,
        match=r"model\.pt in .*copy is not a valid butterflyvi model: the file cannot be read "
        r"\(RuntimeError: PytorchStreamReader failed reading zip archive: failed finding central "
        r"directory\); it may be truncated, corrupted, or not written by ButterflyModel\.save\.$",
    ) as info:
        ButterflyModel.load(target, adata=mdata)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_garbage_file(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"not a model at all")
    with pytest.raises(
        ValueError, match=r"cannot be read \(UnpicklingError: .*\); it may be truncated, corrupted"
    ):
        ButterflyModel.load(tmp_path)


@pytest.mark.parametrize("how", ["torch.save", "pickle.dump"])
def test_malicious_pickle_is_refused_and_never_runs(saved, tmp_path, how):
    _, mdata, path = saved
    target = copy_of(path, tmp_path)
    flag = tmp_path / "pwned"
    contents = torch.load(path / "model.pt", weights_only=False)  # our own, trusted file
    contents["attr_dict"]["preset_"] = Payload(flag)
    if how == "torch.save":
        torch.save(contents, target / "model.pt")
    else:
        with open(target / "model.pt", "wb") as handle:
            pickle.dump(contents, handle)
    message = {
        # a torch file: the offending global is named
        "torch.save": r"it holds Python objects outside the plain types a model needs "
        r"\(builtins\.getattr, pathlib\.Path(, pathlib\.\w+Path)?\), which could run code when "
        r"unpickled; it was refused",
        # a bare pickle is not even a torch file
        "pickle.dump": r"the file cannot be read \(UnpicklingError: Unsupported operand",
    }[how]
    with pytest.raises(ValueError, match=r"not a valid butterflyvi model: " + message):
        ButterflyModel.load(target, adata=mdata)
    assert not flag.exists()
    # the same file would have run the payload with unrestricted unpickling
    if how == "torch.save":
        torch.load(target / "model.pt", weights_only=False)  # scvi-tools' own loading
    else:
        pickle.loads((target / "model.pt").read_bytes())
    assert flag.exists()


def test_wrong_structure(saved, tmp_path):
    _, mdata, path = saved
    contents = read_model_file(path)
    cases = {
        "tensor": (torch.zeros(3), r"expected a dict with the keys"),
        "other model": (
            {
                **contents,
                "attr_dict": {
                    **contents["attr_dict"],
                    "registry_": {**contents["attr_dict"]["registry_"], "model_name": "SCVI"},
                },
            },
            r"saved by the model class 'SCVI', expected one of \['ButterflyModel'\]",
        ),
        "nan weights": (
            {
                **contents,
                "model_state_dict": {
                    k: (v * np.nan if v.is_floating_point() else v)
                    if isinstance(v, torch.Tensor)
                    else v
                    for k, v in contents["model_state_dict"].items()
                },
            },
            r"the weights '.*' hold NaN or infinite values",
        ),
        "missing attributes": (
            {**contents, "attr_dict": {"registry_": contents["attr_dict"]["registry_"]}},
            r"its attr_dict lacks \['init_params_'",
        ),
    }
    for name, (bad, message) in cases.items():
        target = tmp_path / name.replace(" ", "_")
        os.makedirs(target)
        torch.save(bad, target / "model.pt")
        with pytest.raises(ValueError, match=message):
            ButterflyModel.load(target, adata=mdata)


def test_weights_that_do_not_fit_the_settings(saved, tmp_path):
    _, mdata, path = saved
    contents = read_model_file(path)
    state = dict(contents["model_state_dict"])
    key = next(k for k, v in state.items() if v.ndim == 2)
    state[key] = torch.zeros(3, 3)
    target = tmp_path / "shapes"
    os.makedirs(target)
    torch.save({**contents, "model_state_dict": state}, target / "model.pt")
    with pytest.raises(ValueError, match=r"its weights do not fit the model its settings describe"):
        ButterflyModel.load(target, adata=mdata)


def test_other_mudata_must_match_saved_features(saved, tmp_path):
    _, mdata, path = saved
    fewer = md.MuData({"rna": mdata["rna"][:, 1:].copy(), "atac": mdata["atac"].copy()})
    with pytest.raises(
        ValueError, match=r"adata: expected modality 'rna' with the 20 features .*found 19 features"
    ):
        ButterflyModel.load(path, adata=fewer)
