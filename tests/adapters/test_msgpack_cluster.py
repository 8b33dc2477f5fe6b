"""Two tether servers with ``parser="msgpack"`` on one real Redis (issue #19): the adapters
carry packet data between servers, and each server encodes with its own parser, so the classic
and the streams adapter, and connection state recovery, work as with JSON. Every server of
a cluster must use the same parser (mixed parsers are not expected to work: a client only
speaks one)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

import tether
from tests.adapters.support import until_servers
from tests.support import RedisServer, until
from tether.adapters.redis import create_adapter
from tether.adapters.redis.streams import create_adapter as create_streams_adapter
from tether.client import Client

pytestmark = pytest.mark.cluster


@contextlib.asynccontextmanager
async def msgpack_server(
    redis_url: str, key: str, name: str, streams: bool = False
) -> AsyncIterator[tuple[tether.Server, str]]:
    if streams:
        io = tether.Server(
            parser="msgpack",
            adapter=create_streams_adapter(
                redis_url,
                stream_name=key,
                channel_prefix=key,
                session_key_prefix=f"{key}:session:",
                block_time=0.2,
            ),
            connection_state_recovery=tether.RecoveryOptions(max_disconnection_duration=30),
        )
    else:
        io = tether.Server(parser="msgpack", adapter=create_adapter(redis_url, key=key))

    @io.on("join")
    def join(socket: tether.Socket, room: str) -> str:
        socket.join(room)
        return name

    listener = await io.serve("127.0.0.1", 0)
    try:
        yield io, f"http://127.0.0.1:{listener.port}"
    finally:
        await io.close()


async def test_broadcasts_and_acks_across_servers_with_msgpack(redis_server: RedisServer) -> None:
    key = "m" + secrets.token_hex(4)
    async with (
        msgpack_server(redis_server.url, key, "a") as (a, url_a),
        msgpack_server(redis_server.url, key, "b") as (b, url_b),
    ):
        await until_servers(a, 2)
        got: dict[str, list[Any]] = {"a": [], "b": []}
        clients = {}
        for name, url in (("a", url_a), ("b", url_b)):
            client = Client(parser="msgpack")
            client.on("news", lambda *args, name=name: got[name].append(list(args)))
            client.on("ask", lambda x, name=name: {"from": name, "x": x})
            await client.connect(url, transports=("websocket",))
            clients[name] = client
        assert await clients["a"].emit_with_ack("join", "room", timeout=3) == "a"
        b.emit("news", "all", b"\x00\xff", {"n": [1.5, None]})
        b.to("room").emit("news", "room only", b"\x01")
        b.emit("news", "marker")  # from the same sender: once it is in, the rest is
        await until(lambda: got["a"][-1:] == [["marker"]] and got["b"][-1:] == [["marker"]])
        assert got["a"] == [
            ["all", b"\x00\xff", {"n": [1.5, None]}],
            ["room only", b"\x01"],
            ["marker"],
        ]
        assert got["b"] == [["all", b"\x00\xff", {"n": [1.5, None]}], ["marker"]]
        a.emit("news", "from a", b"\x02")
        await until(lambda: all(g[-1] == ["from a", b"\x02"] for g in got.values()))
        answers = await b.timeout(3).emit_with_ack("ask", b"\x07")
        assert sorted(answers, key=lambda x: x["from"]) == [
            {"from": "a", "x": b"\x07"},
            {"from": "b", "x": b"\x07"},
        ]
        for client in clients.values():
            await client.disconnect()


async def test_streams_recovery_with_msgpack(redis_server: RedisServer) -> None:
    key = "m" + secrets.token_hex(4)
    async with (
        msgpack_server(redis_server.url, key, "a", streams=True) as (a, url_a),
        msgpack_server(redis_server.url, key, "b", streams=True) as (b, _),
    ):
        await until_servers(a, 2)
        client = Client(parser="msgpack", reconnection_delay=0.3, randomization_factor=0)
        got: list[Any] = []
        client.on("n", lambda *args: got.append(list(args)))
        await client.connect(url_a, transports=("websocket",))
        sid = client.sid
        a.emit("n", 0)
        await until(lambda: got == [[0]])
        # The connection is lost (as a network failure would): what b broadcasts meanwhile
        # is missed, then replayed when the client comes back to a.
        socket = a.sockets.sockets[sid]
        socket.conn.engine.close_now("transport error")
        await until(lambda: sid not in a.sockets.sockets)
        b.emit("n", 1, b"\x01")
        await until(lambda: client.connected and got == [[0], [1, b"\x01"]])
        assert client.recovered and client.sid == sid
        await asyncio.sleep(0)
        await client.disconnect()
