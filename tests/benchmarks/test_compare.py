"""benchmarks.compare: seeds of one setting found by name and summarised as mean ± sd."""

from __future__ import annotations

import json

from benchmarks import compare


def _result(path, auroc, status="done"):
    metrics = {"directions": {"rna_to_atac": {"model": {"auroc": auroc, "aupr": 0.1}}}}
    path.write_text(json.dumps({"status": status, "metrics": metrics}))


def test_runs_of_one_setting_and_their_seeds(tmp_path):
    _result(tmp_path / "demo_B_default.json", 0.70)
    _result(tmp_path / "demo_B_default_s1.json", 0.72)
    _result(tmp_path / "demo_B_default_s2.json", 0.99, status="training")  # unfinished
    _result(tmp_path / "demo_B_default_rna-nb.json", 0.5)  # another setting
    found = compare.runs("demo_B_default", tmp_path)
    assert sorted(r["metrics"]["directions"]["rna_to_atac"]["model"]["auroc"] for r in found) == [
        0.70,
        0.72,
    ]
    row = compare.model_row("default", found, "rna_to_atac")
    assert row[0] == "default" and row[1] == "0.710 ± 0.014" and row[-1] == 2
    assert row[5] == "–"  # RMSE not recorded
