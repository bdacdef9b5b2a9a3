"""Batches that count: translation of a batch the model never trained on, without a batch
covariate, with one (the unseen batch gets the mean batch vector), and with one adapted to
the new batch on its source modality alone (``model.adapt``).

``python -m benchmarks.batches --dataset bmmc_cite --seeds 0 1 2``

Leave one batch out: every cell of the held-out batch is a test cell; 10 % of the other
cells are validation cells; the rest train. BMMC starters: batches s1d1 / s1d2, each held out
in turn; SNARE-seq: the ``library`` column, the largest library held out. Kang et al. has no
donor column in scGen's file, so it is not run. Record:
``benchmarks/results/batches_{dataset}_{held}_s{seed}.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import scvi
import torch

import butterflyvi as bf

from ._data import PAIRED, _load, _preprocess
from ._report import Record

RESULTS = Path(__file__).resolve().parent / "results"
BATCH_KEY = {"bmmc_cite": "batch", "bmmc_multiome": "batch", "snareseq": "library"}
EPOCHS = {"bmmc_cite": (50, 100), "bmmc_multiome": (50, 100), "snareseq": (20, 60)}
HEADLINE = {
    "expression": "pearson_per_feature_mean",
    "protein": "pearson_per_feature_mean",
    "accessibility": "auroc_per_peak_mean",
}


def _scores(model, test, mods) -> dict:
    out = {}
    for source, target in (mods, mods[::-1]):
        prediction = model.translate(test, source=source)
        kind = model.kinds_[model.modalities_.index(target)]
        metric = bf.metrics.accessibility if kind == "accessibility" else bf.metrics.expression
        scores = metric(prediction, test[target])
        out[f"{source}_to_{target}"] = {
            "headline": scores[HEADLINE[kind]],
            "per_cell": scores.get("pearson_per_cell_mean", scores.get("auroc_per_cell_mean")),
        }
    return out


def run(dataset: str, held: str, seed: int) -> Path:
    torch.set_num_threads(1)
    path = RESULTS / f"batches_{dataset}_{held}_s{seed}.json"
    record = Record.of_run(
        path,
        "batches",
        dataset=dataset,
        held_out_batch=held,
        seed=seed,
    )
    mods = PAIRED[dataset]["mods"]
    mdata = _preprocess(_load(dataset), mods, [])
    key = BATCH_KEY[dataset]
    batches = mdata[mods[0]].obs[key].astype(str).to_numpy()
    mdata.obs["batch_id"] = batches
    test = np.flatnonzero(batches == held)
    cells = mdata[mdata.obs_names[test]].copy()
    # the model is set up on the other batches only, so the held-out one is truly unseen
    known = mdata[mdata.obs_names[batches != held]].copy()
    order = np.random.default_rng(seed).permutation(known.n_obs)
    n_val = known.n_obs // 10
    indexing = [np.sort(order[n_val:]), np.sort(order[:n_val]), np.array([], dtype=np.int64)]
    results = {}
    for setting in ("none", "covariate"):
        scvi.settings.seed = seed
        bf.ButterflyModel.setup_mudata(known, modalities=mods, batch_key="batch_id")
        model = bf.ButterflyModel(known, batch_covariate=setting == "covariate")
        e1, e2 = EPOCHS[dataset]
        model.train(
            max_epochs_pretrain=e1,
            max_epochs=e2,
            external_indexing=indexing,
            accelerator="cpu",
            enable_progress_bar=False,
            enable_model_summary=False,
            calibrate=False,
        )
        results[setting] = _scores(model, cells, mods)
        if setting == "covariate":  # each direction adapted on its own source modality
            adapted = {}
            for source in mods:
                model.adapt(cells[source], source=source, batch=held, max_epochs=50)
                scores = _scores(model, cells, mods)
                adapted.update({k: v for k, v in scores.items() if k.startswith(f"{source}_to")})
            results["covariate_adapted"] = adapted
        record.update(results=results, n_test=len(test), n_train=len(indexing[0]))
        print(dataset, held, seed, setting, results[setting], flush=True)
    print("adapted", results.get("covariate_adapted"), flush=True)
    return path


def table() -> str:
    """The markdown table of every record: mean ± sd over seeds of each direction's headline
    metric (per-feature Pearson; per-peak AUROC for ATAC) on the held-out batch."""
    import json
    from collections import defaultdict

    settings = ("none", "covariate", "covariate_adapted")
    runs: dict = defaultdict(lambda: defaultdict(list))
    for path in sorted(RESULTS.glob("batches_*_s*.json")):
        record = json.loads(path.read_text())
        if set(settings) - set(record.get("results", {})):
            continue
        for setting in settings:
            for direction, scores in record["results"][setting].items():
                key = (record["dataset"], record["held_out_batch"], direction)
                runs[key][setting].append(scores["headline"])
    lines = [
        "| dataset | held-out batch | direction | seeds | no covariate | covariate "
        "| covariate, adapted | adapted − none |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (dataset, held, direction), by_setting in sorted(runs.items()):
        cells = [f"{np.mean(v):.3f} ± {np.std(v):.3f}" for v in map(by_setting.get, settings)]
        lead = np.mean(by_setting["covariate_adapted"]) - np.mean(by_setting["none"])
        n = len(by_setting["none"])
        lines.append(
            f"| {dataset} | {held} | {direction.replace('_to_', '→')} | {n} | "
            + " | ".join(cells)
            + f" | {lead:+.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true", help="print the table of all records")
    parser.add_argument("--dataset", choices=sorted(BATCH_KEY))
    parser.add_argument("--held", nargs="+", help="batches to hold out (default: see above)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    if args.table:
        print(table())
        return
    if args.dataset is None:
        parser.error("--dataset: expected one of " + ", ".join(sorted(BATCH_KEY)))
    held = args.held or (["s1d1", "s1d2"] if args.dataset.startswith("bmmc") else None)
    if held is None:
        libraries = bf.datasets.load_shared(args.dataset)[PAIRED[args.dataset]["mods"][0]].obs
        held = [libraries[BATCH_KEY[args.dataset]].astype(str).value_counts().index[0]]
    for batch in held:
        for seed in args.seeds:
            run(args.dataset, batch, seed)


if __name__ == "__main__":
    main()
