"""Importing :mod:`scvi.hub` safely, and checking URLs as it does (without a request)."""

from __future__ import annotations

import re
from types import ModuleType

#: scvi-tools' URL format check (``scvi/hub/_url.py::validate_url``), without its HTTP request.
_URL = re.compile(
    r"^(?:http|ftp)s?://"
    r"(?:(?:[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?\.)+(?:[A-Z]{2,6}\.?|[A-Z0-9-]{2,}\.?)|"
    r"localhost|"
    r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})"
    r"(?::\d+)?"
    r"(?:/?|[/?]\S+)$",
    re.IGNORECASE,
)


def scvi_hub() -> ModuleType:
    """Return :mod:`scvi.hub`, with a clear error when its dependencies are missing.

    ``rich.pretty`` is imported first: with rich 15 it is no longer imported by ``import rich``,
    and scvi-tools 1.4's ``view_anndata_setup`` calls ``rich.pretty.pprint``.
    """
    import rich.pretty  # noqa: F401

    try:
        import scvi.hub
    except ImportError as error:  # huggingface_hub or requests missing
        raise ImportError(
            "scvi-hub needs the optional dependencies huggingface_hub and requests; install "
            f"them with `pip install 'butterflyvi[hub]'` ({error})."
        ) from error
    return scvi.hub


def check_url(url: str | None, *, argument: str) -> None:
    """Refuse a URL that scvi-tools' ``HubMetadata`` would refuse (format only, no request)."""
    if url is not None and (not isinstance(url, str) or _URL.match(url) is None):
        raise ValueError(f"{argument}: expected an http(s) or ftp URL, found {url!r}.")
