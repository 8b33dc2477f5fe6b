"""A failed WebSocket says why: the close frame with its code goes out before TCP closes,
also when the peer reads slowly (as long as the write buffer stays within its bound).

Each test runs on asyncio's loop and on uvloop's (the server's): what a closing transport
still sends differs between them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import uvloop

from tests.aio.helpers import listening
from tests.support import until
from tether import ws
from tether.aio.websocket import WebSocket
from tether.http.exchange import Responder, Upgrade
from tether.http.messages import HttpLimits, Request


@dataclass
class App:
    """Accepts every WebSocket and records what happens to it."""

    sockets: list[WebSocket] = field(default_factory=list)
    closes: list[tuple[int, bool]] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    max_message_size: int = 1000

    def handle_request(self, request: Request, responder: Responder) -> None:
        responder.send(404, [])

    def handle_upgrade(self, upgrade: Upgrade) -> None:
        websocket = upgrade.open_websocket(self, max_message_size=self.max_message_size)
        assert isinstance(websocket, WebSocket)
        self.sockets.append(websocket)

    def on_text(self, text: str) -> None:
        pass

    def on_binary(self, data: bytes) -> None:
        pass

    def on_websocket_close(self, code: int, error: bool) -> None:
        self.closes.append((code, error))
        self.closed.set()


class RawClient:
    """A client socket with a small receive buffer, read only when the test says so."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.loop = asyncio.get_running_loop()
        self.conn = ws.Connection(ws.Side.CLIENT, max_message_size=100_000_000)

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        client = cls(sock)
        await client.loop.sock_connect(sock, ("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        await client.loop.sock_sendall(
            sock,
            (
                "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode(),
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = await client.loop.sock_recv(sock, 1)
            assert chunk, "no handshake answer"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101 ")
        return client

    async def send(self, data: bytes) -> None:
        await self.loop.sock_sendall(self.sock, data)

    async def read_to_eof(self) -> list[object]:
        """Everything the server sends until it closes TCP (messages and events)."""
        events: list[object] = []
        while True:
            try:
                data = await self.loop.sock_recv(self.sock, 65536)
            except ConnectionResetError:
                data = b""
            if not data:
                self.conn.receive_eof()
                return events
            events.extend(self.conn.receive_data(data))

    def close(self) -> None:
        self.sock.close()


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[tuple[App, int]]:
    app = App()
    async with listening(app, HttpLimits(max_write_buffer=64 * 1024 * 1024)) as listener:
        yield app, listener.port


LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}

Scenario = Callable[[App, int], Awaitable[None]]


def on_each_loop(scenario: Scenario) -> Callable[[str], None]:
    """A test that runs ``scenario`` against a fresh server on each event loop."""

    async def served() -> None:
        async with serving() as (app, port):
            await scenario(app, port)

    @pytest.mark.parametrize("loop", list(LOOPS))
    def test(loop: str) -> None:
        with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
            runner.run(served())

    test.__name__ = scenario.__name__
    test.__doc__ = scenario.__doc__
    return test


async def fill_until_paused(websocket: WebSocket) -> int:
    """Send to a peer that does not read until our side of the connection pauses, then queue
    8 MB more (more than the kernel takes at once); returns the number of messages sent."""
    for sent in range(1, 2001):
        websocket.send_binary(b"x" * 16384)
        await asyncio.sleep(0)
        if websocket.paused:
            for _ in range(128):
                websocket.send_binary(b"y" * 65536)
            websocket.send_text("queued while paused")
            assert websocket.writer.buffered > 8 * 1024 * 1024
            return sent + 129
    raise AssertionError("the connection never paused")


def close_event(events: list[object]) -> ws.Close:
    close = events[-1]
    assert isinstance(close, ws.Close), f"no close frame, the last event is {close!r}"
    return close


@on_each_loop
async def test_a_protocol_error_sends_its_close_frame_before_closing_tcp(
    app: App, port: int
) -> None:
    client = await RawClient.connect(port)
    try:
        await client.send(ws.build_frame(ws.Opcode.TEXT, b"unmasked"))
        events = await asyncio.wait_for(client.read_to_eof(), 10)
        assert close_event(events).code == 1002
        await asyncio.wait_for(app.closed.wait(), 5)
        assert app.closes == [(1002, True)]
    finally:
        client.close()


@on_each_loop
async def test_a_protocol_error_while_the_reader_is_slow_still_sends_the_close_frame(
    app: App, port: int
) -> None:
    client = await RawClient.connect(port)
    try:
        (websocket,) = app.sockets
        sent = await fill_until_paused(websocket)
        await client.send(ws.build_frame(ws.Opcode.TEXT, b"unmasked"))
        await until(websocket.transport.is_closing)
        events = await asyncio.wait_for(client.read_to_eof(), 20)
        # Everything written before the failure arrives, then the close frame, then EOF.
        assert len(events) == sent + 1
        assert events[-2] == "queued while paused"
        assert close_event(events).code == 1002
    finally:
        client.close()


@on_each_loop
async def test_a_message_too_big_is_closed_with_1009_and_no_reason(_app: App, port: int) -> None:
    # Node's ws sends no reason with the codes of the failures it detects; the official
    # engine.io-client test "provides details when maxHttpBufferSize is reached" expects "".
    client = await RawClient.connect(port)
    try:
        await client.send(ws.build_frame(ws.Opcode.TEXT, b"x" * 1001, mask=b"abcd"))
        events = await asyncio.wait_for(client.read_to_eof(), 10)
        close = close_event(events)
        assert (close.code, close.reason) == (1009, "")
    finally:
        client.close()


@on_each_loop
async def test_fail_sends_the_close_frame_and_closes_tcp(app: App, port: int) -> None:
    client = await RawClient.connect(port)
    try:
        (websocket,) = app.sockets
        websocket.send_text("before")
        with pytest.raises(ValueError):
            websocket.fail(1006)  # may not be sent; the connection stays as it was
        websocket.fail(1002)
        websocket.fail(1011)  # harmless once failed
        websocket.send_text("after")  # dropped: nothing follows the close frame
        events = await asyncio.wait_for(client.read_to_eof(), 10)
        assert events[0] == "before"
        close = close_event(events)
        assert (close.code, close.reason) == (1002, "")
        assert len(events) == 2
        await asyncio.wait_for(app.closed.wait(), 5)
        assert app.closes == [(1002, True)]
    finally:
        client.close()


@on_each_loop
async def test_fail_with_a_reason_and_without_a_code(app: App, port: int) -> None:
    first = await RawClient.connect(port)
    second = await RawClient.connect(port)
    try:
        app.sockets[0].fail(1008, "go away")
        app.sockets[1].fail(None)  # an empty close frame, as Node's engine.io sends
        close = close_event(await asyncio.wait_for(first.read_to_eof(), 10))
        assert (close.code, close.reason) == (1008, "go away")
        close = close_event(await asyncio.wait_for(second.read_to_eof(), 10))
        assert close.code == 1005
    finally:
        first.close()
        second.close()


@on_each_loop
async def test_fail_while_the_reader_is_slow_sends_the_close_frame_after_the_queue(
    app: App, port: int
) -> None:
    client = await RawClient.connect(port)
    try:
        (websocket,) = app.sockets
        sent = await fill_until_paused(websocket)
        websocket.fail(1002)
        events = await asyncio.wait_for(client.read_to_eof(), 20)
        assert len(events) == sent + 1
        assert events[-2] == "queued while paused"
        assert close_event(events).code == 1002
    finally:
        client.close()


@on_each_loop
async def test_fail_after_the_peer_went_away_is_harmless(app: App, port: int) -> None:
    client = await RawClient.connect(port)
    client.close()
    await asyncio.wait_for(app.closed.wait(), 5)
    app.sockets[0].fail(1002)
    assert app.closes == [(1006, False)]
