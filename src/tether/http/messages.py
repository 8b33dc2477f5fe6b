"""HTTP/1.1 messages without I/O: the request as parsed, its limits, a rendered response."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from sys import intern
from typing import Final
from urllib.parse import parse_qsl

#: Response or request headers, in order, as (name, value).
Headers = list[tuple[str, str]]

TEXT_PLAIN: Final[Headers] = [("Content-Type", "text/plain; charset=UTF-8")]
TEXT_HTML: Final[Headers] = [("Content-Type", "text/html")]
JSON: Final[Headers] = [("Content-Type", "application/json")]


#: ``sys.intern``, Final: compiled code holds it in a C variable (a module global would be
#: looked up in the module's dict on every call).
_intern: Final = intern


def share(text: str) -> str:
    # A string of one character is CPython's own shared one already.
    return _intern(text) if 1 < len(text) <= 64 else text


def parse_query(qs: str) -> dict[str, str]:
    """``dict(parse_qsl(qs))``, split by hand when nothing needs unquoting (Engine.IO's
    queries never do): pairs without a value are left out, the last of a repeated key wins."""
    if "%" in qs or "+" in qs:
        return {share(k): share(v) for k, v in parse_qsl(qs)}
    # By index: no list of pairs, no tuple per pair.
    query: dict[str, str] = {}
    end = len(qs)
    start = 0
    while start <= end:
        stop = qs.find("&", start)
        if stop < 0:
            stop = end
        equals = qs.find("=", start, stop)
        if 0 <= equals < stop - 1:
            value = qs[equals + 1 : stop]
            query[share(qs[start:equals])] = share(value) if len(value) <= 16 else value
        start = stop + 1
    return query


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Limits on what one HTTP connection may send and how long it may take.

    Attributes:
        max_url: longest request target, in bytes (414 past it).
        max_header_bytes: total size of the header block (431 past it).
        max_headers: number of header lines (431 past it).
        max_body: largest request body (413 past it); the Engine.IO server sets this to
            ``max_http_buffer_size``.
        request_timeout: seconds a request may take to arrive completely (408 past it).
        keep_alive_timeout: seconds an idle keep-alive connection is kept open.
        keep_alive: whether to keep connections open between requests at all.
        max_write_buffer: bytes queued for one slow reader before its connection is closed.
        close_timeout: seconds a closing connection may take to drain before it is aborted
            (a peer that stops reading cannot hold a connection open).
        heap_trim_threshold: not a limit on a connection but on the process: bytes of freed
            memory glibc keeps at the top of its heap (``mallopt(M_TRIM_THRESHOLD)``) in a
            process the native server runs (``io.run``, ``tether serve``, each worker), instead
            of shrinking and regrowing the heap around every message of tens of KiB. 0: glibc's
            own (128 KiB); ``MALLOC_TRIM_THRESHOLD_`` in the environment wins; no effect
            elsewhere than glibc, nor under an ASGI server.
    """

    max_url: int = 8 * 1024
    max_header_bytes: int = 16 * 1024
    max_headers: int = 100
    max_body: int = 1_000_000
    request_timeout: float = 20.0
    keep_alive_timeout: float = 5.0
    keep_alive: bool = True
    max_write_buffer: int = 8 * 1024 * 1024
    close_timeout: float = 10.0
    heap_trim_threshold: int = 16 * 1024 * 1024


class Request:
    """One parsed HTTP request."""

    __slots__ = (
        "body",
        "client",
        "headers",
        "keep_alive",
        "method",
        "path",
        "query",
        "query_string",
        "scheme",
    )

    def __init__(
        self,
        method: str,
        target: bytes,
        headers: dict[str, str],
        body: bytes,
        client: tuple[str, int] | None,
        scheme: str,
        keep_alive: bool,
    ) -> None:
        self.method = method
        path, _, qs = target.partition(b"?")
        # Short strings are interned: most requests repeat them, and a WebSocket's request is
        # kept as long as its connection (mortal interning: nothing outlives its users).
        self.path = share(path.decode("latin-1"))
        self.query_string = share(qs.decode("latin-1"))
        self.query: dict[str, str] = parse_query(self.query_string) if qs else {}
        self.headers = headers
        self.body = body
        self.client = client
        self.scheme = scheme
        self.keep_alive = keep_alive


_REASONS: Final = {s.value: s.phrase.encode() for s in HTTPStatus}


def render_response(status: int, headers: Headers, body: bytes, keep_alive: bool) -> bytes:
    """The bytes of a complete HTTP/1.1 response."""
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Unknown"))]
    lines.extend(b"%s: %s\r\n" % (k.encode("latin-1"), v.encode("latin-1")) for k, v in headers)
    lines.append(b"Content-Length: %d\r\n" % len(body))
    if not keep_alive:
        lines.append(b"Connection: close\r\n")
    lines.append(b"\r\n")
    lines.append(body)
    return b"".join(lines)
