"""A tether server with ``parser="msgpack"`` and ``tether.Client(parser="msgpack")``: every
kind of packet over both transports, broadcasts encoded once, recovery, and what a client of
the other parser gets."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

import tether
from tests.support import serving, until
from tether.client import Client, ConnectError
from tether.client_session import ClientSession
from tether.eio.encoded import Encoded


@pytest.mark.parametrize("transports", [("websocket",), ("polling",), ("polling", "websocket")])
async def test_events_acks_binary_namespaces_and_refusals(transports: tuple[str, ...]) -> None:
    io = tether.Server(parser="msgpack")
    when = dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.UTC)

    @io.on("connection")
    def connected(socket: tether.Socket) -> None:
        socket.emit("welcome", b"\x00\x01", {"when": when})

    @io.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    @io.on("ask")
    async def ask(socket: tether.Socket, x: Any) -> Any:
        return await socket.emit_with_ack("question", x, timeout=3)

    @io.of("/admin").on("echo")
    def admin_echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return ("admin", *args)

    @io.of("/private").use
    def refuse(socket: tether.Socket) -> None:
        raise tether.ConnectionRefusedError("no", {"code": 7})

    async with serving(io) as port:
        url = f"http://127.0.0.1:{port}"
        client = Client(parser="msgpack")
        welcome: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
        client.on("welcome", lambda *args: welcome.set_result(args))
        client.on("question", lambda x: [x, b"\xff"])
        await client.connect(url, transports=transports, namespaces=["/", "/admin"])
        assert await welcome == (b"\x00\x01", {"when": when})
        assert await client.emit_with_ack("echo", 1, b"\x02", None, [1.5], timeout=3) == (
            1,
            b"\x02",
            None,
            [1.5],
        )
        assert await client.emit_with_ack("ask", b"\x03", timeout=3) == [b"\x03", b"\xff"]
        assert await client.emit_with_ack("echo", "x", namespace="/admin", timeout=3) == (
            "admin",
            "x",
        )
        if len(transports) == 2:
            await until(lambda: client.transport == "websocket")
        await client.disconnect()

        refused = Client(parser="msgpack", reconnection=False)
        with pytest.raises(ConnectError) as info:
            await refused.connect(url, namespaces=["/private"], transports=transports)
        assert (info.value.message, info.value.data) == ("no", {"code": 7})
        await refused.disconnect()


async def test_a_broadcast_is_encoded_once_as_one_binary_message() -> None:
    io = tether.Server(parser="msgpack")
    written: list[list[Encoded]] = []

    class Recording(ClientSession):
        def write_encoded(self, parts: list[Encoded], volatile: bool) -> None:
            written.append(parts)
            super().write_encoded(parts, volatile)

    io.session_class = Recording
    async with serving(io) as port:
        got: list[Any] = []
        clients = []
        for _ in range(3):
            client = Client(parser="msgpack")
            client.on("news", lambda *args: got.append(args))
            await client.connect(f"http://127.0.0.1:{port}", transports=("websocket",))
            clients.append(client)
        io.emit("news", b"\x01" * 100, "x")
        await until(lambda: len(got) == 3)
        for client in clients:
            await client.disconnect()
    assert got == [(b"\x01" * 100, "x")] * 3
    assert len(written) == 3 and all(parts is written[0] for parts in written)
    (part,) = written[0]
    assert isinstance(part.packet, bytes)  # one binary Engine.IO message, no attachments
    assert part.frame is not None  # its WebSocket frame, built once for the three


async def test_recovery_replays_missed_binary_packets() -> None:
    io = tether.Server(parser="msgpack", connection_state_recovery=True)
    async with serving(io) as port:
        client = Client(parser="msgpack", reconnection_delay=0.2, randomization_factor=0)
        got: list[Any] = []
        client.on("n", lambda *args: got.append(args))
        await client.connect(f"http://127.0.0.1:{port}", transports=("websocket",))
        sid = client.sid
        io.emit("n", 0)
        await until(lambda: got == [(0,)])
        io.sockets.sockets[sid].conn.engine.close_now("transport error")
        await until(lambda: sid not in io.sockets.sockets)
        io.emit("n", 1, b"\x01")
        await until(lambda: client.connected and got == [(0,), (1, b"\x01")])
        assert client.recovered and client.sid == sid
        await client.disconnect()


async def test_a_client_of_the_other_parser_is_closed() -> None:
    async with serving(tether.Server(parser="msgpack")) as port:
        client = Client(reconnection=False)  # JSON
        with pytest.raises(ConnectError):
            await client.connect(
                f"http://127.0.0.1:{port}", transports=("websocket",), wait_timeout=2
            )
        await client.disconnect()
    async with serving(tether.Server()) as port:
        client = Client(parser="msgpack", reconnection=False)
        with pytest.raises(ConnectError):
            await client.connect(
                f"http://127.0.0.1:{port}", transports=("websocket",), wait_timeout=2
            )
        await client.disconnect()
