"""tether.client.Client against the reference Node server (npm ``socket.io`` 4.8).

The server is tests/interop/sio_node_server.mjs (ping 1 s / 1 s, connection state recovery,
``/admin`` needs ``auth.token == "secret"``); override the command with
``TETHER_CLIENT_NODE_SERVER_CMD``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tests.interop.harness import ServerProcess, require_node
from tests.support import ROOT, free_port, until
from tether.client import Client, ConnectError

pytestmark = pytest.mark.interop

TRANSPORTS = [("websocket",), ("polling",), ("polling", "websocket")]


@pytest.fixture(scope="module")
def node_server() -> Iterator[ServerProcess]:
    server = ServerProcess(
        "TETHER_CLIENT_NODE_SERVER_CMD", ["node", "tests/interop/sio_node_server.mjs"]
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("transports", TRANSPORTS)
async def test_acks_binary_and_transport(
    node_server: ServerProcess, transports: tuple[str, ...]
) -> None:
    client = Client()
    await client.connect(
        node_server.url,
        transports=transports,
        auth={"name": "py"},
        headers={"X-Tether-Test": "h"},
    )
    me = await client.emit_with_ack("whoami", timeout=3)
    assert me["id"] == client.sid
    assert me["auth"] == {"name": "py"}
    assert me["header"] == "h"
    assert await client.emit_with_ack("echo", 1, "two", None, timeout=3) == (1, "two", None)
    assert await client.emit_with_ack("echo", {"b": b"\x00\xff"}, timeout=3) == {"b": b"\x00\xff"}
    assert await client.emit_with_ack("echo_none", 1, timeout=3) is None
    if transports == ("polling", "websocket"):
        await until(lambda: client.transport == "websocket")
        expected = "websocket"
    else:
        expected = transports[0]
    me = await client.emit_with_ack("whoami", timeout=3)
    assert me["transport"] == expected
    # Server-initiated acks, answered by sync and coroutine handlers.
    client.on("question", lambda *args: args)
    assert await client.emit_with_ack("ask", 2, "a", b"\x01", timeout=3) == {
        "kind": "many",
        "answer": ["a", b"\x01"],
    }

    async def one(*args: Any) -> Any:
        return args[0]

    client.on("question", one)
    assert await client.emit_with_ack("ask", 2, "x", timeout=3) == {"kind": "one", "answer": "x"}
    await client.disconnect()


async def test_namespaces_and_connect_error_data(node_server: ServerProcess) -> None:
    client = Client()
    errors: list[Any] = []
    client.on("connect_error", errors.append, namespace="/admin")
    with pytest.raises(ConnectError) as info:
        await client.connect(node_server.url, namespaces=["/admin"], auth={"token": "bad"})
    assert info.value.message == "not authorized"
    assert info.value.data == {"code": 401, "token": "bad"}
    assert errors == [{"message": "not authorized", "data": {"code": 401, "token": "bad"}}]

    await client.connect(
        node_server.url, namespaces=["/", "/admin", "/dyn-7"], auth={"token": "secret"}
    )
    admin = await client.emit_with_ack("whoami", namespace="/admin", timeout=3)
    dyn = await client.emit_with_ack("whoami", namespace="/dyn-7", timeout=3)
    assert admin["nsp"] == "/admin"
    assert admin["id"] == client.get_sid("/admin")
    assert dyn["nsp"] == "/dyn-7"
    assert len({client.sid, admin["id"], dyn["id"]}) == 3
    await client.disconnect()


async def test_server_kick_does_not_reconnect(node_server: ServerProcess) -> None:
    client = Client(reconnection_delay=0.05)
    reasons: list[str] = []
    attempts: list[int] = []
    client.on("disconnect", reasons.append)
    client.on("reconnect_attempt", attempts.append)
    await client.connect(node_server.url, transports=["websocket"])
    assert await client.emit_with_ack("kick", False, timeout=3) is True
    await asyncio.wait_for(client.wait(), 3)
    await asyncio.sleep(0.2)
    assert reasons == ["io server disconnect"]
    assert attempts == []


@pytest.mark.parametrize("transports", [("websocket",), ("polling",)])
async def test_recovery_with_missed_packets(
    node_server: ServerProcess, transports: tuple[str, ...]
) -> None:
    client = Client(reconnection_delay=0.05, randomization_factor=0)
    got: list[Any] = []
    client.on("missed", lambda data, *offset: got.append(data["n"]))
    reasons: list[str] = []
    client.on("disconnect", reasons.append)
    await client.connect(node_server.url, transports=transports, auth={"name": "rec"})
    sid = client.sid
    # A broadcast first, so that the client holds an offset.
    await client.emit_with_ack("bcast", {"event": "missed", "args": [{"n": 0}]}, timeout=3)
    await until(lambda: got == [0])
    assert not client.recovered
    client.emit("drop_and_broadcast", {"event": "missed", "count": 3, "direct": True})
    await until(lambda: got == [0, 1, 2, 3] and client.connected)
    assert client.recovered
    assert client.sid == sid
    assert reasons == ["transport close"]
    me = await client.emit_with_ack("whoami", timeout=3)
    assert me["recovered"] is True
    assert me["data"] == {"name": "rec"}
    await client.disconnect()


async def _start_node(port: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        require_node(),
        "tests/interop/sio_node_server.mjs",
        cwd=ROOT,
        env={**__import__("os").environ, "PORT": str(port)},
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    async with asyncio.timeout(15):
        while (await process.stdout.readline()).strip() != b"READY":
            pass
    return process


async def test_reconnects_after_the_node_server_process_is_killed_and_restarted() -> None:
    port = free_port()
    server = await _start_node(port)
    client = Client(reconnection_delay=0.1, reconnection_delay_max=0.3)
    events: list[str] = []
    client.on("disconnect", lambda reason: events.append(f"disconnect:{reason}"))
    client.on("reconnect", lambda attempt: events.append("reconnect"))
    try:
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        first_sid = client.sid
        server.kill()
        await server.wait()
        await until(lambda: not client.connected)
        echoed: list[Any] = []
        client.on("echo", lambda *args: echoed.append(args))
        answer = asyncio.ensure_future(client.emit_with_ack("echo", "buffered", timeout=15))
        await asyncio.sleep(0.5)  # a few failed attempts while nothing listens
        server = await _start_node(port)
        assert await answer == "buffered"
        await until(lambda: client.connected)
        assert client.sid != first_sid  # a new server process: a new session
        assert events[0] == "disconnect:transport close"
        assert "reconnect" in events
        await client.disconnect()
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
        if server.stdout is not None:
            server.stdout.feed_eof()
