"""Streaming multipart uploads to disk, with a size limit, never read whole into memory.

The uploaded file's name is kept only as text (for display and the download name); the
file is written to a path the portal chooses.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header

#: Largest non-file form field (bytes).
MAX_FIELD_BYTES = 64 * 1024
#: Suffixes an upload may have.
SUFFIXES = (".h5ad", ".h5mu")


class UploadError(Exception):
    """An upload the portal refuses; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Upload:
    """What a multipart request held: its form fields and the file written to disk."""

    fields: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    filename: str | None = None
    size: int = 0


def safe_filename(name: str | None) -> str:
    """A display name of an uploaded file: its last path component, harmless characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")
    return base[:120] or "upload"


def upload_suffix(filename: str | None) -> str:
    """``.h5ad`` or ``.h5mu`` from a file name, else refuse."""
    lowered = (filename or "").lower()
    for suffix in SUFFIXES:
        if lowered.endswith(suffix):
            return suffix
    raise UploadError(
        400, f"file: expected a .h5ad or .h5mu file, found {safe_filename(filename)!r}."
    )


async def receive(
    content_type: str | None,
    content_length: str | None,
    chunks: AsyncIterator[bytes],
    *,
    file_field: str,
    destination: Path,
    max_bytes: int,
    file_required: bool = True,
) -> Upload:
    """Parse a multipart body from ``chunks``, streaming ``file_field`` to ``destination``.

    Raises :class:`UploadError` with 413 as soon as the body exceeds ``max_bytes`` (or its
    declared length does), with 400 for a body that is not multipart or lacks the file (when
    ``file_required``; else ``path`` stays ``None``).
    """
    if content_length is not None and content_length.isdigit() and int(content_length) > max_bytes:
        raise UploadError(
            413, f"file: expected at most {max_bytes:,} bytes, found {int(content_length):,}."
        )
    kind, params = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise UploadError(400, "body: expected multipart/form-data, found another content type.")
    upload = Upload()
    state: dict = {"name": None, "filename": None, "header": b"", "value": b"", "headers": {}}
    values: dict[str, bytearray] = {}
    handle = {"file": None}
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["header"].lower()] = state["value"]
        state["header"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename")
        state["name"] = name
        if name == file_field and filename is not None:
            upload.filename = filename.decode("utf-8", "replace")
            handle["file"] = open(partial, "wb")
        else:
            values[name] = bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if handle["file"] is not None:
            handle["file"].write(data[start:end])
            upload.size += end - start
            return
        value = values[state["name"]]
        value += data[start:end]
        if len(value) > MAX_FIELD_BYTES:
            raise UploadError(413, f"{state['name']}: expected a short form field, found more.")

    def on_part_end() -> None:
        if handle["file"] is not None:
            handle["file"].close()
            handle["file"] = None
        state["headers"] = {}

    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > max_bytes:
                raise UploadError(413, f"file: expected at most {max_bytes:,} bytes, found more.")
            parser.write(chunk)
        parser.finalize()
    except UploadError:
        _discard(handle, partial)
        raise
    except Exception as error:  # a malformed body
        _discard(handle, partial)
        raise UploadError(400, f"body: expected a well-formed multipart body ({error}).") from None
    upload.fields = {k: bytes(v).decode("utf-8", "replace") for k, v in values.items()}
    if upload.filename is None or not partial.exists():
        _discard(handle, partial)
        if not file_required:
            return upload
        raise UploadError(400, f"{file_field}: expected an uploaded file, found none.")
    os.replace(partial, destination)
    upload.path = destination
    return upload


def _discard(handle: dict, partial: Path) -> None:
    if handle["file"] is not None:
        handle["file"].close()
        handle["file"] = None
    partial.unlink(missing_ok=True)


#: Redirects an upload by link may follow (each to a checked address).
MAX_REDIRECTS = 5


def fetch(
    url: str, destination: Path, *, max_bytes: int, allow_private: bool, timeout: float = 60.0
) -> Upload:
    """Stream the file at ``url`` (http/https) to ``destination`` with the upload's size limit.

    Every address, redirects included, must be public unless ``allow_private``; the file
    name (for its suffix and display) comes from ``Content-Disposition`` or the URL's path.
    """
    import httpx

    from ._urls import AddressRefused, check_url

    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            for _ in range(MAX_REDIRECTS + 1):
                check_url(url, allow_private=allow_private, argument="url")
                with client.stream(
                    "GET", url, headers={"User-Agent": "butterflyvi-portal"}
                ) as answer:
                    if answer.is_redirect:
                        url = str(answer.next_request.url) if answer.next_request else url
                        continue
                    if answer.status_code != 200:
                        raise UploadError(
                            422,
                            f"url: expected a file to download, found HTTP {answer.status_code}.",
                        )
                    declared = answer.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise UploadError(
                            413,
                            f"url: expected at most {max_bytes:,} bytes, found {int(declared):,}.",
                        )
                    size = _stream_to(answer, partial, max_bytes)
                    name = _name_of(answer, url)
                    break
            else:
                raise UploadError(
                    422, f"url: expected at most {MAX_REDIRECTS} redirects, found more."
                )
    except AddressRefused as refused:
        partial.unlink(missing_ok=True)
        raise UploadError(422, str(refused)) from None
    except httpx.HTTPError as error:
        partial.unlink(missing_ok=True)
        raise UploadError(
            422, f"url: expected a reachable file, found an error ({error})."
        ) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, destination)
    return Upload(path=destination, filename=name, size=size)


def _stream_to(answer, partial: Path, max_bytes: int) -> int:
    size = 0
    with open(partial, "wb") as out:
        for chunk in answer.iter_bytes(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                raise UploadError(413, f"url: expected at most {max_bytes:,} bytes, found more.")
            out.write(chunk)
    return size


def _name_of(answer, url: str) -> str:
    """The downloaded file's name: ``Content-Disposition``'s, else the URL path's last part."""
    from urllib.parse import unquote, urlsplit

    _, params = parse_options_header(answer.headers.get("content-disposition", ""))
    filename = params.get(b"filename")
    if filename:
        return filename.decode("utf-8", "replace")
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])
