"""Build one pretrained model of the catalogue (``bf.zoo``) reproducibly from public data.

    python scripts/build_zoo.py mouse-cortex-rna-atac            # a local copy, else downloaded
    python scripts/build_zoo.py human-pbmc-rna-protein --data PATH
    python scripts/build_zoo.py --list

Steps: read the public data (``--data``: a local copy, file or folder; by default the loader
``bf.datasets.<dataset>()``: a local copy, else the checked download); a fixed seeded split (train / validation / test); preprocessing fitted
on the train + validation cells; training with the default preset (validation cells choose the
best epoch); evaluation on the test cells beside the training-mean baseline; then a scvi-hub
folder: ``model.pt`` (weights, feature spaces and fitted preprocessing; no cells),
``_scvi_required_metadata.json`` (``model_parent_module="butterflyvi"``), ``README.md`` (the
model card with scvi-hub tags and the held-out figures), ``metrics.json`` and ``zoo.json``
(the catalogue entry with the SHA-256 of ``model.pt``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scvi
import torch

import butterflyvi as bf
from butterflyvi.zoo._catalogue import CATALOGUE_DIR, sha256

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zoo_recipes import RECIPES, Recipe


def load_data(recipe: Recipe, data: Path | None):
    """The recipe's dataset: from ``data`` (a file or the folder holding it) or its loader."""
    loader = getattr(bf.datasets, recipe.dataset)
    if data is not None and data.is_file():
        expected = bf.datasets._sources.DATASETS[recipe.dataset].files[0]
        if data.name != expected:
            raise SystemExit(
                f"--data: expected the file {expected!r} of {recipe.dataset!r} (or its folder), "
                f"found {data.name!r}."
            )
        data = data.parent
    return loader(path=data)


def _plain(value):
    """Floats rounded to 4 digits, NaN (undefined, e.g. a constant baseline) as None."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float):
        return None if not np.isfinite(value) else round(value, 4)
    return value


def card_benchmark(metrics: dict) -> dict[str, dict[str, float]]:
    """``{method: {"direction metric": value}}`` for the model card's table."""
    table: dict[str, dict[str, float]] = {}
    for direction, methods in metrics.items():
        for method, scores in methods.items():
            for metric, value in scores.items():
                table.setdefault(method, {})[f"{direction} {metric}"] = (
                    float("nan") if value is None else value
                )
    return table


def build(recipe: Recipe, *, data: Path | None, out: Path, seed: int, threads: int) -> dict:
    """Train, evaluate and write one catalogue folder; return its ``zoo.json`` record."""
    torch.set_num_threads(threads)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = recipe.prepare(load_data(recipe, data))
        split = recipe.split(source)
        train, indexing = recipe.train_data(source, split)
        scvi.settings.seed = seed
        torch.set_num_threads(threads)
        bf.ButterflyModel.setup_mudata(train, modalities=recipe.modalities)
        model = bf.ButterflyModel(train, preset="default")
    print(model._model_summary_string, flush=True)
    model.train(
        max_epochs_pretrain=recipe.epochs[0],
        max_epochs=recipe.epochs[1],
        external_indexing=indexing,
        accelerator="cpu",
        enable_progress_bar=False,
    )
    if recipe.label_key is not None:
        # the reference map of the portal and model.annotate: training cells with their labels
        model.build_reference(label_key=recipe.label_key)
    trained = time.perf_counter() - started
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics = _plain(recipe.evaluate(model, source, split))
    for direction, methods in metrics.items():
        print(direction, json.dumps(methods))

    out.mkdir(parents=True, exist_ok=True)
    description = " ".join([recipe.description, *recipe.notes])
    bf.hub.to_hub_dir(
        model,
        out,
        description=description,
        genome=recipe.genome,
        tissues=[recipe.tissue],
        benchmark=card_benchmark(metrics),
        save_data=False,
        overwrite=True,
    )
    _add_card_source(out / "README.md", recipe, split)
    record = {
        "name": recipe.name,
        "description": recipe.description,
        "directions": list(recipe.directions),
        "species": recipe.species,
        "tissue": recipe.tissue,
        "assay": recipe.assay,
        "genome": recipe.genome,
        "n_cells": len(split.train),
        "n_cells_validation": len(split.validation),
        "n_cells_test": len(split.test),
        "n_features": {s.modality: s.n_features for s in model.feature_spaces},
        "kinds": dict(zip(model.modalities_, model.kinds_, strict=True)),
        "likelihoods": {
            m: lik.name for m, lik in zip(model.modalities_, model.module.likelihoods, strict=True)
        },
        "source": recipe.source,
        "metrics": metrics,
        "notes": recipe.notes,
        "preset": model.preset_,
        "epochs_run": [
            len(model.history.get("pretrain_loss", [])),
            len(model.history.get("train_loss", [])),
        ],
        "best_epoch": model.best_epoch_,
        "calibrated": bool(model.calibration_),
        "reference": {
            "n_cells": len(model.reference_["cells"]) if model.reference_ else 0,
            "label_key": recipe.label_key,
        },
        "seed": seed,
        "version": bf.__version__,
        "build_command": f"python scripts/build_zoo.py {recipe.name}",
        # the test cells of the split (never trained or calibrated on): a fair check of the
        # model on its own data, e.g. of its intervals' coverage
        "held_out_cells": list(split.test),
        "build_seconds": round(trained, 1),
        "sha256": sha256(out / "model.pt"),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out / "zoo.json").write_text(json.dumps(record, indent=2) + "\n")
    size = (out / "model.pt").stat().st_size / 1e6
    print(f"wrote {out} ({size:.1f} MB model.pt) in {time.perf_counter() - started:.0f} s")
    return record


def _add_card_source(card: Path, recipe: Recipe, split) -> None:
    """The catalogue section of the card: data source, split, notes, how to use it."""
    text = card.read_text()
    section = "\n".join(
        [
            "## Catalogue entry (`bf.zoo`)\n",
            f"- Name: `{recipe.name}`; directions: {', '.join(recipe.directions)}.",
            f"- Species: {recipe.species}; tissue: {recipe.tissue}; assay: {recipe.assay}.",
            f"- Data source: {recipe.source}.",
            f"- Split: {len(split.train):,} training, {len(split.validation):,} validation and "
            f"{len(split.test):,} test cells; the evaluation above is on the test cells.",
            *(f"- {note}" for note in recipe.notes),
            f"- Rebuild: `python scripts/build_zoo.py {recipe.name}`.",
            "",
            "```python",
            "import butterflyvi as bf",
            f'model = bf.zoo.load("{recipe.name}")',
            f'pred = model.translate(new_cells, source="{recipe.modalities[0]}")',
            "```",
            "",
        ]
    )
    marker = "## Usage"
    card.write_text(text.replace(marker, section + "\n" + marker, 1))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", nargs="?", choices=sorted(RECIPES), help="model to build")
    parser.add_argument("--data", type=Path, help="local copy of the data (file or folder)")
    parser.add_argument("--out", type=Path, help="output folder (default: the package catalogue)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    parser.add_argument("--list", action="store_true", help="list the recipes and exit")
    args = parser.parse_args(argv)
    if args.list or args.name is None:
        for name, recipe in RECIPES.items():
            print(f"{name}: {recipe.description}")
        return 0
    recipe = RECIPES[args.name]
    out = args.out or CATALOGUE_DIR / recipe.name
    build(recipe, data=args.data, out=out, seed=args.seed, threads=args.threads)
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
