"""The Engine.IO server without sockets: the real :class:`HttpProtocol`, ``EngineServer`` and
an echoing app, spoken to byte for byte over a :class:`~tests.fakes.FakeTransport`.

A long-polling GET holds its connection until it is answered, so a client posts on another
one, as browsers do: each :class:`Peer` is one connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest

from tests.aio.helpers import EngineApp, Response, render_request, take_response
from tests.fakes import FakeTransport, get_connected_protocol
from tests.support import until
from tether import ws
from tether.aio.engine import EngineServer
from tether.aio.listener import Router
from tether.eio.options import EngineOptions

POLL = "/engine.io/?EIO=4&transport=polling"
WS = "/engine.io/?EIO=4&transport=websocket"

Engine = tuple[EngineServer, EngineApp]


@pytest.fixture
async def make_engine() -> AsyncIterator[Callable[..., Engine]]:
    """``make_engine(**options)``: an echoing Engine.IO server (pings every 5 s unless told)
    and its app; shut down after the test."""
    engines: list[EngineServer] = []

    def make(**options: Any) -> Engine:
        options.setdefault("ping_interval", 5.0)
        options.setdefault("ping_timeout", 5.0)
        app = EngineApp()
        engine = EngineServer(EngineOptions(**options), app)
        engines.append(engine)
        return engine, app

    yield make
    for engine in engines:
        engine.shutdown()


class Peer:
    """One HTTP connection to the engine."""

    def __init__(self, engine: EngineServer) -> None:
        self.protocol, self.transport = get_connected_protocol(Router(engine))

    def send(self, method: str, target: str, body: bytes = b"") -> None:
        self.transport.feed(render_request(method, target, body))

    async def response(self) -> Response:
        """The next answer on this connection, once it is written."""
        answers: list[Response] = []

        def answered() -> bool:
            answer = take_response(self.transport.written)
            if answer is not None:
                answers.append(answer)
            return bool(answers)

        await until(answered, "an answer")
        return answers[0]

    async def request(self, method: str, target: str, body: bytes = b"") -> Response:
        self.send(method, target, body)
        return await self.response()

    async def nothing(self) -> None:
        """Nothing is answered, even after the loop had a few turns."""
        for _ in range(3):
            await asyncio.sleep(0)
        assert not self.transport.written, bytes(self.transport.written)


async def open_session(engine: EngineServer) -> tuple[str, Peer]:
    """A polling session's sid, and the connection that opened it."""
    peer = Peer(engine)
    response = await peer.request("GET", POLL)
    assert response.status == 200, response
    sid: str = orjson.loads(response.text[1:])["sid"]
    return sid, peer


class WsPeer:
    """A WebSocket client made of our client-side ``ws.Connection``, on one connection."""

    def __init__(self, transport: FakeTransport) -> None:
        self.transport = transport
        self.conn = ws.Connection(ws.Side.CLIENT)
        self.pending: list[Any] = []

    @classmethod
    async def connect(cls, engine: EngineServer, target: str) -> WsPeer:
        _protocol, transport = get_connected_protocol(Router(engine))
        head, key = ws.build_client_request("127.0.0.1", target)
        transport.feed(head)
        answers: list[Response] = []

        def answered() -> bool:
            answer = take_response(transport.written)  # the 101 head; frames stay
            if answer is not None:
                answers.append(answer)
            return bool(answers)

        await until(answered, "the upgrade answer")
        ws.check_client_response(answers[0].status, answers[0].headers, key)
        return cls(transport)

    def send(self, message: str | bytes) -> None:
        if isinstance(message, str):
            self.transport.feed(self.conn.send_text(message))
        else:
            self.transport.feed(self.conn.send_binary(message))

    def close(self) -> None:
        self.transport.feed(self.conn.send_close())

    async def recv(self) -> Any:
        """The next message (``str`` or ``bytes``) or control event from the server."""
        while not self.pending:
            await until(lambda: self.transport.written, "a frame")
            self.pending.extend(self.conn.receive_data(self.transport.take()))
            for reply in self.conn.data_to_send():  # pongs
                if not self.transport.closed:
                    self.transport.feed(reply)
        return self.pending.pop(0)


async def test_polling_handshake(make_engine: Callable[..., Engine]) -> None:
    engine, app = make_engine(ping_interval=0.3, ping_timeout=0.2)
    peer = Peer(engine)
    response = await peer.request("GET", POLL)
    assert response.status == 200
    assert response.headers["content-type"] == "text/plain; charset=UTF-8"
    assert response.text[0] == "0"
    handshake = orjson.loads(response.text[1:])
    sid = handshake["sid"]
    assert handshake == {
        "sid": sid,
        "upgrades": ["websocket"],
        "pingInterval": 300,
        "pingTimeout": 200,
        "maxPayload": 1_000_000,
    }
    assert len(sid) == 20
    assert [socket.sid for socket in app.sockets] == [sid]
    assert app.sockets[0].request.client == ("127.0.0.1", 1234)  # the transport's peer
    assert not peer.transport.closed  # kept alive for the next request


