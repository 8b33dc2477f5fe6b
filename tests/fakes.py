"""Connections without sockets, for protocol tests: the real :class:`HttpProtocol` (and what
it serves) fed bytes by hand, its answers read from :attr:`FakeTransport.written`."""

from __future__ import annotations

import asyncio
from typing import Any

from tether.aio.http_protocol import HttpProtocol
from tether.http.exchange import HttpApp
from tether.http.messages import HttpLimits


class FakeTransport(asyncio.Transport):
    """An asyncio transport that keeps what is written and delivers what the test feeds.

    As a real one: bytes fed while reading is paused wait for ``resume_reading``; after
    ``close``/``abort`` the protocol hears ``connection_lost`` once, on the next loop
    iteration; the write buffer is always empty (everything is "sent" at once).
    """

    def __init__(self, peer: tuple[str, int] = ("127.0.0.1", 1234)) -> None:
        super().__init__()
        self.peer = peer
        self.protocol: asyncio.Protocol | None = None
        #: Everything written, in order (:meth:`take` empties it).
        self.written = bytearray()
        self.closed = False
        self.lost = False
        self.reading = True
        self._unread: list[bytes] = []

    # -- what the protocol calls ------------------------------------------------------------

    def write(self, data: Any) -> None:
        self.written += data

    def writelines(self, data: Any) -> None:
        for chunk in data:
            self.written += chunk

    def close(self) -> None:
        self._closing()

    def abort(self) -> None:
        self._closing()

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            return self.peer
        if name == "sockname":
            return ("127.0.0.1", 80)
        return default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True
        if self._unread:
            asyncio.get_running_loop().call_soon(self._deliver)

    def is_reading(self) -> bool:
        return self.reading

    # -- what the test calls ----------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Bytes from the peer: delivered now, or once reading resumes."""
        assert not self.closed, "fed after the connection was closed"
        self._unread.append(data)
        if self.reading:
            self._deliver()

    def take(self) -> bytes:
        """What was written since the last call."""
        data = bytes(self.written)
        self.written.clear()
        return data

    def lose(self, exc: Exception | None = None) -> None:
        """The connection is gone (the peer went away, or after a close): tell the protocol,
        once."""
        self.closed = True
        if not self.lost:
            self.lost = True
            self._unread.clear()
            if self.protocol is not None:
                self.protocol.connection_lost(exc)

    def _deliver(self) -> None:
        while self._unread and self.reading and not self.closed:
            data = self._unread.pop(0)
            assert self.protocol is not None
            self.protocol.data_received(data)

    def _closing(self) -> None:
        if not self.closed:
            self.closed = True
            asyncio.get_running_loop().call_soon(self.lose)


def get_connected_protocol(
    app: HttpApp, *, limits: HttpLimits | None = None, scheme: str = "http"
) -> tuple[HttpProtocol, FakeTransport]:
    """A new connection to ``app`` as the listener makes it, over a :class:`FakeTransport`
    (call from a running event loop)."""
    protocol = HttpProtocol(app, limits or HttpLimits(), set(), scheme)
    transport = FakeTransport()
    transport.protocol = protocol
    protocol.connection_made(transport)
    return protocol, transport
