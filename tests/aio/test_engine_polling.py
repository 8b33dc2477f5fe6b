"""The Engine.IO server over HTTP long-polling, spoken to byte for byte on loopback."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import orjson
import pytest

from tests.aio.helpers import EngineApp, Response, listening, request
from tether.aio.engine import EngineServer, EngineSocket
from tether.aio.listener import Listener, Router
from tether.aio.transports import TRANSPORTS, PollingTransport
from tether.eio.options import CorsOptions, EngineOptions

BASE = "/engine.io/?EIO=4&transport=polling"


class Harness:
    def __init__(self, listener: Listener, engine: EngineServer) -> None:
        self.listener = listener
        self.engine = engine
        self.sockets: list[EngineSocket] = []
        self.closed: list[str] = []

    async def get(self, target: str, **kw: Any) -> Response:
        return await request(self.listener.port, "GET", target, **kw)

    async def post(self, target: str, body: bytes, **kw: Any) -> Response:
        return await request(self.listener.port, "POST", target, body, **kw)

    async def open(self) -> tuple[str, dict[str, Any]]:
        response = await self.get(BASE)
        assert response.status == 200, response
        assert response.text[0] == "0"
        handshake = orjson.loads(response.text[1:])
        return handshake["sid"], handshake


def echo_engine(**options: Any) -> EngineServer:
    options.setdefault("ping_interval", 5.0)
    options.setdefault("ping_timeout", 5.0)
    return EngineServer(EngineOptions(**options), EngineApp())


@pytest.fixture
def make_harness() -> Callable[..., Any]:
    def factory(**options: Any) -> Any:
        engine = echo_engine(**options)

        async def run() -> AsyncIterator[Harness]:
            async with listening(Router(engine)) as listener:
                harness = Harness(listener, engine)
                app = engine.handler
                assert isinstance(app, EngineApp)
                harness.sockets = app.sockets
                harness.closed = app.closed
                yield harness

        return run()

    return factory


async def start(make_harness: Callable[..., Any], **options: Any) -> tuple[Harness, Any]:
    gen = make_harness(**options)
    return await gen.__anext__(), gen


async def stop(gen: Any) -> None:
    with pytest.raises(StopAsyncIteration):
        await gen.__anext__()


async def test_handshake(make_harness: Callable[..., Any]) -> None:
    h, gen = await start(make_harness, ping_interval=0.3, ping_timeout=0.2)
    response = await h.get(BASE)
    assert response.headers["content-type"] == "text/plain; charset=UTF-8"
    handshake = orjson.loads(response.text[1:])
    assert handshake["upgrades"] == ["websocket"]
    assert (handshake["pingInterval"], handshake["pingTimeout"]) == (300, 200)
    assert handshake["maxPayload"] == 1_000_000
    assert len(handshake["sid"]) == 20
    assert len(h.sockets) == 1
    await stop(gen)


async def test_text_and_binary_echo_in_order(make_harness: Callable[..., Any]) -> None:
    h, gen = await start(make_harness)
    sid, _ = await h.open()
    posted = await h.post(f"{BASE}&sid={sid}", "4hello\x1e4€\x1ebAQIDBA==".encode())
    assert (posted.status, posted.text) == (200, "ok")
    polled = await h.get(f"{BASE}&sid={sid}")
    assert polled.text == "4hello\x1e4€\x1ebAQIDBA=="
    await stop(gen)


async def test_pending_get_is_answered_when_a_message_comes(
    make_harness: Callable[..., Any],
) -> None:
    h, gen = await start(make_harness)
    sid, _ = await h.open()
    poll = asyncio.create_task(h.get(f"{BASE}&sid={sid}"))
    await asyncio.sleep(0.1)
    assert not poll.done()
    h.sockets[0].send("late")
    h.sockets[0].send(b"\x00")
    assert (await poll).text == "4late\x1ebAA=="
    await stop(gen)


@pytest.mark.parametrize(
    ("target", "method", "status", "code"),
    [
        ("/engine.io/?EIO=3&transport=polling", "GET", 400, 5),
        ("/engine.io/?transport=polling", "GET", 400, 5),
        ("/engine.io/?EIO=4&transport=tcp", "GET", 400, 0),
        ("/engine.io/?EIO=4", "GET", 400, 0),
        ("/engine.io/?EIO=4&transport=polling&sid=nope", "GET", 400, 1),
        ("/engine.io/?EIO=4&transport=polling&sid=nope", "POST", 400, 1),
        ("/engine.io/?EIO=4&transport=polling", "POST", 400, 2),
        ("/engine.io/?EIO=4&transport=websocket", "GET", 400, 3),
    ],
)
async def test_bad_requests(
    make_harness: Callable[..., Any], target: str, method: str, status: int, code: int
) -> None:
    h, gen = await start(make_harness)
    response = await request(h.listener.port, method, target, b"4x" if method == "POST" else b"")
    assert response.status == status
    assert response.headers["content-type"] == "application/json"
    assert orjson.loads(response.body)["code"] == code
    await stop(gen)


async def test_other_paths_are_404(make_harness: Callable[..., Any]) -> None:
    h, gen = await start(make_harness)
    assert (await h.get("/socket.io/?EIO=4&transport=polling")).status == 404
    await stop(gen)


async def test_overlapping_get_is_refused_and_closes_the_session(
    make_harness: Callable[..., Any],
) -> None:
    h, gen = await start(make_harness)
    sid, _ = await h.open()
    first = asyncio.create_task(h.get(f"{BASE}&sid={sid}"))
    await asyncio.sleep(0.05)
    second = await h.get(f"{BASE}&sid={sid}")
    assert second.status == 400
    assert (await first).text == "1"
    assert h.closed == ["transport error"]
    assert (await h.get(f"{BASE}&sid={sid}")).status == 400
    await stop(gen)


async def test_close_packet_from_the_client(make_harness: Callable[..., Any]) -> None:
    h, gen = await start(make_harness)
    sid, _ = await h.open()
    assert (await h.post(f"{BASE}&sid={sid}", b"1")).text == "ok"
    assert h.closed == ["transport close"]
    assert sid not in h.engine.sessions
    await stop(gen)


async def test_malformed_payload_closes_with_parse_error(make_harness: Callable[..., Any]) -> None:
    h, gen = await start(make_harness)
    sid, _ = await h.open()
    assert (await h.post(f"{BASE}&sid={sid}", b"4ok\x1ezzz")).text == "ok"
    assert h.closed == ["parse error"]
    # The valid part before the bad one is not delivered: the payload is refused whole.
    assert h.sockets[0].session.buffer == []
    await stop(gen)


async def test_invalid_utf8_body_closes_with_parse_error(make_harness: Callable[..., Any]) -> None:
    h, gen = await start(make_harness)
    sid, _ = await h.open()
    await h.post(f"{BASE}&sid={sid}", b"4\xff\xfe")
    assert h.closed == ["parse error"]
    await stop(gen)


async def test_heartbeat_ping_pong_then_timeout(make_harness: Callable[..., Any]) -> None:
    h, gen = await start(make_harness, ping_interval=0.2, ping_timeout=0.2)
    sid, _ = await h.open()
    assert (await h.get(f"{BASE}&sid={sid}")).text == "2"
    await h.post(f"{BASE}&sid={sid}", b"3")
    assert (await h.get(f"{BASE}&sid={sid}")).text == "2"
    assert h.closed == []
    await asyncio.sleep(0.4)  # no pong this time
    assert h.closed == ["ping timeout"]
    await stop(gen)


async def test_server_close_delivers_the_close_packet(make_harness: Callable[..., Any]) -> None:
    h, gen = await start(make_harness)
    sid, _ = await h.open()
    h.sockets[0].send("bye")
    h.sockets[0].close()
    assert h.closed == ["forced close"]
    assert (await h.get(f"{BASE}&sid={sid}")).text == "4bye"
    assert (await h.get(f"{BASE}&sid={sid}")).text == "1"
    assert (await h.get(f"{BASE}&sid={sid}")).status == 400
    await stop(gen)


async def test_cors_defaults_to_same_origin_only(make_harness: Callable[..., Any]) -> None:
    h, gen = await start(make_harness)
    foreign = await h.get(BASE, headers={"Origin": "https://evil.example"})
    assert foreign.status == 403
    assert orjson.loads(foreign.body)["code"] == 4
    same = await h.get(BASE, headers={"Origin": "http://127.0.0.1"})
    assert same.status == 200
    assert "access-control-allow-origin" not in same.headers
    await stop(gen)


async def test_cors_allowed_origins_and_preflight(make_harness: Callable[..., Any]) -> None:
    h, gen = await start(
        make_harness, cors=CorsOptions(origins=["https://app.example"], credentials=True)
    )
    ok = await h.get(BASE, headers={"Origin": "https://app.example"})
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    assert ok.headers["access-control-allow-credentials"] == "true"
    preflight = await request(
        h.listener.port,
        "OPTIONS",
        BASE,
        headers={"Origin": "https://app.example", "Access-Control-Request-Headers": "x-token"},
    )
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-headers"] == "x-token"
    assert (await h.get(BASE, headers={"Origin": "https://other.example"})).status == 403
    await stop(gen)


async def test_cors_star(make_harness: Callable[..., Any]) -> None:
    h, gen = await start(make_harness, cors=CorsOptions(origins="*"))
    response = await h.get(BASE, headers={"Origin": "https://any.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    await stop(gen)


async def test_large_answers_are_compressed(make_harness: Callable[..., Any]) -> None:
    h, gen = await start(make_harness)
    sid, _ = await h.open()
    h.sockets[0].send("x" * 5000)
    response = await h.get(f"{BASE}&sid={sid}", headers={"Accept-Encoding": "gzip, deflate"})
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(response.body) == b"4" + b"x" * 5000
    h.sockets[0].send("small")
    plain = await h.get(f"{BASE}&sid={sid}", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    await stop(gen)


async def test_allow_request_sync_and_async(make_harness: Callable[..., Any]) -> None:
    def sync_hook(request: Any) -> str | None:
        return None if request.query.get("token") == "ok" else "bad token"

    h, gen = await start(make_harness, allow_request=sync_hook)
    assert (await h.get(BASE)).status == 403
    assert (await h.get(BASE + "&token=ok")).status == 200
    await stop(gen)

    async def async_hook(request: Any) -> str | None:
        await asyncio.sleep(0.01)
        return None if request.headers.get("x-key") == "k" else "no"

    h, gen = await start(make_harness, allow_request=async_hook)
    assert (await h.get(BASE)).status == 403
    assert (await h.get(BASE, headers={"X-Key": "k"})).status == 200
    await stop(gen)


async def test_cookie(make_harness: Callable[..., Any]) -> None:
    h, gen = await start(make_harness, cookie="io")
    response = await h.get(BASE)
    sid = orjson.loads(response.text[1:])["sid"]
    assert response.headers["set-cookie"].startswith(f"io={sid};")
    await stop(gen)


async def test_post_body_over_the_limit_is_413(make_harness: Callable[..., Any]) -> None:
    h, gen = await start(make_harness, max_http_buffer_size=100)
    sid, _ = await h.open()
    assert (await h.post(f"{BASE}&sid={sid}", b"4" + b"x" * 200)).status == 413
    await stop(gen)


async def test_shutdown_closes_sessions(make_harness: Callable[..., Any]) -> None:
    h, gen = await start(make_harness)
    sid, _ = await h.open()
    poll = asyncio.create_task(h.get(f"{BASE}&sid={sid}"))
    await asyncio.sleep(0.05)
    await h.listener.shutdown(grace=1.0)
    assert (await poll).text == "1"
    assert h.closed == ["server shutting down"]
    await stop(gen)


async def test_close_from_the_client_releases_the_pending_get_with_a_noop(
    make_harness: Callable[..., Any],
) -> None:
    h, gen = await start(make_harness)
    sid, _ = await h.open()
    poll = asyncio.create_task(h.get(f"{BASE}&sid={sid}"))
    await asyncio.sleep(0.05)
    await h.post(f"{BASE}&sid={sid}", b"1")
    assert (await poll).text == "6"
    assert (await h.get(f"{BASE}&sid={sid}")).status == 400
    await stop(gen)


async def test_a_client_that_never_fetches_is_closed_at_the_buffer_bound(
    make_harness: Callable[..., Any],
) -> None:
    h, gen = await start(make_harness, max_write_buffer=100_000)
    sid, _ = await h.open()
    socket = h.sockets[0]
    for _ in range(3):
        socket.send("x" * 30_000)
    assert socket.session.buffered <= 100_000
    assert h.closed == []
    socket.send("x" * 30_000)  # 120 kB would wait for a GET that never comes
    assert h.closed == ["transport error"]
    assert socket.session.buffer == []
    assert sid not in h.engine.sessions
    socket.send("x" * 30_000)  # sends after the close are dropped, nothing grows
    assert socket.session.buffered == 0
    await stop(gen)


async def test_pongs_for_pings_never_fetched_do_not_keep_a_session_alive(
    make_harness: Callable[..., Any],
) -> None:
    h, gen = await start(make_harness, ping_interval=0.2, ping_timeout=0.2)
    sid, _ = await h.open()
    started = asyncio.get_running_loop().time()
    while not h.closed and asyncio.get_running_loop().time() - started < 2.0:
        await h.post(f"{BASE}&sid={sid}", b"3")  # answers pings it never fetched
        await asyncio.sleep(0.05)
    assert h.closed == ["ping timeout"]
    assert asyncio.get_running_loop().time() - started < 1.0
    await stop(gen)


class _CountingPolling(PollingTransport):
    """A protocol revision stand-in: long-polling that counts what it sends."""

    name = "counting"
    upgrades_to = ()
    sent: ClassVar[list[str | bytes]] = []

    def send(self, packet: str | bytes) -> None:
        self.sent.append(packet)
        super().send(packet)


async def test_a_transport_is_a_class_and_a_registry_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(TRANSPORTS, "counting", _CountingPolling)
    app = EngineApp()
    engine = EngineServer(EngineOptions(transports=("counting", "websocket")), app)
    async with listening(Router(engine)) as listener:
        base = "/engine.io/?EIO=4&transport=counting"
        opening = await request(listener.port, "GET", base)
        handshake = orjson.loads(opening.body[1:])
        assert handshake["upgrades"] == []  # its own upgrades_to, not polling's
        sid = handshake["sid"]
        assert type(app.sockets[0].transport) is _CountingPolling
        await request(listener.port, "POST", f"{base}&sid={sid}", b"4hello")
        assert (await request(listener.port, "GET", f"{base}&sid={sid}")).text == "4hello"
        assert _CountingPolling.sent == ["4hello"]
        polling = await request(listener.port, "GET", "/engine.io/?EIO=4&transport=polling")
        assert polling.status == 400  # not in this server's transports
