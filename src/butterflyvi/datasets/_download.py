"""Downloading a file once into a cache, with its SHA-256 checked before it is used
(pooch's ``retrieve`` and ``file_hash``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .._validation import ChecksumError
from ._sources import Source

#: Environment variable of the download cache (default ``~/.cache/butterflyvi/datasets``).
CACHE_ENV_VAR = "BUTTERFLYVI_CACHE"


def cache_dir() -> Path:
    """The folder where downloaded and derived datasets are kept."""
    env = os.environ.get(CACHE_ENV_VAR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "butterflyvi" / "datasets"


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 of a file (read in chunks)."""
    import pooch

    return pooch.file_hash(os.fspath(path), alg="sha256")


def check_sha256(path: Path, expected: str, *, what: str) -> None:
    """Refuse a file whose SHA-256 differs from ``expected``."""
    found = sha256_of(path)
    if found != expected.lower():
        raise ChecksumError(
            f"{what}: expected SHA-256 {expected}, found {found} for {path}. The file is "
            "damaged or not the recorded one; delete it to download it again."
        )


def fetch_url(
    url: str,
    folder: str | os.PathLike,
    file_name: str,
    *,
    sha256: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """``url`` downloaded to ``folder/file_name`` (with a timeout), checked against ``sha256``
    when given before it takes its name: an interrupted or corrupted download never leaves a
    file that looks complete.
    """
    import pooch

    Path(folder).mkdir(parents=True, exist_ok=True)
    print(f"butterflyvi: downloading {url}", flush=True)
    try:
        path = pooch.retrieve(
            url,
            known_hash=None if sha256 is None else f"sha256:{sha256.lower()}",
            fname=file_name,
            path=folder,
            downloader=pooch.HTTPDownloader(timeout=timeout, progressbar=False),
        )
    except ValueError as error:  # pooch's checksum mismatch
        raise ChecksumError(
            f"download of {url}: expected SHA-256 {sha256}, found another ({error}); the "
            "file was not kept."
        ) from None
    return Path(path)


def download(source: Source, folder: Path, *, timeout: float = 60.0) -> Path:
    """``source`` in ``folder``: downloaded unless a verified copy is already there."""
    target = folder / source.file_name
    if target.is_file():
        check_sha256(target, source.sha256, what=source.file_name)
        return target
    return fetch_url(source.url, folder, source.file_name, sha256=source.sha256, timeout=timeout)
