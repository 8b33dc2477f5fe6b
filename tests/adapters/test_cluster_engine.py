"""Two servers joined by the Redis cluster engine serve each other's sessions: polling GETs
and POSTs for a session held by the other server, a WebSocket upgrade there (the session
moves, or is relayed), and the failures (an unknown sid, Redis away)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

import tether
from tests.aio.helpers import WsClient
from tests.support import RedisServer, serving, until
from tether.adapters.redis import create_adapter, create_engine

pytestmark = [pytest.mark.cluster]


def make_server(url: str, prefix: str, pings: tuple[float, float], **engine: Any) -> tether.Server:
    io = tether.Server(
        ping_interval=pings[0],
        ping_timeout=pings[1],
        adapter=create_adapter(url, key=prefix),
        cluster_engine=create_engine(url, channel_prefix=prefix, **engine),
    )

    @io.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> Any:
        return f"{args[0]}@{io.engine.cluster.node_id if io.engine.cluster else ''}"

    return io


@contextlib.asynccontextmanager
async def pair(
    url: str, pings: tuple[float, float] = (25, 20), **engine: Any
) -> AsyncIterator[tuple[tether.Server, int, tether.Server, int]]:
    prefix = "t" + secrets.token_hex(4)
    a, b = make_server(url, prefix, pings, **engine), make_server(url, prefix, pings, **engine)
    try:
        async with serving(a) as port_a, serving(b) as port_b:
            yield a, port_a, b, port_b
    finally:
        await a.close_adapters()
        await b.close_adapters()


class Polling:
    """A polling client that sends each request where it is told."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.http = http
        self.sid = ""

    def url(self, port: int) -> str:
        query = f"&sid={self.sid}" if self.sid else ""
        return f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling{query}"

    async def handshake(self, port: int) -> dict[str, Any]:
        async with self.http.get(self.url(port)) as response:
            text = await response.text()
        opening: dict[str, Any] = orjson.loads(text[1:])
        self.sid = opening["sid"]
        return opening

    async def get(self, port: int) -> tuple[int, str]:
        async with self.http.get(self.url(port)) as response:
            return response.status, await response.text()

    async def post(self, port: int, payload: str) -> tuple[int, str]:
        async with self.http.post(self.url(port), data=payload.encode()) as response:
            return response.status, await response.text()


async def get_packets(client: Polling, port: int, until_prefix: str) -> list[str]:
    """GETs on ``port`` (answering pings) until a packet starting with ``until_prefix``."""
    seen: list[str] = []
    for _ in range(20):
        status, body = await client.get(port)
        assert status == 200, body
        for packet in body.split("\x1e"):
            seen.append(packet)
            if packet == "2":
                await client.post(port, "3")
            if packet.startswith(until_prefix):
                return seen
    raise AssertionError(f"never got {until_prefix!r}: {seen}")


async def test_polling_requests_are_served_by_either_server(redis_server: RedisServer) -> None:
    async with pair(redis_server.url) as (a, port_a, b, port_b), aiohttp.ClientSession() as http:
        client = Polling(http)
        await client.handshake(port_a)
        assert client.sid in a.engine.sessions
        # The connect goes to the other server, the answer comes through either.
        assert await client.post(port_b, "40") == (200, "ok")
        assert (await get_packets(client, port_b, "40"))[-1].startswith('40{"sid":')
        for n in range(6):
            write, read = (port_a, port_b) if n % 2 else (port_b, port_a)
            assert await client.post(write, f'42{n}["echo",{n}]') == (200, "ok")
            ack = (await get_packets(client, read, f"43{n}"))[-1]
            assert ack == f'43{n}["{n}@{a.engine.cluster.node_id}"]'  # type: ignore[union-attr]
        assert client.sid not in b.engine.sessions


async def upgrade(client: Polling, port: int) -> WsClient:
    ws = await WsClient.connect(port, f"/socket.io/?EIO=4&transport=websocket&sid={client.sid}")
    ws.send("2probe")
    assert await ws.recv() == "3probe"
    ws.send("5")
    return ws


async def ws_call(ws: WsClient, n: int) -> str:
    ws.send(f'42{n}["echo",{n}]')
    while True:
        message = await ws.recv()
        if message == "2":
            ws.send("3")
        elif isinstance(message, str) and message.startswith(f"43{n}"):
            return message


async def test_an_upgrade_on_the_other_server_moves_a_new_session(
    redis_server: RedisServer,
) -> None:
    async with pair(redis_server.url) as (a, port_a, b, port_b), aiohttp.ClientSession() as http:
        client = Polling(http)
        await client.handshake(port_a)
        assert await client.post(port_b, "40") == (200, "ok")
        # Upgrading at once, before the delayed connection: the session moves to b.
        ws = await upgrade(client, port_b)
        await until(lambda: client.sid in b.engine.sessions, "the session on b")
        assert client.sid not in a.engine.sessions
        while not (await ws.recv()).startswith("40"):
            pass
        assert await ws_call(ws, 1) == f'431["1@{b.engine.cluster.node_id}"]'  # type: ignore[union-attr]
        await ws.close()


