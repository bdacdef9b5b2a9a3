"""The harness's doors: ``butterflyvi predict-modality`` and the viash component's script,
run on a small task as the harness runs them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pytest

from butterflyvi.cli import main

SCRIPT = Path(__file__).resolve().parents[2] / "openproblems" / "butterflyvi" / "script.py"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def task_files(gex_to_atac, tmp_path):
    paths = {}
    for name in ("train_mod1", "train_mod2", "test_mod1"):
        paths[f"input_{name}"] = str(tmp_path / f"{name}.h5ad")
        gex_to_atac[name].write_h5ad(paths[f"input_{name}"])
    paths["output"] = str(tmp_path / "prediction.h5ad")
    return paths


def arguments(paths: dict) -> list[str]:
    return [f"--{k}={v}" for k, v in paths.items()]


def check_prediction(path: str, gex_to_atac) -> None:
    prediction = ad.read_h5ad(path)
    layer = prediction.layers["normalized"]
    assert layer.format == "csc" and layer.shape == (
        gex_to_atac["test_mod1"].n_obs,
        gex_to_atac["train_mod2"].n_vars,
    )
    assert list(prediction.var_names) == list(gex_to_atac["train_mod2"].var_names)
    assert prediction.uns["method_id"] == "butterflyvi" and np.isfinite(layer.data).all()


def test_the_command_writes_the_prediction(task_files, gex_to_atac, capsys):
    assert main(["predict-modality", *arguments(task_files), "--seed", "1"]) == 0
    check_prediction(task_files["output"], gex_to_atac)
    assert "predicted" in capsys.readouterr().out


def test_the_command_exits_99_for_a_pair_it_cannot_take(task_files, capsys):
    other = ad.read_h5ad(task_files["input_train_mod2"])
    other.uns["modality"] = "HiC"
    other.write_h5ad(task_files["input_train_mod2"])
    assert main(["predict-modality", *arguments(task_files)]) == 99
    assert "NON-APPLICABLE" in capsys.readouterr().err


def test_the_command_names_a_missing_file(task_files, capsys):
    task_files["input_test_mod1"] = "absent.h5ad"
    assert main(["predict-modality", *arguments(task_files)]) == 2
    assert "--input_test_mod1: file not found" in capsys.readouterr().err


def test_the_command_help_lists_the_arguments(capsys):
    assert main(["predict-modality", "--help"]) == 0
    out = capsys.readouterr().out
    for name in ("input_train_mod1", "input_train_mod2", "input_test_mod1", "output", "seed"):
        assert f"--{name}" in out


def test_the_viash_script_runs_with_its_block_pointed_at_a_task(task_files, gex_to_atac, tmp_path):
    utils = tmp_path / "utils"
    utils.mkdir()
    (utils / "exit_codes.py").write_text(
        "import sys\n\ndef exit_non_applicable(msg):\n    print(msg)\n    sys.exit(99)\n"
    )
    block = f"par = {dict(task_files, seed=0)!r}\nmeta = {{'name': 'butterflyvi', 'resources_dir': {str(utils)!r}}}\n"
    text = SCRIPT.read_text()
    text = re.sub(
        r"## VIASH START\n.*?## VIASH END\n",
        f"## VIASH START\n{block}## VIASH END\n",
        text,
        flags=re.S,
    )
    script = tmp_path / "script.py"
    script.write_text(text)
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    check_prediction(task_files["output"], gex_to_atac)
