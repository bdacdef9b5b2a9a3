"""Downloading a file once into a cache, with its SHA-256 checked before it is used."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

from .._validation import ChecksumError
from ._sources import Source

#: Environment variable of the download cache (default ``~/.cache/butterflyvi/datasets``).
CACHE_ENV_VAR = "BUTTERFLYVI_CACHE"
_CHUNK = 1 << 20


def cache_dir() -> Path:
    """The folder where downloaded and derived datasets are kept."""
    env = os.environ.get(CACHE_ENV_VAR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "butterflyvi" / "datasets"


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str, *, what: str) -> None:
    """Refuse a file whose SHA-256 differs from ``expected``."""
    found = sha256_of(path)
    if found != expected:
        raise ChecksumError(
            f"{what}: expected SHA-256 {expected}, found {found} for {path}. The file is "
            "damaged or not the recorded one; delete it to download it again."
        )


def download(source: Source, folder: Path, *, timeout: float = 60.0) -> Path:
    """``source`` in ``folder``: downloaded unless a verified copy is already there.

    The file is written to a temporary name and renamed only after its checksum matched, so
    an interrupted or corrupted download never leaves a file that looks complete.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.file_name
    if target.is_file():
        check_sha256(target, source.sha256, what=source.file_name)
        return target
    print(f"butterflyvi: downloading {source.url}", flush=True)
    handle, partial = tempfile.mkstemp(dir=folder, prefix=f".{source.file_name}.")
    try:
        with (
            os.fdopen(handle, "wb") as out,
            urllib.request.urlopen(source.url, timeout=timeout) as response,
        ):
            shutil.copyfileobj(response, out, _CHUNK)
        check_sha256(Path(partial), source.sha256, what=f"download of {source.url}")
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return target
