"""The Markdown model card of a shared ButterflyModel (scvi-tools' helper only knows its own models)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ._describe import PAIRINGS, describe, pairing_record, resolve_pairing

PAPER = (
    "Cao, Y. et al. scButterfly: a versatile single-cell cross-modality translation method "
    "via dual-aligned variational autoencoders. *Nat. Commun.* 15, 2973 (2024). "
    "https://doi.org/10.1038/s41467-024-47418-x"
)
SCVI_HUB = "scvi-hub (bioRxiv, 2024): https://www.biorxiv.org/content/10.1101/2024.03.01.582887"
DEFAULT_DESCRIPTION = (
    "A scButterfly cross-modality translator trained with butterflyvi: dual-aligned "
    "variational autoencoders with a shared latent space and adversarial alignment, which "
    "predict one modality of a cell from the other."
)
NOT_GIVEN = "not recorded"


def _front_matter(info: dict, *, license_info: str, tissues: Sequence[str]) -> str:
    """YAML header with the tags scvi-hub uses (``model_cls_name:``, ``modality:``, …)."""
    from huggingface_hub import ModelCardData

    tags = [
        "biology",
        "genomics",
        "single-cell",
        "cross-modality-translation",
        "butterflyvi",
        f"model_cls_name:{info['model_cls_name']}",
        f"scvi_version:{info['versions']['scvi-tools']}",
        f"anndata_version:{info['versions']['anndata']}",
        *(f"modality:{m['name']}" for m in info["modalities"]),
        *(f"tissue:{t}" for t in tissues),
    ]
    data = ModelCardData(license=license_info, library_name="scvi-tools", tags=tags)
    return f"---\n{data.to_yaml()}\n---\n"


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def benchmark_table(benchmark: Mapping[str, Any]) -> str:
    """A Markdown table of ``{method: {metric: value}}`` (or one method's ``{metric: value}``)."""
    if all(not isinstance(v, Mapping) for v in benchmark.values()):
        benchmark = {"model": benchmark}
    methods = list(benchmark)
    metrics: list[str] = []
    for values in benchmark.values():
        metrics += [k for k in values if k not in metrics]
    lines = [
        "| metric | " + " | ".join(methods) + " |",
        "|---|" + "---:|" * len(methods),
    ]
    for metric in metrics:
        row = [_number(benchmark[m].get(metric)) for m in methods]
        lines.append(f"| {metric} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def _modality_table(info: dict) -> str:
    lines = ["| modality | kind | features | stored preprocessing |", "|---|---|---:|---|"]
    for m in info["modalities"]:
        state = ", ".join(f"{k}={v}" for k, v in m["preprocessing"].items() if k != "kind")
        lines.append(
            f"| {m['name']} | {m['kind']} | {m['n_features']:,} | {state or 'none (user-prepared)'} |"
        )
    return "\n".join(lines)


def _usage(info: dict) -> str:
    source, target = info["modalities"][0]["name"], info["modalities"][1]["name"]
    return f"""\
```python
import scvi.hub

# From the Hugging Face Hub (replace with this repository's id):
hub_model = scvi.hub.HubModel.pull_from_huggingface_hub("<user>/<repo>", revision="main")
# or from a local copy of this folder:
hub_model = scvi.hub.HubModel("path/to/this/folder")
model = hub_model.model  # a butterflyvi.ButterflyModel

# New cells measured in {source} only: an AnnData of raw counts, features in any order.
# The model re-applies its stored preprocessing and matches features by name.
import anndata
new_cells = anndata.read_h5ad("new_{source}_cells.h5ad")
pred = model.translate(new_cells, source="{source}")  # AnnData in the {target} feature space
```

Or from the command line: `butterflyvi translate --model path/to/this/folder --source
{source} new_{source}_cells.h5ad {target}_from_{source}.h5ad`.
Both directions work (`source="{target}"` predicts {source})."""


def _pairs_text(info: dict) -> str:
    if info["n_train"] is None:
        return f"- Cells of the registered MuData: {info['n_cells']:,}."
    return (
        f"- Training pairs: {info['n_train']:,}, validation pairs: {info['n_validation']:,} "
        f"(of the {info['n_cells']:,} cells of the registered MuData)."
    )


def model_card(
    model,
    *,
    description: str | None = None,
    pairing: str | None = None,
    genome: str | None = None,
    tissues: Sequence[str] = (),
    benchmark: Mapping[str, Any] | None = None,
    training_data_url: str | None = None,
    training_data_note: str | None = None,
    license_info: str = "cc-by-4.0",
) -> str:
    """Write the Markdown model card (with a Hugging Face YAML header) of a trained model.

    Parameters
    ----------
    model
        A trained :class:`~butterflyvi.ButterflyModel`.
    description
        A paragraph about the model (what it was trained on, for which use).
    pairing
        Pairing strategy of the training pairs, a key of ``PAIRINGS`` (``"B"``, ``"T"``,
        ``"C"``, ``"unpaired"``, ``"perturbation"``); ``None`` reads it from the training
        data's ``uns["butterflyvi_pairing"]`` (written by :mod:`butterflyvi.tl`), else ``"B"``.
    genome
        Genome build of the peak coordinates and gene names (e.g. ``"mm10"``, ``"GRCh38"``).
    tissues
        Tissues of the training cells (scvi-hub ``tissue:`` tags).
    benchmark
        Evaluation figures, ``{method: {metric: value}}`` (e.g. the model and the mean
        baseline) or ``{metric: value}``.
    training_data_url
        Where the full training data can be downloaded.
    training_data_note
        A sentence on the data stored beside the model (written by :func:`to_hub_dir`).
    license_info
        Hugging Face license identifier of the model.

    Returns
    -------
    The card as a string (the ``README.md`` of a scvi-hub folder).
    """
    info = describe(model)
    pairing = resolve_pairing(model, pairing)
    record = pairing_record(model)
    mods = info["modalities"]
    best = info["best_epoch"]
    best_text = f"; weights of the best validation epoch ({best}) kept" if best is not None else ""
    record_text = (
        "\n- Pairing record of the training data: "
        + ", ".join(f"{k}={v}" for k, v in record.items())
        if record
        else ""
    )
    sections = [
        _front_matter(info, license_info=license_info, tissues=tissues),
        f"# ButterflyModel: {mods[0]['name']} ↔ {mods[1]['name']} translation (butterflyvi)\n",
        (description or DEFAULT_DESCRIPTION) + "\n",
        "## Model\n",
        f"- Class: `butterflyvi.ButterflyModel` (scvi-tools model; scvi-hub "
        f'`model_parent_module="butterflyvi"`), preset `{info["preset"]}`.',
        f"- Modalities: {mods[0]['name']} ({mods[0]['kind']}) and {mods[1]['name']} "
        f"({mods[1]['kind']}).",
        f"- Genome build: {genome or NOT_GIVEN}.",
        f"- Architecture parameters: {info['init_params'] or 'the preset defaults'}.\n",
        _modality_table(info) + "\n",
        "## Training\n",
        _pairs_text(info),
        f"- Pairing strategy: {pairing} — {PAIRINGS[pairing]}.{record_text}",
        f"- Epochs run: {info['epochs_pretrain']} pretraining + {info['epochs_integrative']} "
        f"integrative{best_text} (the paper: 100 + 200).",
        f"- Training data: {training_data_url or NOT_GIVEN}."
        + (f" {training_data_note}" if training_data_note else ""),
        "- Software: " + ", ".join(f"{name} {v}" for name, v in info["versions"].items()) + ".\n",
    ]
    if benchmark:
        sections += ["## Evaluation\n", benchmark_table(benchmark) + "\n"]
    sections += [
        "## Usage\n",
        "Needs `pip install butterflyvi[hub]` (butterflyvi, scvi-tools, huggingface_hub).\n",
        _usage(info) + "\n",
        "## References\n",
        f"- {PAPER}",
        f"- {SCVI_HUB}",
    ]
    return "\n".join(sections) + "\n"
