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
from tether.http.exchange import Responder, WebSocketChannel
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


class RequestTransport(Transport, Protocol):
    """A transport carried by HTTP requests for the session's sid (long-polling): the engine
    hands it each GET and POST."""

    def on_get(self, responder: Responder) -> None:
        """A GET: answer it with what waits, or keep it until something does."""

    def on_post(self, body: bytes) -> None:
        """A POST's body (the request is already answered)."""

    def release(self, packet: str) -> None:
        """Answer a pending GET with ``packet`` (a noop while the session upgrades)."""

    def deliver_close(self, responder: Responder) -> None:
        """A GET for a closing session: what it still owes, then the close packet."""


class TransportKind(Protocol):
    """A transport's class, as :data:`tether.aio.transports.TRANSPORTS` holds it."""

    name: str
    handles_upgrades: bool
    upgrades_to: tuple[str, ...]

    def __call__(
        self, owner: TransportOwner, websocket: WebSocketChannel | None = None
    ) -> Transport:
        """The transport of ``owner``; ``websocket`` is the connection of a transport that
        :attr:`handles_upgrades`."""


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
