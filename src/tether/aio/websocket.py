"""WebSocket over asyncio: drives a sans-I/O :class:`tether.ws.Connection` from a transport.

Incoming bytes go to the connection; each complete message comes back as a plain ``str``
or ``bytes`` and goes straight to the handler, in the same callback (no task, no queue).
Outgoing messages are framed by the connection and written through the connection's
:class:`~tether.aio.writer.Writer`; a frame built once for many connections is written with
:meth:`WebSocket.send_frame`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from tether import ws
from tether.aio.writer import Writer, close_transport
from tether.http.exchange import WebSocketHandler
from tether.http.messages import Headers, Request
from tether.ws import HandshakeError
from tether.ws.deflate import DeflateOptions
from tether.ws.handshake import server_answer

log = logging.getLogger("tether.websocket")

#: Seconds the server waits for the peer's close frame, and then for the TCP close.
CLOSE_TIMEOUT = 10.0


class WebSocket:
    """One server-side WebSocket connection."""

    __slots__ = (
        "_closed",
        "can_share_frames",
        "connection",
        "handler",
        "transport",
        "writer",
    )

    def __init__(
        self,
        transport: asyncio.Transport,
        writer: Writer,
        connection: ws.Connection,
        handler: WebSocketHandler,
    ) -> None:
        self.transport = transport
        self.writer = writer
        self.connection = connection
        self.handler = handler
        self.can_share_frames = connection.can_share_frames
        self._closed = False

    def data_received(self, data: bytes) -> None:
        """Feed bytes from the peer; deliver what they complete.

        Messages are delivered before the automatic replies are written, so that an answer
        to a message that came just ahead of the peer's close (or of a protocol error) still
        goes out before our close frame; a pong is written when its ping is reached, in order.
        """
        connection = self.connection
        events = connection.receive_data(data)
        control = False
        for event in events:
            # The handler may change between two messages of one read (an Engine.IO upgrade
            # completes on "5" and the next frames belong to the session): look it up each time.
            kind = type(event)
            if kind is str:
                self.handler.on_text(event)  # type: ignore[arg-type]
            elif kind is bytes:
                self.handler.on_binary(event)  # type: ignore[arg-type]
            else:
                control = True
                if kind is ws.Ping:
                    self._write_replies()
                elif kind is ws.ConnectionFailed:
                    log.debug("WebSocket failed: %s", event)
        if not control:
            return  # only messages: no automatic reply, no close (they come with an event)
        replies = connection.data_to_send()
        if replies:
            write = self.writer.write
            for reply in replies:
                write(reply)
        if connection.close_transport_now():
            self._finish()

    def _write_replies(self) -> None:
        for reply in self.connection.data_to_send():
            self.writer.write(reply)

    @property
    def paused(self) -> bool:
        """True while the peer reads slower than we write."""
        return self.writer.paused

    def send_text(self, text: str, compress: bool = True) -> None:
        """Send a text message (compressed if negotiated and ``compress``)."""
        if not self._closed and self.connection.can_send:
            self.writer.write(self.connection.send_text(text, compress))

    def send_binary(self, data: bytes, compress: bool = True) -> None:
        """Send a binary message (compressed if negotiated and ``compress``)."""
        if not self._closed and self.connection.can_send:
            self.writer.write(self.connection.send_binary(data, compress))

    def send_messages(self, messages: list[str | bytes]) -> None:
        """Send several messages (text or binary) written out together."""
        connection = self.connection
        if not self._closed and connection.can_send:
            self.writer.write_many(
                [
                    connection.send_text(message)
                    if type(message) is str
                    else connection.send_binary(message)  # type: ignore[arg-type]
                    for message in messages
                ]
            )

    def send_frame(self, frame: bytes) -> None:
        """Write a frame built elsewhere (only when :attr:`can_share_frames`)."""
        if not self._closed and self.connection.can_send:
            self.writer.write(frame)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake; the TCP connection closes when it completes."""
        if self._closed or not self.connection.can_send:
            return
        self.writer.write(self.connection.send_close(code, reason))
        self.writer.flush()
        # The server closes TCP first (RFC 6455 7.1.1): don't wait long for the peer's echo.
        asyncio.get_running_loop().call_later(1.0, self._finish)  # then CLOSE_TIMEOUT to drain

    def abort(self) -> None:
        """Drop the connection without a closing handshake."""
        self._finish()

    def fail(self, code: int | None, reason: str = "") -> None:
        """Fail the connection (RFC 6455 7.1.7): a close frame with ``code`` and ``reason``
        (``code=None``: an empty close payload, 1005 at the peer), then the TCP close at once.

        What was sent before goes out first, then the close frame, even while the peer reads
        slowly, unless that would take the write buffer past its bound: then the connection
        is aborted without a frame.  Nothing is sent afterwards, and nothing the peer sent is
        delivered any more (not even the rest of a read being delivered); the handler's
        ``on_websocket_close`` still comes, with ``code`` (1005 for ``None``) and
        ``error=True``.  A peer that does not read is aborted after ``CLOSE_TIMEOUT``
        seconds.  Does nothing once the connection is closing.  Raises ``ValueError`` for a
        code that may not be sent or a reason over 123 bytes.
        """
        if self._closed or self.transport.is_closing():
            return
        connection = self.connection
        frame = connection.fail(code, reason)
        pending = connection.data_to_send()  # automatic frames due before it (pongs)
        self.handler = _Failed(self.handler)
        if self.writer.finish(b"".join([*pending, frame])):
            close_transport(self.transport, CLOSE_TIMEOUT)

    def connection_lost(self, exc: Exception | None) -> None:
        """The TCP connection is gone."""
        self._closed = True
        self.writer.close()
        connection = self.connection
        # Node reports any close as "transport close"; only a protocol failure or a reader too
        # slow for its write buffer is an error.
        error = connection.failed or self.writer.overflowed
        handler, self.handler = self.handler, DETACHED
        handler.on_websocket_close(connection.close_code or 1006, error)

    def _finish(self) -> None:
        # What is queued goes out first, even to a slow reader, unless it passes the bound.
        if not self.transport.is_closing() and self.writer.finish():
            close_transport(self.transport, CLOSE_TIMEOUT)


