"""The ``butterflyvi`` command line: subcommands, outputs, exit codes and error messages."""

from __future__ import annotations

import json
import subprocess
import sys

import anndata as ad
import mudata as md
import numpy as np
import pytest

import butterflyvi as bf
from _synthetic import dense
from butterflyvi.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main
from butterflyvi.model import ButterflyModel

N_CELLS = 160
TINY = ["--epochs-pretrain", "1", "--epochs", "1", "--batch-size", "32", "--no-progress"]


@pytest.fixture(scope="module")
def raw_file(tmp_path_factory):
    """Raw-count paired RNA + ATAC of a few demo cells, written as .h5mu."""
    mdata = bf.datasets.snareseq_demo()[:N_CELLS].copy()
    path = tmp_path_factory.mktemp("data") / "paired.h5mu"
    mdata.write(path)
    return path


@pytest.fixture(scope="module")
def model_dir(raw_file, tmp_path_factory):
    """A model trained through `butterflyvi train` (1 + 1 epochs)."""
    out = tmp_path_factory.mktemp("model") / "model"
    code = main(
        ["train", "--data", str(raw_file), "--modalities", "rna", "atac", "--out", str(out), *TINY]
    )
    assert code == EXIT_OK
    return out


def translate_argv(model_dir, data, source: str, out, *extra: str) -> list[str]:
    """``butterflyvi translate --model MODEL --source MOD IN OUT`` arguments."""
    return ["translate", "--model", str(model_dir), "--source", source, str(data), str(out), *extra]


