"""What one connection may hold: namespaces, and a binary packet's attachments over time."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

import tether
from tests.server.helpers import SioClient
from tests.support import serving
from tether.client_session import ClientSession
from tether.sio import PacketType


def _connection(io: tether.Server, client: SioClient) -> ClientSession:
    connection: Any = io.engine.sessions[client.eio_sid].handler
    assert isinstance(connection, ClientSession)
    return connection


async def test_namespaces_per_connection_are_limited() -> None:
    io = tether.Server(max_namespaces_per_connection=3)
    dynamic = io.of(re.compile(r"/n\d+"))

    @io.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    @dynamic.on("echo")
    def echo_dynamic(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    async with serving(io) as port:
        client = await SioClient.open(port)
        for nsp in ("/", "/n1", "/n2"):
            assert (await client.connect(nsp)).type is PacketType.CONNECT
        refused = await client.connect("/n3")
        assert refused.type is PacketType.CONNECT_ERROR
        assert refused.data == {"message": "Too many namespaces on this connection (limit 3)"}
        assert "/n3" not in io.namespaces  # refused before the child namespace is made
        # The connection and its namespaces go on, and a freed slot can be used again.
        assert await client.call("echo", 1) == [1]
        assert await client.call("echo", 2, nsp="/n2") == [2]
        client.send_packet(tether.sio.Packet(PacketType.DISCONNECT, "/n1"))
        assert await client.call("echo", 3) == [3]  # the DISCONNECT was handled before
        assert (await client.connect("/n3")).type is PacketType.CONNECT
        assert await client.call("echo", 4, nsp="/n3") == [4]
        await client.close()


def test_max_namespaces_per_connection_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_namespaces_per_connection"):
        tether.Server(max_namespaces_per_connection=0)


_HEADER = '52-["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'


async def test_attachments_that_never_arrive_close_the_connection() -> None:
    timeout = 0.3
    io = tether.Server(attachment_timeout=timeout)
    reasons: list[str] = []
    got: list[Any] = []

    @io.on("up")
    def up(socket: tether.Socket, *args: Any) -> None:
        got.append(args)

    @io.on("disconnect")
    def disconnected(socket: tether.Socket, reason: str) -> None:
        reasons.append(reason)

    async with serving(io) as port:
        client = await SioClient.open(port)
        await client.connect()
        connection = _connection(io, client)
        loop = asyncio.get_running_loop()
        # A complete binary packet starts the clock; the next one starts later, and its own
        # deadline (not the first packet's) is the one that counts.
        client.ws.send("4" + _HEADER)
        client.ws.send(b"a")
        client.ws.send(b"b")
        await asyncio.sleep(timeout / 2)
        client.ws.send("4" + _HEADER)
        client.ws.send(b"c")
        started = loop.time()
        await asyncio.wait_for(client.closed.wait(), 5)
        assert loop.time() - started >= timeout * 0.9
        assert got == [(b"a", b"b")]
        assert reasons == ["parse error"]
        assert connection.decoder.awaiting_attachments == 0  # its buffers were dropped
        await client.close()


async def test_attachments_in_time_keep_the_connection() -> None:
    io = tether.Server(attachment_timeout=0.2)

    @io.on("up")
    def up(socket: tether.Socket, *args: Any) -> list[int]:
        return [len(arg) for arg in args]

    async with serving(io) as port:
        client = await SioClient.open(port)
        await client.connect()
        for _ in range(3):
            assert await client.call("up", b"x", b"yy") == [[1, 2]]
            await asyncio.sleep(0.1)
        assert not client.closed.is_set()
        await client.close()
