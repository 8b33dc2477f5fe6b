"""Cross-origin access for browser requests: the settings (:class:`CorsOptions`), the
same-origin test (``Origin`` against the request itself) and the headers of answers and
preflights. Plain functions, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from tether.http.messages import Headers

__all__ = ["CorsOptions", "cors_headers", "preflight_headers", "same_origin"]

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


@dataclass(frozen=True, slots=True)
class CorsOptions:
    """Cross-origin access. Default: none (only same-origin pages and non-browser clients).

    Same origin means the scheme, host and port of the ``Origin`` header are the request's
    own (:func:`tether.http.cors.same_origin`). Behind a proxy that terminates TLS the
    server sees ``http`` while pages are on ``https``: list their origin in ``origins``.

    Attributes:
        origins: allowed origins (``"https://example.com"``), or ``"*"`` for any.
        credentials: send ``Access-Control-Allow-Credentials: true`` (the origin is echoed).
        max_age: seconds a browser may cache a preflight answer.
    """

    origins: Sequence[str] | str = ()
    credentials: bool = False
    max_age: int = 86400

    def allows(self, origin: str) -> bool:
        """Whether a page from ``origin`` may talk to this server."""
        origins = self.origins
        if isinstance(origins, str):  # one origin, or "*"
            return origins == "*" or origin == origins
        return origin in origins


def cors_headers(cors: CorsOptions, origin: str) -> Headers:
    """The ``Access-Control-*`` headers of an answer to a page from ``origin`` (none when
    ``origin`` is not allowed)."""
    if not cors.allows(origin):
        return []
    if cors.origins == "*" and not cors.credentials:
        headers = [("Access-Control-Allow-Origin", "*")]
    else:
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    if cors.credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    return headers


def preflight_headers(cors: CorsOptions, origin: str | None, asked: str | None) -> Headers:
    """The headers of the 204 answer to an ``OPTIONS`` preflight (``asked``: its
    ``Access-Control-Request-Headers``); none when ``origin`` is not allowed."""
    if origin is None or not cors.allows(origin):
        return []
    headers = cors_headers(cors, origin)
    headers.append(("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE"))
    if asked:
        headers.append(("Access-Control-Allow-Headers", asked))
    headers.append(("Access-Control-Max-Age", str(cors.max_age)))
    return headers
