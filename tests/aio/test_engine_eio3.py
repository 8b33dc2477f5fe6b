"""Engine.IO v3 sessions (``allow_eio3``), spoken to byte for byte on loopback: the v3
handshake, payloads, binary frames, client pings and upgrade."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from tests.aio.helpers import EngineApp, WsClient, listening, request
from tests.support import until
from tether.aio.engine import EngineServer
from tether.aio.listener import Router
from tether.eio.options import EngineOptions

POLL = "/engine.io/?EIO=3&transport=polling"
WS = "/engine.io/?EIO=3&transport=websocket"


class App:
    def __init__(self, **options: Any) -> None:
        options.setdefault("ping_interval", 5.0)
        options.setdefault("ping_timeout", 5.0)
        options.setdefault("allow_eio3", True)
        self.app = EngineApp()
        self.engine = EngineServer(EngineOptions(**options), self.app)
        self.port = 0

    async def get(self, target: str) -> Any:
        return await request(self.port, "GET", target)

    async def post(self, target: str, body: bytes, **kw: Any) -> Any:
        return await request(self.port, "POST", target, body, **kw)

    async def open(self, query: str = "") -> tuple[str, dict[str, Any]]:
        response = await self.get(POLL + query)
        assert response.status == 200, response
        length, _, packet = response.text.partition(":")
        assert int(length) == len(packet) and packet[0] == "0"
        handshake = orjson.loads(packet[1:])
        return handshake["sid"], handshake


@contextlib.asynccontextmanager
async def serve(**options: Any) -> AsyncIterator[App]:
    app = App(**options)
    async with listening(Router(app.engine)) as listener:
        app.port = listener.port
        yield app


@pytest.fixture
async def v3app() -> AsyncIterator[App]:
    async with serve() as app:
        yield app


async def test_eio3_is_refused_by_default() -> None:
    async with serve(allow_eio3=False) as app:
        response = await app.get(POLL)
        assert response.status == 400
        assert orjson.loads(response.body) == {"code": 5, "message": "Unsupported protocol version"}


async def test_handshake_is_a_v3_payload_without_max_payload(v3app: App) -> None:
    sid, handshake = await v3app.open()
    assert set(handshake) == {"sid", "upgrades", "pingInterval", "pingTimeout"}
    assert handshake["upgrades"] == ["websocket"]
    assert v3app.engine.sessions[sid].protocol == 3


async def test_jsonp_is_refused(v3app: App) -> None:
    response = await v3app.get(POLL + "&j=0")
    assert response.status == 400
    assert orjson.loads(response.body)["code"] == 3


async def test_text_payloads_both_ways(v3app: App) -> None:
    sid, _ = await v3app.open()
    posted = await v3app.post(f"{POLL}&sid={sid}", "6:4hello3:4😀".encode())
    assert (posted.status, posted.text) == (200, "ok")
    polled = await v3app.get(f"{POLL}&sid={sid}")
    assert polled.headers["content-type"] == "text/plain; charset=UTF-8"
    assert polled.text == "6:4hello3:4😀"


async def test_binary_goes_as_an_xhr2_payload(v3app: App) -> None:
    sid, _ = await v3app.open()
    body = b"\x00\x02\xff4a" + b"\x01\x04\xff\x04\x01\x02\x03"
    posted = await v3app.post(
        f"{POLL}&sid={sid}", body, headers={"Content-Type": "application/octet-stream"}
    )
    assert posted.status == 200
    polled = await v3app.get(f"{POLL}&sid={sid}")
    assert polled.headers["content-type"] == "application/octet-stream"
    assert polled.body == body


async def test_binary_goes_in_base64_when_the_client_asks(v3app: App) -> None:
    sid, _ = await v3app.open("&b64=1")
    await v3app.post(f"{POLL}&sid={sid}", b"2:4a10:b4AQIDBA==")
    polled = await v3app.get(f"{POLL}&sid={sid}")
    assert polled.text == "2:4a10:b4AQIDBA=="


async def test_malformed_payload_closes_with_parse_error(v3app: App) -> None:
    sid, _ = await v3app.open()
    await v3app.post(f"{POLL}&sid={sid}", b"9:4hello")
    await until(lambda: v3app.app.closed == ["parse error"])


async def test_client_pings_are_answered_and_keep_the_session() -> None:
    async with serve(ping_interval=0.2, ping_timeout=0.2) as app:
        sid, _ = await app.open()
        for _ in range(8):  # over 0.8 s: twice interval + timeout
            await app.post(f"{POLL}&sid={sid}", b"1:2")
            assert (await app.get(f"{POLL}&sid={sid}")).text == "1:3"
            await asyncio.sleep(0.1)
        assert app.app.closed == []
        # Without pings, it times out after interval + timeout; the server never pings.
        poll = asyncio.create_task(app.get(f"{POLL}&sid={sid}"))
        await until(lambda: app.app.closed == ["ping timeout"])
        assert (await poll).text == "1:1"


async def test_server_close_is_delivered_in_a_v3_payload(v3app: App) -> None:
    sid, _ = await v3app.open()
    socket = v3app.engine.sessions[sid]
    socket.send("bye")
    socket.close()
    assert (await v3app.get(f"{POLL}&sid={sid}")).text == "4:4bye"
    assert (await v3app.get(f"{POLL}&sid={sid}")).text == "1:1"


async def test_websocket_binary_frames_carry_the_type_byte(v3app: App) -> None:
    client = await WsClient.connect(v3app.port, WS)
    opening = await client.recv()
    assert set(orjson.loads(opening[1:])) == {"sid", "upgrades", "pingInterval", "pingTimeout"}
    client.send("2")
    assert await client.recv() == "3"
    client.send(b"\x04\x01\x02")
    assert await client.recv() == b"\x04\x01\x02"
    client.send("b4AQI=")
    assert await client.recv() == b"\x04\x01\x02"
    client.send("4text")
    assert await client.recv() == "4text"
    client.send(b"\x01\x02")  # not a message
    await until(lambda: v3app.app.closed == ["parse error"])
    await client.close()


async def test_upgrade_from_polling(v3app: App) -> None:
    sid, _ = await v3app.open()
    poll = asyncio.create_task(v3app.get(f"{POLL}&sid={sid}"))
    await asyncio.sleep(0.05)
    client = await WsClient.connect(v3app.port, f"{WS}&sid={sid}")
    client.send("2probe")
    assert await client.recv() == "3probe"
    assert (await poll).text == "1:6"  # the noop, in a v3 payload
    socket = v3app.engine.sessions[sid]
    socket.send(b"\x09")  # buffered on polling, flushed on the WebSocket with its type byte
    client.send("5")
    assert await client.recv() == b"\x04\x09"
    assert socket.transport.name == "websocket"
    client.send("2")
    assert await client.recv() == "3"
    await client.close()


async def test_a_cluster_engine_is_refused_with_allow_eio3() -> None:
    engine = EngineServer(EngineOptions(allow_eio3=True), EngineApp())
    with pytest.raises(ValueError, match="allow_eio3"):
        engine.attach_cluster(object())  # type: ignore[arg-type]
