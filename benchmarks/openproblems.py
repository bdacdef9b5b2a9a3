"""butterflyvi in the OpenProblems ``predict_modality`` task, beside the task's controls and
its best simple methods, on tasks built from the public datasets.

``python -m benchmarks.openproblems --dataset bmmc_cite --seeds 0 1 2``
``python -m benchmarks.openproblems --table``

For each dataset, both directions and each seed: the task files are built as the harness's
``process_dataset`` builds them (split seed ``seed + 1``); the controls (``zeros``,
``mean_per_gene``, ``random_predict``, ``solution``), the ports of ``guanlab_dengkw_pm`` and
``knnr_py`` (``benchmarks/_harness.py``) and ``bf.openproblems.predict_modality`` (seed
``seed``) predict the test cells, scored by the task's metrics and scaled between the controls
of the same run. Records: ``benchmarks/results/openproblems_{dataset}_s{seed}.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import torch

import butterflyvi as bf

from . import _harness as harness
from ._report import Record, table

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("butterflyvi", "guanlab_dengkw_pm", "knnr_py")


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run_task(files: dict, seed: int) -> dict:
    """Every method on one task: metrics, scaled scores, seconds."""
    args = (files["train_mod1"], files["train_mod2"], files["test_mod1"])
    truth = files["test_mod2"].layers["normalized"]
    metrics, seconds, extra = {}, {}, {}
    for name, method in {**harness.CONTROLS, **harness.BASELINES}.items():
        started = time.perf_counter()
        prediction = method(*args, seed=seed) if name in harness.CONTROLS else method(*args)
        seconds[name] = time.perf_counter() - started
        metrics[name] = bf.metrics.predict_modality(prediction, truth)
    metrics["solution"] = bf.metrics.predict_modality(truth, truth)
    started = time.perf_counter()
    prediction = bf.openproblems.predict_modality(*args, seed=seed)
    seconds["butterflyvi"] = time.perf_counter() - started
    metrics["butterflyvi"] = bf.metrics.predict_modality(prediction.layers["normalized"], truth)
    extra["ensemble"] = prediction.uns["butterflyvi_ensemble"]
    return {
        "shape": {k: list(v.shape) for k, v in files.items()},
        "metrics": metrics,
        "scaled": bf.metrics.scaled_scores(metrics),
        "seconds": seconds,
        **extra,
    }


def run(dataset: str, seed: int) -> Path:
    """Both directions of ``dataset`` with ``seed``; the record's path."""
    torch.set_num_threads(1)
    path = RESULTS / f"openproblems_{dataset}_s{seed}.json"
    record = Record.of_run(
        path,
        "openproblems",
        dataset=dataset,
        seed=seed,
        tasks={},
    )
    for direction, files in harness.tasks(dataset, seed=seed + 1).items():
        result = run_task(files, seed)
        record.data["tasks"][direction] = result
        record.update(peak_memory_gb=_peak_gb(), finished=time.strftime("%Y-%m-%d %H:%M:%S"))
        means = {m: round(result["scaled"][m]["mean"], 4) for m in METHODS}
        print(f"{dataset} {direction} seed {seed}: {means}", flush=True)
    return path


def summary(results: Path = RESULTS) -> str:
    """The Markdown table of every task: scaled mean score (mean ± sd over seeds) per method."""
    rows: dict[tuple[str, str], dict[str, list[float]]] = {}
    for path in sorted(results.glob("openproblems_*_s*.json")):
        data = json.loads(path.read_text())
        for direction, result in data["tasks"].items():
            cell = rows.setdefault((data["dataset"], direction), {m: [] for m in METHODS})
            for method in METHODS:
                cell[method].append(result["scaled"][method]["mean"])
    lines = []
    for (dataset, direction), scores in sorted(rows.items()):
        n = len(scores["butterflyvi"])
        means = {m: float(np.mean(v)) for m, v in scores.items()}
        sds = {m: float(np.std(v)) for m, v in scores.items()}
        wins = sum(
            b >= max(g, k)
            for b, g, k in zip(
                scores["butterflyvi"], scores["guanlab_dengkw_pm"], scores["knnr_py"], strict=True
            )
        )
        lines.append(
            (
                dataset,
                direction,
                n,
                *(f"{means[m]:.3f} ± {sds[m]:.3f}" for m in METHODS),
                f"{means['butterflyvi'] - max(means['guanlab_dengkw_pm'], means['knnr_py']):+.3f}",
                f"{wins}/{n}",
            )
        )
    header = ("dataset", "task", "seeds", *METHODS, "lead over the better", "seeds won")
    return table(lines, header)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(harness.DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--table", action="store_true", help="print the table of the records")
    args = parser.parse_args(argv)
    if args.table:
        print(summary())
        return
    for seed in args.seeds:
        run(args.dataset, seed)


if __name__ == "__main__":
    main()
