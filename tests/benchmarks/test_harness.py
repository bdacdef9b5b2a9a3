"""The benchmark command runs end to end in ``--quick`` mode and writes complete results."""

from __future__ import annotations

import json
import math

import pytest

# The benchmarks live beside the package, not inside it: make them importable under any runner.
from benchmarks import _perturbation as perturbation
from benchmarks import run

TIMING_KEYS = (
    "epochs",
    "wall_seconds",
    "median_seconds_per_epoch",
    "median_seconds_per_epoch_with_validation",
    "train_cells_per_second",
)
TOP_KEYS = (
    "dataset",
    "variant",
    "preset",
    "seed",
    "epochs_pretrain",
    "epochs",
    "command",
    "versions",
    "machine",
    "data",
    "peak_rss_gb",
    "wall_seconds_total",
    "status",
)


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_training(training: dict, epochs: tuple[int, int]) -> None:
    assert training["epochs_run"] == sum(epochs)
    assert _finite(training["best_epoch"])
    for phase, n in zip(("phase1", "phase2"), epochs, strict=True):
        timing = training["timing"][phase]
        assert set(TIMING_KEYS) <= set(timing)
        assert timing["epochs"] == n
        assert all(_finite(timing[k]) and timing[k] > 0 for k in TIMING_KEYS)


def _check_common(result: dict) -> None:
    assert set(TOP_KEYS) <= set(result), set(TOP_KEYS) - set(result)
    assert result["status"] == "done"
    assert result["quick"] is True
    assert {"butterflyvi", "scvi-tools", "torch", "python"} <= set(result["versions"])
    assert {"cpu_model", "cores", "torch_threads"} <= set(result["machine"])
    assert _finite(result["peak_rss_gb"]) and result["peak_rss_gb"] > 0


def test_quick_demo(tmp_path):
    assert run.main(["--dataset", "demo", "--quick", "--threads", "1", "--out", str(tmp_path)]) == 0
    path = tmp_path / "demo_B_default_quick.json"
    result = json.loads(path.read_text())
    _check_common(result)
    _check_training(result["training"], run.QUICK_EPOCHS)
    directions = result["metrics"]["directions"]
    assert set(directions) == {"rna_to_atac", "atac_to_rna"}
    atac, rna = directions["rna_to_atac"], directions["atac_to_rna"]
    for who in ("model", "baseline", "baseline_open_fraction"):
        assert all(_finite(atac[who][k]) for k in ("auroc", "aupr", "auroc_per_cell_mean"))
    assert atac["baseline"]["auroc_per_peak_mean"] == pytest.approx(0.5)
    for who in ("model", "baseline"):
        assert all(_finite(rna[who][k]) for k in ("pearson_per_cell_mean", "rmse"))
    assert _finite(rna["model"]["pearson_per_feature_mean"])
    clustering = result["metrics"]["clustering"]
    assert set(clustering) == {"translated_atac", "translated_rna", "measured_rna", "measured_atac"}
    for res in clustering.values():
        assert all(_finite(res[k]) for k in ("ari", "ami", "nmi", "homogeneity"))
    markdown = path.with_suffix(".md").read_text()
    assert "| metric | model | baseline |" in markdown
    assert "median s/epoch" in markdown


def test_quick_kang(tmp_path, shared_file):
    shared_file("kang2018_scgen_valid_pbmc.h5ad")
    assert run.main(["--dataset", "kang", "--quick", "--threads", "1", "--out", str(tmp_path)]) == 0
    path = tmp_path / "kang_LOO_default_quick.json"
    result = json.loads(path.read_text())
    _check_common(result)
    assert list(result["holdouts"]) == ["CD4T"]
    holdout = result["holdouts"]["CD4T"]
    _check_training(holdout["training"], run.QUICK_EPOCHS)
    for who in perturbation.PREDICTORS:
        metrics = holdout[who]
        assert 0 <= metrics["deg_overlap"] <= 100
        assert 0 <= metrics["mean_difference_overlap"] <= 100
        for key in ("r2_degs", "r2_degs_boot_mean", "r2_degs_boot_std", "r2_all_boot_mean"):
            assert _finite(metrics[key])
        assert _finite(metrics["r2_sd_all"])
    assert set(result["summary"]) == set(perturbation.PREDICTORS)
    text = path.with_suffix(".md").read_text()
    assert "scGen-like latent shift" in text and "15-NN over the OT pairs" in text


def test_cli_arguments():
    args = run.parse_args(["--dataset", "snareseq", "--preset", "paper", "--epochs", "7"])
    assert (args.dataset, args.preset, args.variant, args.epochs) == ("snareseq", "paper", "B", 7)
    assert args.epochs_pretrain is None
    assert run.result_stem("snareseq", "B", "paper", False) == "snareseq_B_paper"
    assert run.result_stem("demo", "T", "default", True) == "demo_T_default_quick"
    assert run.result_stem("snareseq", "B", "paper", False, (100, 200)) == "snareseq_B_paper"
    stem = run.result_stem("snareseq", "B", "default", False, (50, 100))
    assert stem == "snareseq_B_default_e50-100"
    stem = run.result_stem("snareseq", "T", "default", False, (50, 100), seed=2)
    assert stem == "snareseq_T_default_e50-100_s2"
    with pytest.raises(SystemExit):
        run.parse_args(["--dataset", "nope"])


def test_summary_aggregates_seeds_as_mean_and_sd():
    from benchmarks import summary

    assert summary.mean_sd([0.70, 0.72, 0.74]) == "0.720 ± 0.020"
    assert summary.mean_sd([0.705]) == "0.705"
    assert summary.mean_sd([None]) == "–"
    runs = [
        {"variant": "B", "preset": "default", "epochs_pretrain": 50, "epochs": 100, "seed": s}
        for s in (0, 1)
    ] + [{"variant": "T", "preset": "default", "epochs_pretrain": 17, "epochs": 34, "seed": 0}]
    # other likelihoods or preprocessing are other settings, never averaged with the default
    base = {"variant": "B", "preset": "default", "epochs_pretrain": 50, "epochs": 100}
    runs += [
        {**base, "likelihoods": {"rna": "nb"}, "pp": "default", "seed": 0},
        {**base, "likelihoods": {}, "pp": "crossmp", "seed": 0},
        {**base, "likelihoods": None, "pp": "default", "extra": "gene_activity", "seed": 0},
    ]
    groups = summary._group_by_setting(runs)
    assert {k: len(v) for k, v in groups.items()} == {
        "B default 50/100": 2,
        "B default 50/100 rna=nb": 1,
        "B default 50/100 pp=crossmp": 1,
        "B default 50/100 extra=gene_activity": 1,
        "T default 17/34": 1,
    }


def test_cli_options_on_top_of_a_preset_name_the_result():
    args = run.parse_args(
        [
            "--dataset",
            "pbmc_multiome",
            "--likelihood",
            "rna=nb",
            "--pp",
            "crossmp",
            "--extra",
            "gene_activity",
        ]
    )
    assert args.likelihoods == {"rna": "nb"}
    assert run._options(args) == ("rna-nb", "ppcrossmp", "xgene_activity")
    stem = run.result_stem(
        "pbmc_multiome", "B", "default", False, (100, 200), 1, run._options(args)
    )
    assert stem == "pbmc_multiome_B_default_rna-nb_ppcrossmp_xgene_activity_s1"
    with pytest.raises(SystemExit):
        run.parse_args(["--dataset", "snareseq", "--likelihood", "nb"])
