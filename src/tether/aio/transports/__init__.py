"""The Engine.IO transports, by the name a client asks for in ``?transport=`` (as
socket.io's ``transports/index.ts``).

A transport is a class implementing :class:`~tether.aio.transports.base.Transport`, built
with its session (and, for one that :attr:`handles_upgrades`, its WebSocket); one carried by
HTTP requests also implements :class:`~tether.aio.transports.base.RequestTransport`. The
engine validates requests, opens sessions, builds the open packet's ``upgrades`` and
switches transports through this table: a new transport or a protocol revision is a module
and an entry here.
"""

from __future__ import annotations

from tether.aio.transports.base import RequestTransport, Transport, TransportKind
from tether.aio.transports.polling import PollingTransport
from tether.aio.transports.v3 import TRANSPORTS_V3
from tether.aio.transports.websocket import WebSocketTransport

#: Every transport the engine knows, by name; ``EngineOptions.transports`` picks among them.
TRANSPORTS: dict[str, TransportKind] = {
    PollingTransport.name: PollingTransport,
    WebSocketTransport.name: WebSocketTransport,
}

__all__ = [
    "TRANSPORTS",
    "TRANSPORTS_V3",
    "PollingTransport",
    "RequestTransport",
    "Transport",
    "TransportKind",
    "WebSocketTransport",
]
