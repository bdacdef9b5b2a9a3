"""Loaders for the real datasets of the shared data folder (see ``shared/data/SOURCES.md``)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, overload

import anndata as ad
import mudata as md
import numpy as np
import scipy.sparse as sp

from ._locate import ENV_VAR, candidate_dirs, shared_data_dir
from ._mudata_utils import build_mudata, finalise_mudata, read_h5mu

#: File names of each shared dataset.
SHARED_FILES: dict[str, tuple[str, ...]] = {
    "snareseq": ("snareseq_mouse_cortex_chen2019.h5mu",),
    "bmmc_multiome": ("bmmc_multiome_starter_rna.h5ad", "bmmc_multiome_starter_atac.h5ad"),
    "bmmc_cite": ("bmmc_cite_starter_rna.h5ad", "bmmc_cite_starter_adt.h5ad"),
    "pbmc10k_cite": ("pbmc10k_cite_10x_scmdc1000g.h5mu",),
    "pbmc_multiome": ("pbmc_multiome_muon_test1000.h5mu",),
    "kang": ("kang2018_scgen_valid_pbmc.h5ad",),
}
SPLIT_FILE = "snareseq_split.json"
_FRAGMENTS_FILE = "pbmc_multiome_muon_test1000_fragments.tsv.gz"


def list_shared(*, path: str | Path | None = None) -> list[str]:
    """Return the names of the shared datasets whose files are all present.

    Parameters
    ----------
    path
        Folder holding the files; by default `shared_data_dir`.

    Returns
    -------
    Names accepted by `load_shared`, in a fixed order; empty when no folder is found.

    """
    folder = Path(path) if path is not None else shared_data_dir()
    if folder is None:
        return []
    return [
        name for name, files in SHARED_FILES.items() if all((folder / f).is_file() for f in files)
    ]


def _locate(file_name: str, *, path: str | Path | None, caller: str) -> Path:
    """Path of one shared file, or a FileNotFoundError saying where it looked."""
    folders = [Path(path)] if path is not None else candidate_dirs()
    for folder in folders:
        if (folder / file_name).is_file():
            return folder / file_name
    where = "\n  ".join(str(f) for f in folders)
    hint = (
        "pass path= the folder that holds it"
        if path is not None
        else f"set the environment variable {ENV_VAR} to the folder that holds it, or pass path="
    )
    raise FileNotFoundError(
        f"{caller} needs {file_name!r}, which was not found. Looked in:\n  {where}\nTo fix: {hint}."
    )


@contextmanager
def _quiet_reads() -> Iterator[None]:
    """Silence the format warnings of these fixed, known files (they say nothing about the data)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ad.OldFormatWarning)
        warnings.filterwarnings(
            "ignore", message="Moving element from .uns", category=FutureWarning
        )
        warnings.filterwarnings("ignore", message="The HDF5 file was not created by muon")
        yield


def _counts_to_x(adata: ad.AnnData) -> ad.AnnData:
    """Move ``layers['counts']`` to X (CSR float32) and keep the old X as layers['normalized']."""
    if "counts" not in adata.layers:
        raise ValueError(f"Expected layers['counts'] in this file; found {list(adata.layers)}.")
    counts = sp.csr_matrix(adata.layers["counts"], dtype=np.float32)
    normalized = sp.csr_matrix(adata.X)
    return ad.AnnData(
        X=counts,
        obs=adata.obs.copy(),
        var=adata.var.copy(),
        uns=dict(adata.uns),
        layers={"normalized": normalized},
    )


def _load_paired_h5ad(files: list[Path], mod_names: tuple[str, str]) -> md.MuData:
    with _quiet_reads():
        mods = {
            name: _counts_to_x(ad.read_h5ad(f)) for name, f in zip(mod_names, files, strict=True)
        }
    with warnings.catch_warnings():  # gene and protein names overlap; documented in load_shared
        warnings.filterwarnings("ignore", message="var_names are not unique")
        return build_mudata(mods)


def _load_h5mu(files: list[Path]) -> md.MuData:
    with _quiet_reads():
        mdata = read_h5mu(files[0])
    return finalise_mudata(mdata)


def _load_pbmc_multiome(files: list[Path]) -> md.MuData:
    with _quiet_reads():
        mdata = read_h5mu(files[0])
    fragments = files[0].parent / _FRAGMENTS_FILE
    if fragments.is_file():
        mdata.mod["atac"].uns.setdefault("files", {})["fragments"] = str(fragments)
    return finalise_mudata(mdata)


def _load_kang(files: list[Path]) -> ad.AnnData:
    with _quiet_reads():
        return ad.read_h5ad(files[0])


