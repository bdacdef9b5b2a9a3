"""Where each public dataset comes from: addresses pinned to a commit, checksums, licences.

Every address (in ``sources.json``) is a file of a public repository at a fixed commit, so
its bytes (and SHA-256) never change. Four datasets are those files as they are; two (SNARE-seq, PBMC 10k CITE-seq)
are derived from them by :mod:`._derive`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    """One file to download: its address, its SHA-256 and the name it is stored under."""

    url: str
    sha256: str
    file_name: str


@dataclass(frozen=True)
class PublicDataset:
    """A dataset of the docs, tutorials and benchmarks.

    ``files`` are the names of the ready-to-read files (those of the shared data folder);
    ``derived`` says whether they are built from ``sources`` (else they are the sources
    themselves, renamed).
    """

    name: str
    title: str
    files: tuple[str, ...]
    sources: tuple[Source, ...]
    derived: bool
    n_cells: int
    modalities: tuple[str, ...]
    licence: str
    citation: str


def _read(path: Path) -> dict[str, PublicDataset]:
    """The records of ``sources.json`` (kept as data, beside this module)."""
    records = json.loads(path.read_text())
    return {
        name: PublicDataset(
            name=name,
            title=record["title"],
            files=tuple(record["files"]),
            sources=tuple(Source(**source) for source in record["sources"]),
            derived=bool(record["derived"]),
            n_cells=int(record["n_cells"]),
            modalities=tuple(record["modalities"]),
            licence=record["licence"],
            citation=record["citation"],
        )
        for name, record in records.items()
    }


#: The datasets, by name (from ``sources.json``).
DATASETS: dict[str, PublicDataset] = _read(Path(__file__).with_name("sources.json"))
