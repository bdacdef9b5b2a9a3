"""Outgoing requests to user-given addresses (webhooks, uploads by link): http(s) only, and
no private, loopback or link-local address unless the portal allows them.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class AddressRefused(ValueError):
    """A URL the portal will not contact."""


def check_url(url: str, *, allow_private: bool, argument: str = "url") -> str:
    """``url`` if it is http(s) and every address its host resolves to is public (or
    ``allow_private``); else :class:`AddressRefused` naming the argument.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused(f"{argument}: expected an http(s) URL with a host, found {url!r}.")
    if allow_private:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise AddressRefused(
            f"{argument}: expected a host name that resolves, found {parts.hostname!r}."
        ) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise AddressRefused(
                f"{argument}: expected a public address, found {parts.hostname!r} at "
                f"{address} (private, loopback or link-local; the portal administrator can "
                "allow them with --allow-private-urls)."
            )
    return url
