"""``socket.io-msgpack-parser`` 3.0.2 on both sides of tether (issue #19):

- the official ``socket.io-client`` 4.8 with that parser (tests/interop/sio_msgpack_client.mjs)
  against a tether server with ``parser="msgpack"``: events, acks both ways, binary both
  ways, namespaces, a room broadcast, a refused connection;
- ``tether.Client(parser="msgpack")`` against the reference Node server with that parser
  (``node tests/interop/sio_node_server.mjs msgpack``): acks, binary, namespaces,
  ``connect_error`` data, connection state recovery.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

import tether
from tests.interop.harness import INTEROP_DIR, ServerProcess, require_node
from tests.support import serving, until
from tether.client import Client, ConnectError

pytestmark = pytest.mark.interop


def msgpack_server() -> tether.Server:
    io = tether.Server(parser="msgpack")

    @io.on("connection")
    def connected(socket: tether.Socket) -> None:
        socket.emit("welcome", socket.id, b"\x00hi")

    def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    io.on("echo", echo)
    io.of("/admin").on("echo", echo)

    @io.on("describe")
    def describe(socket: tether.Socket, *args: Any) -> list[Any]:
        def kind(value: Any) -> Any:
            if isinstance(value, bytes):
                return ["bytes", value.hex()]
            if isinstance(value, dict):
                return {k: kind(v) for k, v in value.items()}
            return [type(value).__name__, value]

        return [kind(arg) for arg in args]

    @io.on("ask")
    async def ask(socket: tether.Socket, x: int) -> Any:
        return await socket.timeout(5).emit_with_ack("question", x, b"\x01")

    @io.on("join")
    def join(socket: tether.Socket, room: str) -> bool:
        socket.join(room)
        return True

    @io.on("shout")
    def shout(socket: tether.Socket, room: str, *args: Any) -> bool:
        io.to(room).emit("news", *args)
        return True

    @io.of("/private").use
    def refuse(socket: tether.Socket) -> None:
        raise tether.ConnectionRefusedError("private", {"code": 42, "raw": "x"})

    return io


def bin_(data: bytes) -> dict[str, str]:
    return {"$bin": data.hex()}


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_the_official_client_with_the_msgpack_parser(transport: str) -> None:
    node = require_node()
    io = msgpack_server()
    async with serving(io) as port:
        proc = await asyncio.create_subprocess_exec(
            node,
            str(INTEROP_DIR / "sio_msgpack_client.mjs"),
            f"http://127.0.0.1:{port}",
            transport,
            cwd=INTEROP_DIR,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    result = json.loads(out)
    sid, hello = result["welcome"]
    assert isinstance(sid, str) and hello == bin_(b"\x00hi")
    assert result["echo"] == [1, "two", {"three": [3, None]}, bin_(b"\x00\x01\xff")]
    # A Buffer (bin) and a Uint8Array (ext type 0) both arrive as bytes.
    assert result["describe"] == [
        ["bytes", b"buf".hex()],
        ["bytes", "070809"],
        {"nested": ["bytes", "04"]},
    ]
    assert result["ask"] == [42, bin_(b"\x01\x2a")]
    assert result["admin"] == ["in admin", bin_(b"\x01")]
    assert result["news"] == [["hello", bin_(b"\x09\x09")]] * 2
    assert result["refused"] == {"message": "private", "data": {"code": 42, "raw": "x"}}


# -- tether.Client against Node's server with the msgpack parser -----------------------------


@pytest.fixture(scope="module")
def node_server() -> Iterator[ServerProcess]:
    server = ServerProcess(
        "TETHER_CLIENT_NODE_MSGPACK_SERVER_CMD",
        ["node", "tests/interop/sio_node_server.mjs", "msgpack"],
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("transports", [("websocket",), ("polling",), ("polling", "websocket")])
async def test_tether_client_against_node_with_msgpack(
    node_server: ServerProcess, transports: tuple[str, ...]
) -> None:
    client = Client(parser="msgpack")
    await client.connect(node_server.url, transports=transports, auth={"name": "py"})
    me = await client.emit_with_ack("whoami", timeout=3)
    assert me["id"] == client.sid and me["auth"] == {"name": "py"}
    assert await client.emit_with_ack("echo", 1, "two", None, timeout=3) == (1, "two", None)
    assert await client.emit_with_ack("echo", {"b": b"\x00\xff"}, timeout=3) == {"b": b"\x00\xff"}
    assert await client.emit_with_ack("echo_none", 1, timeout=3) is None
    client.on("question", lambda *args: args)
    assert await client.emit_with_ack("ask", 2, "a", b"\x01", timeout=3) == {
        "kind": "many",
        "answer": ["a", b"\x01"],
    }
    await client.disconnect()


async def test_tether_client_namespaces_and_refusal_with_msgpack(
    node_server: ServerProcess,
) -> None:
    client = Client(parser="msgpack")
    with pytest.raises(ConnectError) as info:
        await client.connect(node_server.url, namespaces=["/admin"], auth={"token": "bad"})
    assert info.value.message == "not authorized"
    assert info.value.data == {"code": 401, "token": "bad"}
    await client.connect(node_server.url, namespaces=["/", "/admin"], auth={"token": "secret"})
    admin = await client.emit_with_ack("whoami", namespace="/admin", timeout=3)
    assert admin["nsp"] == "/admin" and admin["id"] == client.get_sid("/admin")
    await client.disconnect()


async def test_tether_client_recovery_with_msgpack(node_server: ServerProcess) -> None:
    client = Client(parser="msgpack", reconnection_delay=0.05, randomization_factor=0)
    got: list[Any] = []
    client.on("missed", lambda data, *offset: got.append(data["n"]))
    await client.connect(node_server.url, transports=("websocket",), auth={"name": "rec"})
    sid = client.sid
    await client.emit_with_ack("bcast", {"event": "missed", "args": [{"n": 0}]}, timeout=3)
    await until(lambda: got == [0])
    client.emit("drop_and_broadcast", {"event": "missed", "count": 3, "direct": True})
    await until(lambda: got == [0, 1, 2, 3] and client.connected)
    assert client.recovered and client.sid == sid
    me = await client.emit_with_ack("whoami", timeout=3)
    assert me["recovered"] is True and me["data"] == {"name": "rec"}
    await client.disconnect()
