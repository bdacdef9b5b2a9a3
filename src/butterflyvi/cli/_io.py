"""Reading and writing the files of the command line, with clear errors for bad paths."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import InputError

if TYPE_CHECKING:  # anndata and mudata are imported when needed: `--help` stays fast
    from anndata import AnnData
    from mudata import MuData

DATA_SUFFIXES = (".h5ad", ".h5mu")


def existing_file(path: str | Path, *, argument: str, suffixes: Sequence[str]) -> Path:
    """``path`` as a Path, refused unless it is an existing file with one of ``suffixes``."""
    path = Path(path)
    if path.suffix not in suffixes:
        raise InputError(
            f"{argument}: expected a file ending in {' or '.join(suffixes)}, found {str(path)!r}."
        )
    if not path.is_file():
        raise InputError(f"{argument}: file not found: {str(path)!r}.")
    return path


def existing_dir(path: str | Path, *, argument: str) -> Path:
    """``path`` as a Path, refused unless it is an existing directory."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{argument}: directory not found: {str(path)!r}.")
    return path


def output_file(
    path: str | Path, *, argument: str, suffixes: Sequence[str], overwrite: bool
) -> Path:
    """``path`` as a Path, checked before any work: suffix, parent folder, no silent overwrite."""
    path = Path(path)
    if path.suffix not in suffixes:
        raise InputError(
            f"{argument}: expected a file name ending in {' or '.join(suffixes)}, found "
            f"{str(path)!r}."
        )
    if path.exists() and not overwrite:
        raise InputError(
            f"{argument}: {str(path)!r} already exists; pass --overwrite to replace it."
        )
    if path.is_dir():
        raise InputError(f"{argument}: {str(path)!r} is a directory; expected a file name.")
    return path


def output_dir(path: str | Path, *, argument: str, overwrite: bool) -> Path:
    """``path`` as a Path; an existing non-empty directory is refused unless ``overwrite``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{argument}: {str(path)!r} exists and is not a directory.")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise InputError(
            f"{argument}: directory {str(path)!r} is not empty; pass --overwrite to replace "
            "its contents."
        )
    return path


def read_data(path: Path, *, argument: str = "IN") -> AnnData | MuData:
    """Read an ``.h5ad`` file as AnnData or an ``.h5mu`` file as MuData; a file that is not
    one (not HDF5, truncated, another layout) is an input error naming it (exit code 2).
    """
    import anndata
    import mudata

    kind = "MuData (.h5mu)" if path.suffix == ".h5mu" else "AnnData (.h5ad)"
    try:
        if path.suffix == ".h5mu":
            return mudata.read_h5mu(path)
        return anndata.read_h5ad(path)
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise InputError(
            f"{argument}: expected a readable {kind} file, found {str(path)!r}, which could not "
            f"be read ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})."
        ) from error


def modality(data: AnnData | MuData, name: str | None, *, argument: str) -> AnnData:
    """The modality ``name`` of a MuData (an AnnData is returned as it is)."""
    from anndata import AnnData

    if isinstance(data, AnnData):
        return data
    if name is None:
        raise InputError(
            f"{argument}: the file is a MuData; name the modality to use (it has {list(data.mod)})."
        )
    if name not in data.mod:
        raise InputError(
            f"{argument}: expected one of the file's modalities {list(data.mod)}, found {name!r}."
        )
    return data[name]
