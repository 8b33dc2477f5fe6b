"""Engine.IO server settings, named and defaulted like Node's ``engine.io``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tether.http.cors import CorsOptions

#: ``allow_request(request) -> None | str``: return (or resolve to) an error message to refuse
#: the handshake with 403, ``None`` to accept it. May be sync or async.
__all__ = ["AllowRequest", "CorsOptions", "EngineOptions"]

AllowRequest = Callable[[Any], "str | Awaitable[str | None] | None"]


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Settings of an Engine.IO server (Node's names, in snake case; durations in seconds).

    Attributes:
        path: where the server answers (``/engine.io/`` for a bare Engine.IO server,
            ``/socket.io/`` under Socket.IO).
        ping_interval: the server pings each session this often.
        ping_timeout: a session whose pong is this late is closed with ``ping timeout``.
        upgrade_timeout: time a started upgrade may take before the WebSocket is dropped.
        max_http_buffer_size: the largest message or POST body, in bytes (the ``maxPayload``
            announced in the handshake). A larger WebSocket message closes with 1009, a larger
            POST gets 413 and closes the session.
        transports: allowed transports.
        allow_upgrades: whether polling sessions may upgrade to WebSocket.
        cors: cross-origin access (see :class:`CorsOptions`). WebSocket origins are checked
            the same way: a browser origin that is neither allowed nor same-origin gets 403.
        allow_request: hook to refuse a handshake (see :data:`AllowRequest`).
        cookie: name of a cookie holding the sid set on the handshake, or ``None``.
        http_compression: gzip/deflate polling answers larger than ``compression_threshold``.
        compression_threshold: bytes.
        per_message_deflate: enable WebSocket permessage-deflate (RFC 7692). Off by default.
        max_write_buffer: bytes queued for a slow reader before its session is closed.
        close_timeout: seconds a closing polling session waits for the GET that carries its
            close packet.
        allow_eio3: also accept clients of Engine.IO v3 (``EIO=3``: Socket.IO v2 clients,
            as Node's ``allowEIO3``). Off: they get 400 "Unsupported protocol version".
            JSONP polling (``j=``) is not supported (400); a cluster engine cannot be used
            with it.
    """

    path: str = "/engine.io/"
    ping_interval: float = 25.0
    ping_timeout: float = 20.0
    upgrade_timeout: float = 10.0
    max_http_buffer_size: int = 1_000_000
    transports: tuple[str, ...] = ("polling", "websocket")
    allow_upgrades: bool = True
    cors: CorsOptions = field(default_factory=CorsOptions)
    allow_request: AllowRequest | None = None
    cookie: str | None = None
    http_compression: bool = True
    compression_threshold: int = 1024
    per_message_deflate: bool = False
    max_write_buffer: int = 8 * 1024 * 1024
    close_timeout: float = 30.0
    allow_eio3: bool = False