async def test_post_then_poll_the_echo(make_engine: Callable[..., Engine]) -> None:
    engine, _app = make_engine()
    sid, peer = await open_session(engine)
    posted = await peer.request("POST", f"{POLL}&sid={sid}", "4hello\x1e4€\x1ebAQIDBA==".encode())
    assert (posted.status, posted.text) == (200, "ok")
    polled = await peer.request("GET", f"{POLL}&sid={sid}")
    assert (polled.status, polled.text) == (200, "4hello\x1e4€\x1ebAQIDBA==")
    # A GET with nothing to fetch waits for the next message.
    poller = Peer(engine)
    poller.send("GET", f"{POLL}&sid={sid}")
    await poller.nothing()
    await peer.request("POST", f"{POLL}&sid={sid}", b"4late")
    assert (await poller.response()).text == "4late"


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_unknown_sid_is_400_with_code_1(
    make_engine: Callable[..., Engine], method: str
) -> None:
    engine, app = make_engine()
    peer = Peer(engine)
    response = await peer.request(method, f"{POLL}&sid=nope", b"4x" if method == "POST" else b"")
    assert response.status == 400
    assert response.headers["content-type"] == "application/json"
    assert orjson.loads(response.body) == {"code": 1, "message": "Session ID unknown"}
    assert app.sockets == []
    assert not peer.transport.closed  # an answer like any other: the connection stays


async def test_heartbeat(make_engine: Callable[..., Engine]) -> None:
    engine, app = make_engine(ping_interval=0.05, ping_timeout=0.05)
    sid, peer = await open_session(engine)
    poller = Peer(engine)
    poller.send("GET", f"{POLL}&sid={sid}")
    await poller.nothing()  # no ping before the interval
    assert (await poller.response()).text == "2"
    assert (await peer.request("POST", f"{POLL}&sid={sid}", b"3")).text == "ok"
    assert (await poller.request("GET", f"{POLL}&sid={sid}")).text == "2"
    assert app.closed == []  # the pong kept it open
    await until(lambda: app.closed, "the ping timeout")  # no pong this time
    assert app.closed == ["ping timeout"]
    assert sid not in engine.sessions


async def test_close_packet_from_the_client(make_engine: Callable[..., Engine]) -> None:
    engine, app = make_engine()
    sid, peer = await open_session(engine)
    poller = Peer(engine)
    poller.send("GET", f"{POLL}&sid={sid}")
    await poller.nothing()
    assert (await peer.request("POST", f"{POLL}&sid={sid}", b"1")).text == "ok"
    assert app.closed == ["transport close"]
    assert sid not in engine.sessions
    assert (await poller.response()).text == "6"  # the pending GET is released with a noop
    gone = await peer.request("GET", f"{POLL}&sid={sid}")
    assert (gone.status, orjson.loads(gone.body)["code"]) == (400, 1)


async def test_close_packet_from_the_server(make_engine: Callable[..., Engine]) -> None:
    engine, app = make_engine()
    sid, peer = await open_session(engine)
    app.sockets[0].send("bye")
    app.sockets[0].close()
    assert app.closed == ["forced close"]
    assert (await peer.request("GET", f"{POLL}&sid={sid}")).text == "4bye"
    assert (await peer.request("GET", f"{POLL}&sid={sid}")).text == "1"
    assert (await peer.request("GET", f"{POLL}&sid={sid}")).status == 400


async def test_websocket_session(make_engine: Callable[..., Engine]) -> None:
    engine, app = make_engine(ping_interval=0.05)
    client = await WsPeer.connect(engine, WS)
    opening = await client.recv()
    assert opening[0] == "0"
    assert orjson.loads(opening[1:])["upgrades"] == []
    client.send("4hello")
    client.send(b"\x00\x01\x02")
    assert await client.recv() == "4hello"
    assert await client.recv() == b"\x00\x01\x02"
    assert await client.recv() == "2"  # the heartbeat, in frames
    client.send("3")
    assert app.sockets[0].transport.name == "websocket"
    app.sockets[0].close()
    event = await client.recv()
    assert isinstance(event, ws.Close)
    assert app.closed == ["forced close"]
    await until(lambda: client.transport.lost, "the TCP close")


async def test_upgrade_from_polling(make_engine: Callable[..., Engine]) -> None:
    engine, app = make_engine()
    sid, peer = await open_session(engine)
    poller = Peer(engine)
    poller.send("GET", f"{POLL}&sid={sid}")
    await poller.nothing()
    client = await WsPeer.connect(engine, f"{WS}&sid={sid}")
    client.send("2probe")
    assert await client.recv() == "3probe"
    assert (await poller.response()).text == "6"  # the pending GET is released with a noop
    app.sockets[0].send("during")  # buffered on polling, flushed on the WebSocket
    client.send("5")
    assert await client.recv() == "4during"
    client.send("4after")
    client.send(b"\xff")
    assert await client.recv() == "4after"
    assert await client.recv() == b"\xff"
    assert app.sockets[0].transport.name == "websocket"
    # Polling is over for this session; it lives on over the WebSocket.
    assert (await peer.request("GET", f"{POLL}&sid={sid}")).status == 400
    assert app.closed == []
    # The client's close frame is answered with the server's, then the connection closes.
    client.close()
    event = await client.recv()
    assert isinstance(event, ws.Close) and event.code == 1000
    await until(lambda: client.transport.lost, "the TCP close")
    assert app.closed == ["transport close"]
