"""What the Engine.IO session needs of a transport (Node's ``Transport``).

A transport carries one session's packets over one kind of connection. The session
(:class:`~tether.aio.engine_socket.EngineSocket`) sends through :meth:`Transport.send` and
friends without knowing which transport it has; each transport hands what it receives to the
session's ``on_text`` / ``on_binary`` and tells it when the connection is gone.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar, Protocol

from tether.eio.encoded import Encoded
from tether.eio.session import Session
from tether.http.exchange import Responder
from tether.http.messages import Headers


class Transport(Protocol):
    """One session's transport: polling requests, or a WebSocket."""

    #: The ``transport`` query value that selects it.
    name: ClassVar[str]
    #: True when it is opened by an HTTP Upgrade rather than plain requests.
    handles_upgrades: ClassVar[bool]
    #: The transports a session on this one may upgrade to (the open packet's ``upgrades``).
    upgrades_to: ClassVar[tuple[str, ...]]

    @property
    def writable(self) -> bool:
        """Whether a packet sent now goes out at once (volatile packets are dropped if not)."""

    def send(self, packet: str | bytes) -> None:
        """Send an encoded Engine.IO packet (``"4hello"``, ``"2"``), or a binary message."""

    def send_many(self, packets: list[str | bytes]) -> None:
        """Send several packets in order (a Socket.IO packet and its attachments)."""

    def send_encoded(self, encoded: Encoded) -> None:
        """Send a packet encoded once for many sessions."""

    def send_ping(self) -> None:
        """Send the heartbeat's ping, and tell the session when it is delivered."""

    def close(self) -> None:
        """The session closed: end the transport as its close reason asks."""


class TransportOwner(Protocol):
    """What a transport needs of the session it carries."""

    session: Session

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the session runs on."""

    def on_text(self, text: str) -> None:
        """A text packet arrived."""

    def on_binary(self, data: bytes) -> None:
        """A binary message arrived."""

    def close_now(self, reason: str) -> None:
        """Close the session with ``reason``."""

    def answer(self, responder: Responder, status: int, headers: Headers, body: bytes) -> None:
        """Answer an HTTP request (with CORS headers and compression as configured)."""
