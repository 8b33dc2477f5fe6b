"""Sans-I/O WebSocket: RFC 6455 framing and handshake, RFC 7692 permessage-deflate.

Bytes go in, messages, events and frame bytes come out; nothing here touches a socket or a clock.

- :mod:`.frames`      opcodes, close codes, ``build_frame``, ``apply_mask``
- :mod:`.handshake`   the opening handshake on both sides
- :mod:`.deflate`     permessage-deflate negotiation and codec
- :mod:`.connection`  ``Connection``: the per-connection state machine
- :mod:`.events`      ``Ping``, ``Pong``, ``Close``, ``ConnectionFailed``
- :mod:`.errors`      the error tree
"""

from .connection import Connection, Side, State
from .deflate import DeflateOptions, DeflateParams
from .errors import HandshakeError, InvalidStateError, ProtocolError, WebSocketError
from .events import Close, ConnectionFailed, Event, Ping, Pong
from .frames import CloseCode, Opcode, apply_mask, build_frame
from .handshake import (
    ServerHandshake,
    accept_key,
    build_client_request,
    check_client_response,
    check_server_request,
)

__all__ = [
    "Close",
    "CloseCode",
    "Connection",
    "ConnectionFailed",
    "DeflateOptions",
    "DeflateParams",
    "Event",
    "HandshakeError",
    "InvalidStateError",
    "Opcode",
    "Ping",
    "Pong",
    "ProtocolError",
    "ServerHandshake",
    "Side",
    "State",
    "WebSocketError",
    "accept_key",
    "apply_mask",
    "build_client_request",
    "build_frame",
    "check_client_response",
    "check_server_request",
]
