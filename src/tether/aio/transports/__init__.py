"""The Engine.IO transports, by the name a client asks for in ``?transport=``.

A new transport (or a revision of one) is a module here implementing
:class:`~tether.aio.transports.base.Transport` and an entry in :data:`TRANSPORTS`; the
engine validates requests, builds the open packet's ``upgrades`` and dispatches through this
table.
"""

from __future__ import annotations

from tether.aio.transports.base import Transport
from tether.aio.transports.polling import PollingTransport
from tether.aio.transports.websocket import WebSocketTransport

#: Every transport the engine knows, by name; ``EngineOptions.transports`` picks among them.
TRANSPORTS: dict[str, type[PollingTransport] | type[WebSocketTransport]] = {
    PollingTransport.name: PollingTransport,
    WebSocketTransport.name: WebSocketTransport,
}

__all__ = ["TRANSPORTS", "PollingTransport", "Transport", "WebSocketTransport"]