_LOADERS: dict[str, Callable[[list[Path]], md.MuData | ad.AnnData]] = {
    "snareseq": _load_h5mu,
    "bmmc_multiome": lambda files: _load_paired_h5ad(files, ("rna", "atac")),
    "bmmc_cite": lambda files: _load_paired_h5ad(files, ("rna", "adt")),
    "pbmc10k_cite": _load_h5mu,
    "pbmc_multiome": _load_pbmc_multiome,
    "kang": _load_kang,
}


@overload
def load_shared(name: Literal["kang"], *, path: str | Path | None = None) -> ad.AnnData: ...
@overload
def load_shared(name: str, *, path: str | Path | None = None) -> md.MuData: ...
def load_shared(name: str, *, path: str | Path | None = None) -> md.MuData | ad.AnnData:
    """Load one of the real datasets of the shared data folder.

    Every MuData returned holds the same cells in the same order in all its modalities; its
    global ``obs`` holds the per-modality columns prefixed (``"rna:cell_type"``, mudata 0.3
    style) and, for columns identical in all modalities, also unprefixed (``"cell_type"``).
    Each call returns a fresh object.

    ``"snareseq"``
        SNARE-seq adult mouse cortex (Chen et al. 2019), MuData as stored: 10,309 cells,
        ``rna`` 1,677 genes and ``atac`` 25,734 peaks (``chr1_4914570_4914685``, var
        ``chrom``/``start``/``end``), raw counts in X (float32 CSR). obs ``cell_type`` (23),
        ``cell_type_coarse`` (15), ``library``, ``Barcode``.
    ``"bmmc_multiome"``
        NeurIPS 2021 BMMC Multiome starter, 500 cells: ``rna`` 600 genes, ``atac`` 600 peaks
        (``chr1-1677585-1678477``), built from the two h5ad files. **X holds the raw counts**
        (taken from the files' ``layers['counts']``, CSR float32); the files' X is kept as
        ``layers['normalized']`` (log-normalised for RNA, binarised for ATAC). obs
        ``cell_type`` (21), ``batch``, ``is_train``, pseudotime columns.
    ``"bmmc_cite"``
        NeurIPS 2021 BMMC CITE-seq starter, 600 cells: ``rna`` 1,000 genes, ``adt`` 134
        proteins; counts moved to X and the files' normalised X to ``layers['normalized']``
        as for ``"bmmc_multiome"``. obs ``cell_type`` (41), ``batch``, ``is_train``. Five
        protein names equal gene names (CD44, CD52, CD63, CD93, HLA-E), so the global
        ``mdata.var_names`` are not unique; they are kept as stored (use ``mdata.mod[...]``, or
        ``mdata.var_names_make_unique()`` on the result if needed).
    ``"pbmc10k_cite"``
        10x PBMC 10k CITE-seq (scMDC's 1000-gene version), MuData as stored: 6,661 cells,
        ``rna`` 1,000 genes named ``gene0000``… (var ``inferred_symbol`` holds a symbol where
        one could be matched, else empty) and ``prot`` 14 proteins (``CD3_TotalSeqB``…), both
        raw counts (float32 CSR). obs ``cluster_label``: scMDC's unnamed integer clusters, no
        cell-type names. Note the protein modality is named ``prot``, not ``adt``.
    ``"pbmc_multiome"``
        muon's 10x PBMC Multiome test file, 1,000 cells: ``atac`` 174 peaks
        (``chr1:100350982-100353664``) and ``rna`` 45 genes, raw counts, no cell-type labels.
        When the fragments file sits beside it, ``mod['atac'].uns['files']['fragments']`` is
        repointed to it (the stored path is muon's test path).
    ``"kang"``
        Kang et al. 2018 IFN-β PBMC (scGen ``valid_pbmc``), an **AnnData**: 1,975 cells ×
        6,998 genes, log-normalised (not counts). obs ``condition`` (control / stimulated) and
        ``cell_type`` (7).

    Parameters
    ----------
    name
        One of the names above (see `list_shared` for those present).
    path
        Folder holding the files; by default the folders of `candidate_dirs` are searched
        (``$BUTTERFLYVI_SHARED_DATA`` first).

    Returns
    -------
    MuData, or AnnData for ``"kang"``.

    Raises
    ------
    ValueError
        If ``name`` is unknown.
    FileNotFoundError
        If a file of the dataset is missing; the message lists the folders searched.

    """
    if name not in SHARED_FILES:
        raise ValueError(f"name: expected one of {list(SHARED_FILES)}, found {name!r}.")
    files = [_locate(f, path=path, caller=f"load_shared({name!r})") for f in SHARED_FILES[name]]
    return _LOADERS[name](files)
