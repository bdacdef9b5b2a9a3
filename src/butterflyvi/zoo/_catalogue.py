"""The catalogue folder: one scvi-hub folder per model, each with a ``zoo.json`` entry."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from .._validation import MissingKeyError
from ..datasets._download import sha256_of

#: The catalogue shipped with the package (a folder per model).
CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"

#: Environment variable naming another catalogue folder (e.g. models built at full size).
ENV_VAR = "BUTTERFLYVI_ZOO"

#: File of a catalogue folder describing its model (written by ``scripts/build_zoo.py``).
ENTRY_FILE = "zoo.json"

#: Columns of :func:`available`, in order.
COLUMNS = (
    "name",
    "directions",
    "species",
    "tissue",
    "assay",
    "n_cells",
    "n_features",
    "source",
    "metrics",
    "version",
    "sha256",
)


def catalogue_dirs() -> list[Path]:
    """The catalogue folders searched, in order: ``$BUTTERFLYVI_ZOO``, then the package's."""
    folders = []
    env = os.environ.get(ENV_VAR)
    if env:
        folders.append(Path(env).expanduser())
    folders.append(CATALOGUE_DIR)
    return folders


def _entries() -> dict[str, tuple[Path, dict[str, Any]]]:
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    for folder in catalogue_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*/{ENTRY_FILE}")):
            record = json.loads(path.read_text())
            found.setdefault(record["name"], (path.parent, record))
    return found


def available() -> pd.DataFrame:
    """The catalogue: one row per pretrained model.

    Returns
    -------
    DataFrame with the columns ``name``, ``directions`` (``"source->target"`` strings in the
    model's modality names), ``species``, ``tissue``, ``assay``, ``n_cells`` (training cells),
    ``n_features`` (per modality), ``source`` (public accession and address of the training
    data), ``metrics`` (held-out figures of the card, per direction, beside the training-mean
    baseline), ``version`` (of butterflyvi that built it) and ``sha256`` (of ``model.pt``),
    plus ``description`` and ``path``.
    """
    rows = []
    for folder, record in _entries().values():
        row = {column: record.get(column) for column in COLUMNS}
        row["description"] = record.get("description", "")
        row["path"] = str(folder)
        rows.append(row)
    return pd.DataFrame(rows, columns=[*COLUMNS, "description", "path"])


def entry(name: str) -> dict[str, Any]:
    """The catalogue entry (``zoo.json``) of the model ``name``."""
    return dict(_lookup(name)[1])


def model_dir(name: str) -> Path:
    """The folder of the catalogue model ``name`` (a scvi-hub folder, weights only)."""
    return _lookup(name)[0]


def _lookup(name: str) -> tuple[Path, dict[str, Any]]:
    entries = _entries()
    if name not in entries:
        raise MissingKeyError(
            f"name: expected a model of the catalogue ({sorted(entries)}) or a scvi-hub "
            f"repository id ('user/repo'), found {name!r}."
        )
    return entries[name]


def sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file."""
    return sha256_of(path)
