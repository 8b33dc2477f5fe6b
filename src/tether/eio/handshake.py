"""Which Engine.IO request is this? Query validation and the open packet, without I/O."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeAlias

import orjson

from tether.eio.errors import ErrorCode, RequestError


class RequestKind(enum.Enum):
    """The four kinds of Engine.IO request."""

    HANDSHAKE = "handshake"  # no sid: open a session (GET polling, or a WebSocket upgrade)
    POLL = "poll"  # GET with a sid: wait for packets
    POST = "post"  # POST with a sid: packets from the client
    UPGRADE = "upgrade"  # WebSocket with a sid: upgrade an existing polling session


#: A validated request: its kind, transport and session id (``""`` for a handshake). A plain
#: tuple: the compiled build returns it without allocating (a NamedTuple is built by
#: interpreted code, which cost more than the rest of :func:`route`).
Route: TypeAlias = tuple[RequestKind, str, str]


def route(
    method: str,
    query: Mapping[str, str],
    is_upgrade: bool,
    transports: Mapping[str, bool],
    allow_eio3: bool = False,
) -> Route:
    """Validate an Engine.IO request and say what it asks for: ``(kind, transport, sid)``.

    ``transports`` maps each allowed transport's name to whether it is opened by an HTTP
    Upgrade (WebSocket) rather than plain requests (polling).

    ``EIO=3`` (Engine.IO v3, Socket.IO v2 clients) is accepted only with ``allow_eio3``.

    Raises :class:`RequestError` with the code Node answers with: unsupported ``EIO``,
    unknown or disabled transport, an upgrade transport without an upgrade (or the reverse),
    a method that doesn't fit.
    """
    eio = query.get("EIO")
    if eio != "4":
        if not (allow_eio3 and eio == "3"):
            raise RequestError(ErrorCode.UNSUPPORTED_PROTOCOL_VERSION)
        if "j" in query:
            raise RequestError(ErrorCode.BAD_REQUEST, detail="JSONP polling is not supported")
    transport = query.get("transport", "")
    by_upgrade = transports.get(transport)
    if by_upgrade is None:
        raise RequestError(ErrorCode.UNKNOWN_TRANSPORT)
    sid = query.get("sid", "")
    if by_upgrade:
        if not is_upgrade:
            raise RequestError(
                ErrorCode.BAD_REQUEST, detail=f"{transport} transport without upgrade"
            )
        if method != "GET":
            raise RequestError(ErrorCode.BAD_HANDSHAKE_METHOD)
        return (RequestKind.UPGRADE if sid else RequestKind.HANDSHAKE, transport, sid)
    if is_upgrade:
        raise RequestError(ErrorCode.BAD_REQUEST, detail=f"upgrade on the {transport} transport")
    if not sid:
        if method != "GET":
            raise RequestError(ErrorCode.BAD_HANDSHAKE_METHOD)
        return (RequestKind.HANDSHAKE, transport, "")
    if method == "GET":
        return (RequestKind.POLL, transport, sid)
    if method == "POST":
        return (RequestKind.POST, transport, sid)
    raise RequestError(ErrorCode.BAD_REQUEST, detail=f"method {method} on a session")


def open_packet(
    sid: str, upgrades: list[str], ping_interval: float, ping_timeout: float, max_payload: int
) -> str:
    """The open packet (``0{...}``) that starts a session; intervals in seconds."""
    return (
        "0"
        + orjson.dumps(
            {
                "sid": sid,
                "upgrades": upgrades,
                "pingInterval": round(ping_interval * 1000),
                "pingTimeout": round(ping_timeout * 1000),
                "maxPayload": max_payload,
            }
        ).decode()
    )
