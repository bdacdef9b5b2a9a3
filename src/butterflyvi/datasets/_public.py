"""Loaders of the public datasets: a local copy when there is one, else a checked download.

Each loader looks for the dataset's files in ``path`` when given; otherwise in
``$BUTTERFLYVI_DATA``, a ``shared/data`` folder beside the working directory or the package,
and the download cache (``$BUTTERFLYVI_CACHE``, default ``~/.cache/butterflyvi/datasets``).
Failing those it downloads the original public files (pinned to a commit), checks their
SHA-256, derives the dataset where it is not the files themselves, and keeps the result in
the cache.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd

from .._validation import invalid
from ._demo import DEMO_FILE
from ._derive import derive_pbmc10k, derive_snareseq
from ._download import cache_dir, check_sha256, download
from ._locate import candidate_dirs
from ._shared import _LOADERS, SPLIT_FILE, _locate
from ._sources import DATASETS, PublicDataset

_DERIVE = {"snareseq": derive_snareseq, "pbmc10k_cite": derive_pbmc10k}


def available() -> pd.DataFrame:
    """The public datasets the docs, tutorials and benchmarks use.

    Returns
    -------
    DataFrame, one row per dataset, with ``name`` (the loader ``bf.datasets.<name>()``),
    ``title``, ``url`` and ``sha256`` (of each source file, space-separated, in order),
    ``derived`` (built from the sources rather than the sources themselves), ``n_cells``,
    ``modalities``, ``licence`` and ``citation``. The bundled demo is listed as
    ``snareseq_demo`` (a sample of ``snareseq``, shipped with the package).
    """
    rows = [
        {
            "name": d.name,
            "title": d.title,
            "url": " ".join(s.url for s in d.sources),
            "sha256": " ".join(s.sha256 for s in d.sources),
            "derived": d.derived,
            "n_cells": d.n_cells,
            "modalities": ", ".join(d.modalities),
            "licence": d.licence,
            "citation": d.citation,
        }
        for d in DATASETS.values()
    ]
    snare = DATASETS["snareseq"]
    rows.append(
        {
            "name": "snareseq_demo",
            "title": "2,000 SNARE-seq cells, bundled with the package",
            "url": f"bundled: butterflyvi/datasets/data/{DEMO_FILE} (a sample of snareseq)",
            "sha256": "",
            "derived": True,
            "n_cells": 2_000,
            "modalities": "rna, atac",
            "licence": snare.licence,
            "citation": snare.citation,
        }
    )
    return pd.DataFrame(rows)


def local_folders() -> list[Path]:
    """Folders searched for local copies, in order (existing or not)."""
    return [*candidate_dirs(), cache_dir()]


def dataset_files(name: str, *, path: str | Path | None = None, download: bool = True):
    """The ready-to-read files of dataset ``name`` (found, or downloaded and derived)."""
    if name not in DATASETS:
        raise invalid("name", f"one of {list(DATASETS)}", repr(name))
    record = DATASETS[name]
    folders = [Path(path).expanduser()] if path is not None else local_folders()
    for folder in folders:
        files = _ready(record, folder)
        if files is not None:
            return files
    if path is not None:
        raise FileNotFoundError(
            f"path: expected a folder holding {list(record.files)} (or the source files "
            f"{[s.file_name for s in record.sources]}), found neither in {folders[0]}."
        )
    if not download:
        where = "\n  ".join(str(f) for f in folders)
        raise FileNotFoundError(
            f"{name}: no local copy of {list(record.files)} in:\n  {where}\nPass "
            "download=True to download it, path= a folder that holds it, or set "
            "BUTTERFLYVI_DATA."
        )
    return _download(record, cache_dir())


def _ready(record: PublicDataset, folder: Path) -> list[Path] | None:
    """The dataset's files in ``folder``, checked; derived there from its sources if only
    those are present; ``None`` when neither is.
    """
    files = [folder / f for f in record.files]
    if all(f.is_file() for f in files):
        if not record.derived:  # byte-for-byte copies of the sources: check them
            for source, file in zip(record.sources, files, strict=True):
                check_sha256(file, source.sha256, what=f"{record.name}: {file.name}")
        return files
    if record.derived and all((folder / s.file_name).is_file() for s in record.sources):
        return _derive(record, folder, cache_dir())
    return None


def _download(record: PublicDataset, cache: Path) -> list[Path]:
    if not record.derived:
        return [download(source, cache) for source in record.sources]
    sources = cache / "sources" / record.name
    for source in record.sources:
        download(source, sources)
    return _derive(record, sources, cache)


def _derive(record: PublicDataset, sources: Path, cache: Path) -> list[Path]:
    for source in record.sources:
        check_sha256(sources / source.file_name, source.sha256, what=f"{record.name}: source")
    target = cache / record.files[0]
    if not target.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            _DERIVE[record.name](sources).write_h5mu(partial)
        partial.replace(target)
    return [target]


def _load(name: str, path, download: bool):
    return _LOADERS[name](dataset_files(name, path=path, download=download))


def snareseq(*, path: str | Path | None = None, download: bool = True) -> md.MuData:
    """SNARE-seq adult mouse cortex, paired RNA + ATAC (Chen, Lake & Zhang 2019).

    10,309 cells; ``rna`` 1,677 genes and ``atac`` 25,734 peaks (mm10,
    ``chr1_4914570_4914685``, var ``chrom``/``start``/``end``), raw counts (CSR float32);
    obs ``cell_type`` (23), ``cell_type_coarse`` (15), ``library``, ``Barcode``. Derived
    from scMoMaT's batch-1 files (see ``available()``; :func:`butterflyvi.datasets._derive.
    derive_snareseq`). The benchmarks' split: :func:`snareseq_split`.

    Parameters
    ----------
    path
        A folder holding ``snareseq_mouse_cortex_chen2019.h5mu`` or the five source files.
    download
        Download the sources when no local copy is found (about 6 MB).
    """
    return _load("snareseq", path, download)


def bmmc_multiome(*, path: str | Path | None = None, download: bool = True) -> md.MuData:
    """NeurIPS 2021 BMMC Multiome starter: 500 cells, ``rna`` 600 genes, ``atac`` 600 peaks.

    Raw counts in X (the files' normalised X in ``layers["normalized"]``); obs ``cell_type``
    (21), ``batch``. Parameters as :func:`snareseq` (1.5 MB).
    """
    return _load("bmmc_multiome", path, download)


def bmmc_cite(*, path: str | Path | None = None, download: bool = True) -> md.MuData:
    """NeurIPS 2021 BMMC CITE-seq starter: 600 cells, ``rna`` 1,000 genes, ``adt`` 134
    proteins; raw counts in X; obs ``cell_type`` (41), ``batch``. Parameters as
    :func:`snareseq` (2.3 MB).
    """
    return _load("bmmc_cite", path, download)


def pbmc10k_cite(*, path: str | Path | None = None, download: bool = True) -> md.MuData:
    """10x PBMC 10k CITE-seq (scMDC's 1,000 genes): 6,661 cells, ``rna`` 1,000 genes
    (``gene0000``…, symbols in ``var["inferred_symbol"]`` where known), ``prot`` 14 proteins;
    raw counts; obs ``cluster_label`` (scMDC's unnamed clusters). Parameters as
    :func:`snareseq` (4 MB).
    """
    return _load("pbmc10k_cite", path, download)


def pbmc_multiome(*, path: str | Path | None = None, download: bool = True) -> md.MuData:
    """10x PBMC Multiome, muon's test file: 1,000 cells, ``rna`` 45 genes, ``atac`` 174 peaks
    (GRCh38, 10x ``interval`` in var), raw counts, no labels; its fragments file beside it
    (``mod["atac"].uns["files"]["fragments"]``). Parameters as :func:`snareseq` (4.4 MB).
    """
    return _load("pbmc_multiome", path, download)


def kang(*, path: str | Path | None = None, download: bool = True) -> ad.AnnData:
    """Kang et al. 2018 IFN-β PBMC (scGen's ``valid_pbmc``): an AnnData of 1,975 cells ×
    6,998 genes, log-normalised; obs ``condition`` (control / stimulated) and ``cell_type``
    (7). Parameters as :func:`snareseq` (2.3 MB).
    """
    return _load("kang", path, download)


def split_from_rule(obs_names: pd.Index, seed: int = 0) -> dict[str, list[str]]:
    """``RandomState(seed).permutation(n)``: the first 80 % train, the next 10 % validation,
    the rest test, each part in the cells' order.
    """
    n = len(obs_names)
    perm = np.random.RandomState(seed).permutation(n)
    n_train, n_val = int(0.8 * n), int(0.1 * n)
    parts = {
        "train": perm[:n_train],
        "validation": perm[n_train : n_train + n_val],
        "test": perm[n_train + n_val :],
    }
    return {k: obs_names[np.sort(v)].astype(str).tolist() for k, v in parts.items()}


def snareseq_split(*, path: str | Path | None = None) -> dict[str, list[str]]:
    """Return the fixed train/validation/test split of the SNARE-seq cells.

    The split is ``np.random.RandomState(0).permutation(10309)``: the first 80 % train, the
    next 10 % validation, the rest test; the ids within each part are sorted.

    Parameters
    ----------
    path
        Folder holding ``snareseq_split.json``; by default the local data folders are
        searched, and without the file the rule is applied to the cells of
        :func:`snareseq` (downloaded if needed), which gives the same lists.

    Returns
    -------
    ``{"train": [...], "validation": [...], "test": [...]}`` of obs_names of
    :func:`snareseq`.

    """
    try:
        file = _locate(SPLIT_FILE, path=path, caller="snareseq_split()")
    except FileNotFoundError:
        if path is not None:
            raise
        return split_from_rule(snareseq().obs_names)  # the file's rule, applied afresh
    content = json.loads(file.read_text())
    parts = ("train", "validation", "test")
    missing = [p for p in parts if p not in content]
    if missing:
        raise ValueError(f"{file}: expected keys {list(parts)}; missing {missing}.")
    split = {p: [str(c) for c in content[p]] for p in parts}
    n_cells = content.get("n_cells")
    if n_cells is not None and sum(map(len, split.values())) != n_cells:
        raise ValueError(f"{file}: the three parts do not add up to n_cells={n_cells}.")
    return split
