"""RFC 6455 section 4: the opening handshake, on bytes and header mappings.

Header mappings have lower-cased names, and a header repeated in the request is one entry with
its values joined by ``", "`` (the way the asyncio layer's HTTP parser hands them over).

Server side::

    try:
        hs = check_server_request(method, headers, deflate=options)
    except HandshakeError as exc:
        transport.write(exc.response_bytes())
    else:
        transport.write(hs.response_bytes())
        conn = Connection(Side.SERVER, deflate=hs.deflate)

Client side: send the bytes from :func:`build_client_request`, parse the response head, then
``params = check_client_response(status, headers, key, deflate=options)``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import os
from collections.abc import Iterable, Mapping

from .deflate import DeflateOptions, DeflateParams, accept_offer, build_offer, check_response
from .errors import HandshakeError

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
VERSION = "13"


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` value for a ``Sec-WebSocket-Key`` (RFC 6455 section 4.2.2)."""
    digest = hashlib.sha1((key + GUID).encode("ascii"), usedforsecurity=False).digest()
    return binascii.b2a_base64(digest, newline=False).decode("ascii")


def _has_token(value: str | None, token: str) -> bool:
    """Whether the comma-separated header ``value`` lists ``token`` (lower case), in any case."""
    if not value:
        return False
    if value.lower() == token:  # the usual value, one token: no split
        return True
    return any(part.strip().lower() == token for part in value.split(","))


@dataclasses.dataclass(frozen=True, slots=True)
class ServerHandshake:
    """An accepted upgrade request: what to answer with and what was negotiated."""

    accept: str
    headers: list[tuple[str, str]]
    deflate: DeflateParams | None

    def response_bytes(self, extra_headers: Iterable[tuple[str, str]] = ()) -> bytes:
        """The complete ``101 Switching Protocols`` response head."""
        lines = ["HTTP/1.1 101 Switching Protocols"]
        lines.extend(f"{name}: {value}" for name, value in self.headers)
        for name, value in extra_headers:
            _check_header(name, value)
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def check_server_request(
    method: str, headers: Mapping[str, str], *, deflate: DeflateOptions | None
) -> ServerHandshake:
    """Validate a client's upgrade request (RFC 6455 section 4.2.1).

    ``deflate`` is the server's permessage-deflate policy, ``None`` to never compress.
    Raises ``HandshakeError`` with the HTTP status to refuse with: 405 for a method other than
    GET, 426 for a missing upgrade or a version other than 13, 400 for a bad key or a malformed
    extensions header.
    """
    accept, response, params = server_answer(method, headers, deflate=deflate)
    return ServerHandshake(accept, response, params)


def server_answer(
    method: str, headers: Mapping[str, str], *, deflate: DeflateOptions | None
) -> tuple[str, list[tuple[str, str]], DeflateParams | None]:
    """:func:`check_server_request`'s answer as a tuple (``accept``, ``headers``, ``deflate``),
    without the :class:`ServerHandshake` (a frozen dataclass, costly to make) the asyncio layer
    has no use for."""
    if method != "GET":
        raise HandshakeError("WebSocket upgrades use GET", status=405, headers=[("Allow", "GET")])
    upgrade_headers = [("Upgrade", "websocket"), ("Connection", "Upgrade")]
    if not _has_token(headers.get("upgrade"), "websocket"):
        raise HandshakeError("missing Upgrade: websocket", status=426, headers=upgrade_headers)
    if not _has_token(headers.get("connection"), "upgrade"):
        raise HandshakeError("missing Connection: Upgrade", status=426, headers=upgrade_headers)
    if headers.get("sec-websocket-version", "").strip() != VERSION:
        raise HandshakeError(
            "unsupported WebSocket version",
            status=426,
            headers=[("Sec-WebSocket-Version", VERSION)],
        )
    key = headers.get("sec-websocket-key", "").strip()
    try:
        # base64.b64decode(validate=True), without its Python wrapper
        raw = binascii.a2b_base64(key.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raw = b""
    if len(raw) != 16:
        raise HandshakeError("invalid Sec-WebSocket-Key", status=400)
    accept = accept_key(key)
    response = [*upgrade_headers, ("Sec-WebSocket-Accept", accept)]
    params: DeflateParams | None = None
    offer = headers.get("sec-websocket-extensions")
    if deflate is not None and offer:
        try:
            accepted = accept_offer(offer, deflate)
        except ValueError as exc:
            raise HandshakeError(f"invalid Sec-WebSocket-Extensions: {exc}", status=400) from None
        if accepted is not None:
            value, params = accepted
            response.append(("Sec-WebSocket-Extensions", value))
    return accept, response, params


def _check_header(name: str, value: str) -> None:
    if any(c in name or c in value for c in "\r\n\0") or not name:
        raise ValueError(f"invalid header {name!r}")


def build_client_request(
    host: str,
    path: str,
    *,
    headers: Iterable[tuple[str, str]] = (),
    deflate: DeflateOptions | None = None,
) -> tuple[bytes, str]:
    """The upgrade request head and the random ``Sec-WebSocket-Key`` it carries.

    ``host`` is the Host header value (with the port when it is not the default), ``path``
    the request target (path and query).  Raises ``ValueError`` for CR/LF in any value.
    """
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    fields = [
        ("Host", host),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", VERSION),
    ]
    if deflate is not None:
        fields.append(("Sec-WebSocket-Extensions", build_offer(deflate)))
    fields.extend(headers)
    _check_header("path", path)
    if not path.startswith("/") or " " in path:
        raise ValueError(f"invalid request path {path!r}")
    lines = [f"GET {path} HTTP/1.1"]
    for name, value in fields:
        _check_header(name, value)
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), key


def check_client_response(
    status: int, headers: Mapping[str, str], key: str, deflate: DeflateOptions | None = None
) -> DeflateParams | None:
    """Validate the server's answer to :func:`build_client_request` (RFC 6455 section 4.1).

    Returns the negotiated permessage-deflate parameters (``None``: uncompressed).  Raises
    ``HandshakeError`` (``status`` is the one received) when the upgrade was refused or the
    response does not match the request.
    """
    if status != 101:
        raise HandshakeError(f"the server answered {status} instead of 101", status=status)
    if not _has_token(headers.get("upgrade"), "websocket"):
        raise HandshakeError("missing Upgrade: websocket in the response", status=status)
    if not _has_token(headers.get("connection"), "upgrade"):
        raise HandshakeError("missing Connection: Upgrade in the response", status=status)
    if headers.get("sec-websocket-accept", "").strip() != accept_key(key):
        raise HandshakeError("wrong Sec-WebSocket-Accept", status=status)
    answer = headers.get("sec-websocket-extensions")
    if not answer:
        return None
    if deflate is None:
        raise HandshakeError("the server accepted extensions that were not offered", status=status)
    try:
        return check_response(answer, deflate)
    except ValueError as exc:
        raise HandshakeError(f"invalid Sec-WebSocket-Extensions: {exc}", status=status) from None
