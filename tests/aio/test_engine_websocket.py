"""The Engine.IO server over WebSocket, and the upgrade from polling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from tests.aio.helpers import EngineApp, WsClient, listening, request
from tether import ws
from tether.aio.engine import EngineServer, EngineSocket
from tether.aio.listener import Router
from tether.eio.options import CorsOptions, EngineOptions

POLL = "/engine.io/?EIO=4&transport=polling"
WS = "/engine.io/?EIO=4&transport=websocket"


class Echo:
    def __init__(self, **options: Any) -> None:
        options.setdefault("ping_interval", 5.0)
        options.setdefault("ping_timeout", 5.0)
        app = EngineApp()
        self.engine = EngineServer(EngineOptions(**options), app)
        self.sockets: list[EngineSocket] = app.sockets
        self.closed: list[str] = app.closed


@pytest.fixture
async def echo() -> AsyncIterator[tuple[Echo, int]]:
    app = Echo()
    async with listening(Router(app.engine)) as listener:
        yield app, listener.port


async def test_websocket_handshake_and_echo(echo: tuple[Echo, int]) -> None:
    app, port = echo
    client = await WsClient.connect(port, WS)
    opening = await client.recv()
    assert opening[0] == "0"
    handshake = orjson.loads(opening[1:])
    assert handshake["upgrades"] == []
    client.send("4hello")
    client.send(b"\x00\x01\x02")
    client.send("4é" * 1000)
    assert await client.recv() == "4hello"
    assert await client.recv() == b"\x00\x01\x02"
    assert await client.recv() == "4é" * 1000
    assert app.sockets[0].transport.name == "websocket"
    await client.close()
    await asyncio.sleep(0.05)
    assert app.closed == ["transport close"]


async def test_close_packet_over_websocket(echo: tuple[Echo, int]) -> None:
    app, port = echo
    client = await WsClient.connect(port, WS)
    await client.recv()
    client.send("1")
    await asyncio.sleep(0.05)
    assert app.closed == ["transport close"]
    await client.close()


async def test_server_close_over_websocket(echo: tuple[Echo, int]) -> None:
    app, port = echo
    client = await WsClient.connect(port, WS)
    await client.recv()
    app.sockets[0].close()
    event = await client.recv()
    assert isinstance(event, ws.Close)
    assert app.closed == ["forced close"]
    await client.close()


async def test_heartbeat_over_websocket() -> None:
    app = Echo(ping_interval=0.1, ping_timeout=0.1)
    async with listening(Router(app.engine)) as listener:
        client = await WsClient.connect(listener.port, WS)
        await client.recv()
        assert await client.recv() == "2"
        client.send("3")
        assert await client.recv() == "2"
        await asyncio.sleep(0.3)
        assert app.closed == ["ping timeout"]
        await client.close()


async def test_oversized_message_closes_with_1009() -> None:
    app = Echo(max_http_buffer_size=100)
    async with listening(Router(app.engine)) as listener:
        client = await WsClient.connect(listener.port, WS)
        await client.recv()
        client.send("4" + "x" * 200)
        event = await client.recv()
        assert isinstance(event, ws.Close) and event.code == 1009
        assert event.reason == ""  # as from Node (engine.io-client's tests compare it)
        await asyncio.sleep(0.05)
        assert app.closed == ["transport error"]
        await client.close()


async def test_invalid_utf8_closes_with_1007(echo: tuple[Echo, int]) -> None:
    _app, port = echo
    client = await WsClient.connect(port, WS)
    await client.recv()
    frame = ws.build_frame(ws.Opcode.TEXT, b"4\xff", mask=b"abcd")
    client.writer.write(frame)
    event = await client.recv()
    assert isinstance(event, ws.Close) and event.code == 1007
    await client.close()


async def test_malformed_packet_closes_with_parse_error(echo: tuple[Echo, int]) -> None:
    app, port = echo
    client = await WsClient.connect(port, WS)
    await client.recv()
    client.send("x")
    await asyncio.sleep(0.05)
    assert app.closed == ["parse error"]
    await client.close()


async def test_bad_websocket_handshake_is_400(echo: tuple[Echo, int]) -> None:
    _, port = echo
    response = await request(
        port,
        "GET",
        WS,
        headers={"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"},
    )
    assert response.status == 400


async def test_websocket_origin_is_checked() -> None:
    app = Echo(cors=CorsOptions(origins=["https://ok.example"]))
    async with listening(Router(app.engine)) as listener:
        with pytest.raises(ws.HandshakeError) as info:
            await WsClient.connect(listener.port, WS, headers={"Origin": "https://evil.example"})
        assert info.value.status == 403
        client = await WsClient.connect(listener.port, WS, headers={"Origin": "https://ok.example"})
        assert (await client.recv())[0] == "0"
        await client.close()


async def test_upgrade_from_polling(echo: tuple[Echo, int]) -> None:
    app, port = echo
    opened = await request(port, "GET", POLL)
    sid = orjson.loads(opened.text[1:])["sid"]
    poll = asyncio.create_task(request(port, "GET", f"{POLL}&sid={sid}"))
    await asyncio.sleep(0.05)
    client = await WsClient.connect(port, f"{WS}&sid={sid}")
    client.send("2probe")
    assert await client.recv() == "3probe"
    assert (await poll).text == "6"  # the pending GET is released with a noop
    app.sockets[0].send("during")  # buffered on polling, flushed on the WebSocket
    client.send("5")
    assert await client.recv() == "4during"
    client.send("4after")
    assert await client.recv() == "4after"
    assert app.sockets[0].transport.name == "websocket"
    # After the upgrade, polling requests for this sid are refused and the session lives on.
    assert (await request(port, "GET", f"{POLL}&sid={sid}")).status == 400
    second = await WsClient.connect(port, f"{WS}&sid={sid}")
    assert isinstance(await second.recv(), ws.Close)
    client.send("4still")
    assert await client.recv() == "4still"
    assert app.closed == []
    await client.close()
    await second.close()


async def test_upgrade_for_unknown_sid_is_400(echo: tuple[Echo, int]) -> None:
    _, port = echo
    with pytest.raises(ws.HandshakeError) as info:
        await WsClient.connect(port, f"{WS}&sid=nope")
    assert info.value.status == 400


async def test_failed_probe_keeps_polling(echo: tuple[Echo, int]) -> None:
    app, port = echo
    sid = orjson.loads((await request(port, "GET", POLL)).text[1:])["sid"]
    client = await WsClient.connect(port, f"{WS}&sid={sid}")
    client.send("4not a probe")
    assert isinstance(await client.recv(), ws.Close)
    app.sockets[0].send("still polling")
    assert (await request(port, "GET", f"{POLL}&sid={sid}")).text == "4still polling"
    await client.close()


async def test_slow_reader_is_cut_off_and_others_go_on() -> None:
    app = Echo(max_write_buffer=256 * 1024)
    async with listening(Router(app.engine)) as listener:
        slow = await WsClient.connect(listener.port, WS)
        await slow.recv()
        fast = await WsClient.connect(listener.port, WS)
        await fast.recv()
        slow_socket, fast_socket = app.sockets
        slow.writer.transport.pause_reading()  # type: ignore[attr-defined]
        payload = "x" * 65536
        for _ in range(200):  # 13 MB to a reader that never reads
            slow_socket.send(payload)
            await asyncio.sleep(0)
        fast_socket.send("ok")
        assert await fast.recv() == "4ok"
        await asyncio.sleep(0.1)
        assert slow_socket.closed
        assert "transport" in app.closed[0]
        await slow.close()
        await fast.close()


async def test_messages_in_the_same_read_as_the_upgrade_packet_reach_the_session(
    echo: tuple[Echo, int],
) -> None:
    _app, port = echo
    sid = orjson.loads((await request(port, "GET", POLL)).text[1:])["sid"]
    client = await WsClient.connect(port, f"{WS}&sid={sid}")
    client.send("2probe")
    assert await client.recv() == "3probe"
    # "5" and two messages in one TCP segment.
    conn = client.conn
    client.writer.write(conn.send_text("5") + conn.send_text("4a") + conn.send_binary(b"b"))
    assert await client.recv() == "4a"
    assert await client.recv() == b"b"
    await client.close()


async def test_a_close_frame_without_code_is_a_transport_close(echo: tuple[Echo, int]) -> None:
    app, port = echo
    client = await WsClient.connect(port, WS)
    await client.recv()
    client.writer.write(client.conn.send_close(None))
    await asyncio.wait_for(client.recv(), 2)
    await asyncio.sleep(0.05)
    assert app.closed == ["transport close"]
    await client.close()


async def test_a_second_upgrade_attempt_does_not_disturb_the_first(echo: tuple[Echo, int]) -> None:
    app, port = echo
    sid = orjson.loads((await request(port, "GET", POLL)).text[1:])["sid"]
    first = await WsClient.connect(port, f"{WS}&sid={sid}")
    second = await WsClient.connect(port, f"{WS}&sid={sid}")
    assert isinstance(await second.recv(), ws.Close)
    await second.close()
    await asyncio.sleep(0.05)
    first.send("2probe")
    assert await first.recv() == "3probe"
    first.send("5")
    first.send("4upgraded")
    assert await first.recv() == "4upgraded"
    assert app.sockets[0].transport.name == "websocket"
    await first.close()


async def test_pings_follow_the_interval_when_it_is_shorter_than_the_timeout() -> None:
    app = Echo(ping_interval=0.1, ping_timeout=1.0)
    async with listening(Router(app.engine)) as listener:
        client = await WsClient.connect(listener.port, WS)
        await client.recv()
        loop = asyncio.get_running_loop()
        start = loop.time()
        times = []
        for _ in range(4):
            assert await client.recv() == "2"
            times.append(loop.time() - start)
            client.send("3")
        assert times[-1] < 0.8, times  # not one ping per (interval + timeout)
        await client.close()


async def test_base64_binary_over_websocket(echo: tuple[Echo, int]) -> None:
    # socket.io-client with forceBase64 sends binary messages as "b<base64>" text frames.
    app, port = echo
    client = await WsClient.connect(port, WS)
    await client.recv()
    client.send("bAAECAwQ=")
    assert await client.recv() == b"\x00\x01\x02\x03\x04"
    client.send("b!!!")
    close = await client.recv()
    assert isinstance(close, ws.Close)
    assert close.code == 1002  # the close frame goes out before the TCP close
    assert app.closed == ["parse error"]
    await client.close()