class _Detached:
    """The handler of a WebSocket nobody listens to (any more): what comes is dropped."""

    def on_text(self, text: str) -> None:
        pass

    def on_binary(self, data: bytes) -> None:
        pass

    def on_websocket_close(self, code: int, error: bool) -> None:
        pass


#: Shared by every WebSocket whose handler let go of it.
DETACHED = _Detached()


class _Failed:
    """Stands in for the handler of a failed connection: input is dropped, the end is told."""

    __slots__ = ("handler",)

    def __init__(self, handler: WebSocketHandler) -> None:
        self.handler = handler

    def on_text(self, text: str) -> None:
        pass

    def on_binary(self, data: bytes) -> None:
        pass

    def on_websocket_close(self, code: int, error: bool) -> None:
        self.handler.on_websocket_close(code, error)


class Switchable(Protocol):
    """A native upgrade request (:class:`tether.aio.http_protocol.HttpUpgrade`)."""

    request: Request

    def accept(
        self, websocket_factory: Callable[[asyncio.Transport, Writer], WebSocket]
    ) -> WebSocket | None:
        """Switch the connection to what the factory builds, and return it."""

    def reject(self, status: int, headers: Headers, body: bytes = b"") -> None:
        """Refuse with an HTTP answer."""


def accept_websocket(
    upgrade: Switchable,
    handler: WebSocketHandler,
    *,
    max_message_size: int,
    deflate: DeflateOptions | None = None,
    extra_headers: Headers | None = None,
) -> WebSocket | None:
    """Validate the upgrade request, answer 101 and return the live WebSocket.

    A request that is not a valid WebSocket handshake gets 400 (or 426 for an unsupported
    version) and ``None`` is returned.
    """
    request = upgrade.request
    try:
        _, response, params = server_answer(request.method, request.headers, deflate=deflate)
    except HandshakeError as exc:
        log.debug("bad WebSocket handshake from %s: %s", request.client, exc)
        upgrade.reject(exc.status, list(exc.headers), str(exc).encode())
        return None

    def factory(transport: asyncio.Transport, writer: Writer) -> WebSocket:
        head = [b"HTTP/1.1 101 Switching Protocols\r\n"]
        for name, value in [*response, *(extra_headers or [])]:
            head.append(b"%s: %s\r\n" % (name.encode("latin-1"), value.encode("latin-1")))
        head.append(b"\r\n")
        # Sent with what follows in this iteration (Engine.IO's open packet): one syscall.
        writer.write_soon(b"".join(head))
        connection = ws.Connection(
            ws.Side.SERVER, max_message_size=max_message_size, deflate=params
        )
        return WebSocket(transport, writer, connection, handler)

    return upgrade.accept(factory)


__all__ = ["DETACHED", "WebSocket", "accept_websocket"]