async def test_an_upgrade_of_a_connected_session_is_relayed(redis_server: RedisServer) -> None:
    async with pair(redis_server.url) as (a, port_a, b, port_b), aiohttp.ClientSession() as http:
        client = Polling(http)
        await client.handshake(port_a)
        assert await client.post(port_b, "40") == (200, "ok")
        await get_packets(client, port_a, "40")  # connected: the session stays on a
        pending = asyncio.ensure_future(client.get(port_a))
        ws = await upgrade(client, port_b)
        assert await asyncio.wait_for(pending, 3) == (200, "6")  # the owner freed the GET
        assert await ws_call(ws, 2) == f'432["2@{a.engine.cluster.node_id}"]'  # type: ignore[union-attr]
        assert client.sid in a.engine.sessions and client.sid not in b.engine.sessions
        # Polling is over for this session, on both servers.
        assert (await client.get(port_b))[0] == 400
        await ws.close()
        await until(lambda: client.sid not in a.engine.sessions, "the session closed on a")


async def test_an_unknown_sid_gets_session_id_unknown(redis_server: RedisServer) -> None:
    async with (
        pair(redis_server.url, response_timeout=0.2) as (_, port_a, _, port_b),
        aiohttp.ClientSession() as http,
    ):
        client = Polling(http)
        client.sid = "A" * 20
        status, body = await client.get(port_a)
        assert (status, orjson.loads(body)) == (400, {"code": 1, "message": "Session ID unknown"})
        with pytest.raises(Exception, match="400"):
            await WsClient.connect(
                port_b, f"/socket.io/?EIO=4&transport=websocket&sid={client.sid}"
            )


async def test_with_redis_away_foreign_sessions_fail_clearly_and_local_ones_work() -> None:
    redis = RedisServer()
    redis.start()
    try:
        async with (
            pair(redis.url, response_timeout=0.3) as (_, port_a, _, port_b),
            aiohttp.ClientSession() as http,
        ):
            client = Polling(http)
            await client.handshake(port_a)
            assert await client.post(port_a, "40") == (200, "ok")
            await get_packets(client, port_a, "40")
            redis.kill()
            status, body = await client.get(port_b)
            assert (status, orjson.loads(body)) == (
                400,
                {"code": 1, "message": "Session ID unknown"},
            )
            # The server that holds the session goes on.
            assert await client.post(port_a, '427["echo",7]') == (200, "ok")
            assert (await get_packets(client, port_a, "437"))[-1].startswith('437["7@')
    finally:
        redis.kill()


async def test_a_relay_gives_up_on_an_owner_gone_silent(redis_server: RedisServer) -> None:
    # The owner pings every 0.3 s (through the relay): silence for 0.3 + 0.3 + 0.2 s means
    # it died, and the client is told so that it reconnects.
    async with (
        pair(redis_server.url, pings=(0.3, 0.3), response_timeout=0.2) as (a, port_a, _, port_b),
        aiohttp.ClientSession() as http,
    ):
        polling, upgrading = Polling(http), Polling(http)
        for client in (polling, upgrading):
            await client.handshake(port_a)
            assert await client.post(port_a, "40") == (200, "ok")
            await get_packets(client, port_a, "40")
        ws = await upgrade(upgrading, port_b)
        assert await ws_call(ws, 1) == f'431["1@{a.engine.cluster.node_id}"]'  # type: ignore[union-attr]
        pending = asyncio.ensure_future(get_packets(polling, port_b, "never"))
        await asyncio.sleep(0.05)
        assert a.engine.cluster is not None
        await a.engine.cluster.close()  # as if a died: it hears and says nothing any more
        with pytest.raises(AssertionError, match="400"):
            await asyncio.wait_for(pending, 3)

        async def until_closed() -> None:
            while True:
                message = await ws.recv()
                if message == "2":
                    ws.send("3")
                elif message is None or not isinstance(message, str):
                    return

        await asyncio.wait_for(until_closed(), 3)
        await ws.close()


async def test_a_session_closed_by_its_server_gets_its_close_packet_through_another(
    redis_server: RedisServer,
) -> None:
    async with (
        pair(redis_server.url) as (a, port_a, _, port_b),
        aiohttp.ClientSession() as http,
    ):
        client = Polling(http)
        await client.handshake(port_a)
        assert await client.post(port_a, "40") == (200, "ok")
        await get_packets(client, port_a, "40")
        a.engine.sessions[client.sid].close()  # forced close: the client is owed "1"
        assert client.sid not in a.engine.sessions
        assert await client.get(port_b) == (200, "1")
