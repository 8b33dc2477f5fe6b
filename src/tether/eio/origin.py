"""Same-origin test for browser requests (``Origin`` header against the request itself)."""

from __future__ import annotations

from typing import Final

__all__ = ["same_origin"]

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def _host_port(authority: str) -> tuple[str, int | None] | None:
    """``host[:port]`` (IPv6 literals in brackets) as a lower-case host and a port (``None``
    when absent or empty); ``None`` when it is malformed."""
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return None
        host, rest = authority[: end + 1], authority[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port = rest[1:]
    else:
        host, _, port = authority.partition(":")
        if ":" in port:  # an IPv6 literal without brackets
            return None
    if not host or any(c in host for c in "/?#@ \t"):
        return None
    if not port:
        return host.lower(), None
    if not (port.isascii() and port.isdigit() and len(port) <= 5 and int(port) <= 65535):
        return None
    return host.lower(), int(port)


def same_origin(origin: str, scheme: str, host: str) -> bool:
    """Whether a page from ``origin`` is on the server that got the request.

    ``scheme`` is the request's own (``"http"`` or ``"https"``), ``host`` its ``Host`` header.
    Scheme, host and port must all match: hosts compare case-insensitively, a missing port is
    the scheme's default (80, 443), IPv6 literals are written in brackets (``[::1]:3000``).
    An origin that is not ``scheme://host[:port]`` (``"null"``, one with a path) never matches.
    """
    origin_scheme, sep, authority = origin.partition("://")
    origin_scheme = origin_scheme.lower()
    scheme = scheme.lower()
    default = _DEFAULT_PORTS.get(scheme)
    if not sep or origin_scheme != scheme or default is None:
        return False
    theirs = _host_port(authority)
    ours = _host_port(host)
    if theirs is None or ours is None:
        return False
    their_port = default if theirs[1] is None else theirs[1]
    our_port = default if ours[1] is None else ours[1]
    return theirs[0] == ours[0] and their_port == our_port