def test_module_help_in_a_subprocess():
    result = subprocess.run(
        [sys.executable, "-m", "butterflyvi", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    for command in ("demo", "train", "translate", "evaluate"):
        assert command in result.stdout


HEAVY_MODULES = ("torch", "scvi", "scanpy", "lightning", "anndata", "mudata")

HELP_WITHOUT_HEAVY_IMPORTS = f"""
import contextlib, io, json, sys
from butterflyvi.cli._main import build_parser, main
build_parser()
codes = []
for argv in ([], ["--version"], ["demo"], ["train"], ["translate"], ["evaluate"]):
    with contextlib.redirect_stdout(io.StringIO()):
        codes.append(main([*argv, "--help"] if argv != ["--version"] else argv))
print(json.dumps({{"codes": codes, "loaded": [m for m in {HEAVY_MODULES!r} if m in sys.modules]}}))
"""


def test_help_does_not_import_heavy_modules():
    """`butterflyvi --help` and the subcommands' --help import neither torch, scvi nor scanpy."""
    result = subprocess.run(
        [sys.executable, "-c", HELP_WITHOUT_HEAVY_IMPORTS],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["codes"] == [EXIT_OK] * 6
    assert report["loaded"] == []


LAZY_IMPORT = """
import sys
import butterflyvi as bf
assert not [m for m in ("torch", "scvi", "scanpy") if m in sys.modules], "eager import"
assert bf.__all__ == ["ButterflyModel", "datasets", "hub", "kinds", "metrics", "openproblems", "pl", "pp", "tl", "zoo"]
assert isinstance(bf.__version__, str)
assert {"ButterflyModel", "pp", "tl", "metrics", "pl", "datasets", "hub"} <= set(dir(bf))
from butterflyvi import ButterflyModel
from butterflyvi.model import ButterflyModel as Direct
assert bf.ButterflyModel is ButterflyModel is Direct
assert callable(bf.pp.preprocess_rna) and bf.pp.preprocess_rna.__module__.startswith("butterflyvi.pp")
for name in ("tl.augment", "metrics.accessibility", "pl.metric_table", "datasets.snareseq_demo",
             "hub.to_hub_dir", "module.ButterflyModule", "train.ButterflyTrainingPlan",
             "kinds.get_kind"):
    package, attribute = name.split(".")
    assert callable(getattr(getattr(bf, package), attribute)), name
try:
    bf.not_an_attribute
except AttributeError:
    pass
else:
    raise AssertionError("bf.not_an_attribute resolved")
print("ok")
"""


def test_import_is_lazy_and_names_resolve():
    """`import butterflyvi` is cheap; `bf.ButterflyModel`, `bf.pp...` load on first access."""
    result = subprocess.run(
        [sys.executable, "-c", LAZY_IMPORT], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "ok"


def test_help_and_usage_errors_in_process(capsys):
    assert main(["--help"]) == EXIT_OK
    assert "translate" in capsys.readouterr().out
    assert main(["train", "--help"]) == EXIT_OK
    assert "--modalities" in capsys.readouterr().out
    assert main([]) == EXIT_USAGE
    assert main(["unknown-command"]) == EXIT_USAGE
    assert main(["train", "--data", "x.h5mu"]) == EXIT_USAGE  # missing required options
    assert "required" in capsys.readouterr().err


def test_train_refuses_a_missing_file(tmp_path, capsys):
    code = main(
        [
            "train",
            "--data",
            str(tmp_path / "nope.h5mu"),
            "--modalities",
            "rna",
            "atac",
            "--out",
            str(tmp_path / "m"),
        ]
    )
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--data: file not found" in err and "Traceback" not in err


def test_train_refuses_a_wrong_suffix(tmp_path, capsys):
    path = tmp_path / "data.h5ad"
    path.write_text("")
    code = main(
        ["train", "--data", str(path), "--modalities", "rna", "atac", "--out", str(tmp_path / "m")]
    )
    assert code == EXIT_USAGE
    assert ".h5mu" in capsys.readouterr().err


def test_train_refuses_unknown_modalities(raw_file, tmp_path, capsys):
    code = main(
        [
            "train",
            "--data",
            str(raw_file),
            "--modalities",
            "rna",
            "adt",
            "--out",
            str(tmp_path / "m"),
        ]
    )
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "'adt' is not a modality" in err and "['rna', 'atac']" in err


def test_train_refuses_bad_numbers_and_presets(raw_file, tmp_path, capsys):
    base = [
        "train",
        "--data",
        str(raw_file),
        "--modalities",
        "rna",
        "atac",
        "--out",
        str(tmp_path / "m"),
    ]
    assert main([*base, "--epochs-pretrain", "0", "--epochs", "0"]) == EXIT_USAGE
    assert "positive sum" in capsys.readouterr().err
    assert main([*base, "--batch-size", "1"]) == EXIT_USAGE
    assert main([*base, "--preset", "fancy"]) == EXIT_USAGE
    assert "--preset" in capsys.readouterr().err
    assert (
        main(["train", "--data", str(raw_file), "--modalities", "rna", "rna", "--out", "m"])
        == EXIT_USAGE
    )


def test_train_writes_a_loadable_model(model_dir, capsys):
    assert (model_dir / "model.pt").is_file() and (model_dir / "mdata.h5mu").is_file()
    model = ButterflyModel.load(str(model_dir))
    assert model.modalities_ == ["rna", "atac"]
    assert model.kinds_ == ["expression", "accessibility"]
    assert model.preprocessing_["rna"]["kind"] == "expression"  # raw counts were preprocessed


def test_train_refuses_a_non_empty_output(raw_file, model_dir, capsys):
    code = main(
        [
            "train",
            "--data",
            str(raw_file),
            "--modalities",
            "rna",
            "atac",
            "--out",
            str(model_dir),
            *TINY,
        ]
    )
    assert code == EXIT_USAGE
    assert "--overwrite" in capsys.readouterr().err


def test_translate_new_raw_rna_cells(raw_file, model_dir, tmp_path, capsys):
    raw = md.read_h5mu(raw_file)
    rna = raw["rna"][:40].copy()
    shuffled = rna[:, np.random.default_rng(0).permutation(rna.n_vars)].copy()
    data = tmp_path / "new_rna.h5ad"
    shuffled.write_h5ad(data)
    out = tmp_path / "pred.h5ad"
    code = main(translate_argv(model_dir, data, "rna", out))
    assert code == EXIT_OK
    printed = capsys.readouterr().out
    assert "translated 40 cells rna → atac" in printed and "model loaded in" in printed
    pred = ad.read_h5ad(out)
    model = ButterflyModel.load(str(model_dir))
    expected = model.translate(rna, source="rna")
    assert list(pred.var_names) == model.features_["atac"]["var_names"]
    np.testing.assert_allclose(dense(pred.X), dense(expected.X), rtol=1e-5, atol=1e-6)

    # As .h5mu: the input modality plus the prediction, prefixed names.
    out_mu = tmp_path / "pred.h5mu"
    assert main(translate_argv(model_dir, data, "rna", out_mu)) == 0
    written = md.read_h5mu(out_mu)
    assert set(written.mod) == {"rna", "atac_from_rna"}


def test_translate_a_mudata_and_evaluate(raw_file, model_dir, tmp_path, capsys):
    out = tmp_path / "translated.h5mu"
    code = main(translate_argv(model_dir, raw_file, "atac", out))
    assert code == EXIT_OK
    assert "rna_from_atac" in md.read_h5mu(out).mod
    capsys.readouterr()

    # Accessibility: raw counts are a valid truth (binarised); translate RNA → ATAC first.
    pred_atac = tmp_path / "atac_pred.h5ad"
    assert main(translate_argv(model_dir, raw_file, "rna", pred_atac)) == 0
    capsys.readouterr()
    json_out = tmp_path / "metrics.json"
    code = main(
        ["evaluate", "--pred", str(pred_atac), "--truth", str(raw_file), "--out", str(json_out)]
    )
    assert code == EXIT_OK
    printed = capsys.readouterr().out
    assert "auroc" in printed and "evaluated" in printed
    metrics = json.loads(json_out.read_text())
    assert 0 <= metrics["auroc"] <= 1 and metrics["n_cells"] == N_CELLS

    # Expression against the preprocessed RNA stored with the model, restricted by a column.
    model_data = model_dir / "mdata.h5mu"
    code = main(
        [
            "evaluate",
            "--pred",
            str(out),
            "--truth",
            str(model_data),
            "--truth-modality",
            "rna",
            "--subset",
            "cell_type=E2Rasgrf2",
            "--format",
            "json",
        ]
    )
    assert code == EXIT_OK
    result = json.loads(capsys.readouterr().out)
    assert "pearson_per_cell_mean" in result and result["n_cells"] < N_CELLS


def test_translate_refuses_bad_input(raw_file, model_dir, tmp_path, capsys):
    raw = md.read_h5mu(raw_file)
    data = tmp_path / "rna.h5ad"
    raw["rna"].write_h5ad(data)
    out = tmp_path / "out.h5ad"
    base = ["translate", "--model", str(model_dir), "--data", str(data), "--out", str(out)]

    assert main([*base, "--source", "protein"]) == EXIT_USAGE
    assert (
        "--source: expected one of the model's modalities ['rna', 'atac']"
        in capsys.readouterr().err
    )

    partial = tmp_path / "partial.h5ad"
    raw["rna"][:, 10:].copy().write_h5ad(partial)
    code = main(translate_argv(model_dir, partial, "rna", out, "--missing", "error"))
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "missing" in err and "Traceback" not in err
    few = tmp_path / "few.h5ad"
    raw["rna"][:, :200].copy().write_h5ad(few)  # 200 of 1,677 genes: refused by default
    assert main(translate_argv(model_dir, few, "rna", out)) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "data: expected at least 50%" in err and "--missing zero" in err  # the CLI's syntax
    corrupt = tmp_path / "corrupt.h5ad"
    corrupt.write_bytes(b"not an HDF5 file" * 10)
    assert main(translate_argv(model_dir, corrupt, "rna", out)) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "IN: expected a readable AnnData (.h5ad) file" in err and "corrupt.h5ad" in err
    assert main([*base[:3], "--source", "rna", str(data)]) == EXIT_USAGE
    assert "OUT: expected a file" in capsys.readouterr().err

    assert main(translate_argv(tmp_path, data, "rna", out)) == EXIT_USAGE
    assert "model.pt" in capsys.readouterr().err
    assert main(translate_argv("no-such-model", data, "rna", out)) == EXIT_USAGE
    assert "expected a catalogue model" in capsys.readouterr().err

    assert main([*base, "--source", "rna"]) == EXIT_OK
    assert main([*base, "--source", "rna"]) == EXIT_USAGE  # exists now
    assert "--overwrite" in capsys.readouterr().err
    assert main(translate_argv(model_dir, data, "rna", tmp_path / "x.csv")) == EXIT_USAGE


def test_evaluate_refuses_bad_input(raw_file, tmp_path, capsys):
    raw = md.read_h5mu(raw_file)
    pred = tmp_path / "pred.h5ad"
    raw["atac"].write_h5ad(pred)
    assert (
        main(["evaluate", "--pred", str(pred), "--truth", str(tmp_path / "none.h5ad")])
        == EXIT_USAGE
    )
    assert "file not found" in capsys.readouterr().err
    assert (
        main(["evaluate", "--pred", str(pred), "--truth", str(raw_file), "--truth-modality", "adt"])
        == EXIT_USAGE
    )
    assert "'adt'" in capsys.readouterr().err
    other = tmp_path / "other.h5ad"
    shifted = raw["atac"][:, :100].copy()
    shifted.var_names = [f"peak{i}" for i in range(100)]
    shifted.write_h5ad(other)
    assert (
        main(
            ["evaluate", "--pred", str(other), "--truth", str(raw_file), "--truth-modality", "atac"]
        )
        == EXIT_USAGE
    )
    assert "var_names" in capsys.readouterr().err
    unknown = tmp_path / "unknown.h5ad"
    ad.AnnData(dense(raw["atac"].X[:, :5])).write_h5ad(unknown)
    assert main(["evaluate", "--pred", str(unknown), "--truth", str(unknown)]) == EXIT_USAGE
    assert "--kind" in capsys.readouterr().err
    assert (
        main(["evaluate", "--pred", str(pred), "--truth", str(pred), "--subset", "nonsense"])
        == EXIT_USAGE
    )


def test_runtime_failures_exit_with_one(monkeypatch, capsys):
    import dataclasses

    from butterflyvi.cli import evaluate

    def broken(args):
        raise RuntimeError("boom")

    monkeypatch.setattr(evaluate, "COMMANDS", (dataclasses.replace(evaluate.COMMAND, run=broken),))
    assert main(["evaluate", "--pred", "a.h5ad", "--truth", "b.h5ad"]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "RuntimeError: boom" in err and "Traceback" not in err
    assert main(["--debug", "evaluate", "--pred", "a.h5ad", "--truth", "b.h5ad"]) == EXIT_FAILURE
    assert "Traceback" in capsys.readouterr().err
