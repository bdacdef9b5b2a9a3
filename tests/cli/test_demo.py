"""`butterflyvi demo` end to end with a tiny schedule on a subset of the bundled cells."""

from __future__ import annotations

import json
import math

import mudata as md
import numpy as np

from butterflyvi.cli import EXIT_OK, EXIT_USAGE, main
from butterflyvi.cli._demo_steps import split_positions
from butterflyvi.model import ButterflyModel


def test_split_is_seeded_and_complete():
    train, val, test = split_positions(2000, seed=0)
    assert (len(train), len(val), len(test)) == (1600, 200, 200)
    assert np.array_equal(np.sort(np.concatenate([train, val, test])), np.arange(2000))
    again = split_positions(2000, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(again, (train, val, test), strict=True))
    assert not np.array_equal(split_positions(2000, seed=1)[2], test)


def test_demo_writes_outputs_and_finite_metrics(tmp_path, capsys):
    out = tmp_path / "demo"
    args = [
        "demo",
        "--out",
        str(out),
        "--n-cells",
        "300",
        "--epochs-pretrain",
        "1",
        "--epochs",
        "1",
    ]
    assert main([*args, "--no-progress"]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "The paper trains 100 + 200" in printed
    assert "RNA→ATAC AUROC (all entries)" in printed and "s/epoch" in printed
    assert printed.strip().splitlines()[-1].startswith("demo done in")

    assert (out / "demo.h5mu").is_file() and (out / "metrics.json").is_file()
    assert (out / "model" / "model.pt").is_file() and (out / "model" / "mdata.h5mu").is_file()

    report = json.loads((out / "metrics.json").read_text())
    assert report["n_cells"] == {"train": 240, "validation": 30, "test": 30}
    for values in report["headline"].values():
        assert math.isfinite(values["model"])
    for direction in ("rna_to_atac", "atac_to_rna"):
        for key, value in report["model"][direction].items():
            assert value is None or math.isfinite(value), key
    assert report["baseline"]["rna_to_atac"]["auroc_per_peak_mean"] == 0.5
    assert report["timing"]["pretraining"]["epochs"] == 1
    assert report["timing"]["integrative"]["epochs"] == 1
    assert report["timing"]["integrative"]["seconds_per_epoch"] > 0

    mdata = md.read_h5mu(out / "demo.h5mu")
    assert {"rna", "atac", "atac_from_rna", "rna_from_atac"} <= set(mdata.mod)
    assert set(mdata.obs["split"].astype(str)) == {"train", "validation", "test"}
    model = ButterflyModel.load(str(out / "model"))
    assert model.modalities_ == ["rna", "atac"]


def test_demo_refuses_bad_epochs(tmp_path, capsys):
    assert (
        main(["demo", "--out", str(tmp_path), "--epochs-pretrain", "0", "--epochs", "0"])
        == EXIT_USAGE
    )
    assert "--epochs" in capsys.readouterr().err
    assert main(["demo", "--out", str(tmp_path), "--epochs", "-1"]) == EXIT_USAGE
    assert main(["demo", "--out", str(tmp_path), "--n-cells", "10"]) == EXIT_USAGE
    assert main(["demo", "--out", str(tmp_path), "--threads", "0"]) == EXIT_USAGE
    assert "--threads" in capsys.readouterr().err
