"""Socket.IO v2 clients (Engine.IO v3): the official ``socket.io-client`` 2.x from npm
(tests/interop/sio_v2_client.mjs) against an in-process server with ``allow_eio3``, over
polling, WebSocket and the upgrade from one to the other."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import tether
from tests.compat.support import uvicorn_serving
from tests.interop.harness import INTEROP_DIR, require_node
from tests.support import serving

pytestmark = pytest.mark.interop

TRANSPORTS = ["polling", "websocket", "polling,websocket"]


def make_server(**settings: Any) -> tether.Server:
    io = tether.Server(allow_eio3=True, **settings)

    @io.on("connection")
    def connected(socket: tether.Socket) -> None:
        socket.data["query"] = socket.handshake.query.get("name")

    @io.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    @io.on("ask")
    async def ask(socket: tether.Socket, n: int) -> Any:
        return await socket.emit_with_ack("question", n, timeout=5)

    @io.on("bin")
    def binary(socket: tether.Socket, data: bytes, nested: dict[str, bytes]) -> Any:
        socket.emit("bin-back", data[::-1], {"n": nested["nested"]})
        return [data + nested["nested"], "text"]

    @io.on("whoami")
    def whoami(socket: tether.Socket) -> dict[str, Any]:
        return {
            "id": socket.id,
            "query": socket.data["query"],
            "auth": socket.handshake.auth,
            "rooms": sorted(socket.rooms),
        }

    @io.on("join")
    def join(socket: tether.Socket, room: str) -> bool:
        socket.join(room)
        return True

    @io.on("shout")
    def shout(socket: tether.Socket, room: str, text: str) -> bool:
        io.to(room).emit("news", text)
        io.to(room).emit("news", text, b"\x00\x01\xff")
        return True

    @io.on("drop")
    def drop(socket: tether.Socket) -> None:
        socket.conn.engine.close()

    chat = io.of("/chat")

    @chat.use
    def need_token(socket: tether.Socket) -> None:
        if socket.handshake.auth.get("token") != "abc":
            raise tether.ConnectionRefusedError("no token")

    @chat.on("whoami")
    def chat_whoami(socket: tether.Socket) -> dict[str, Any]:
        return {"id": socket.id, "auth": socket.handshake.auth}

    private = io.of("/private")

    @private.use
    def refuse(socket: tether.Socket) -> None:
        raise tether.ConnectionRefusedError("Not allowed")

    return io


async def drive(
    io: tether.Server, scenario: str, transports: str, asgi: bool = False, **options: Any
) -> Any:
    node = require_node()
    server = uvicorn_serving(tether.ASGIApp(io)) if asgi else serving(io)
    async with server as port:
        proc = await asyncio.create_subprocess_exec(
            node,
            str(INTEROP_DIR / "sio_v2_client.mjs"),
            f"http://127.0.0.1:{port}",
            scenario,
            transports,
            json.dumps(options),
            cwd=INTEROP_DIR,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


@pytest.mark.parametrize("transports", TRANSPORTS)
async def test_events_acks_binary_and_namespaces(transports: str) -> None:
    result = await drive(make_server(), "main", transports)
    assert result["connect"] == "connect"
    engine_id = result["engineId"]
    # The socket of "/" has the session's id, as the v2 client computes it.
    assert result["id"] == engine_id
    assert result["echo"] == ["hello", {"a": 1}, [1, "two"]]
    assert result["ask"] == [42]
    assert result["big"] is True
    assert result["bin"] == [[{"bin": [1, 2, 3, 9]}, "text"]]
    assert result["binEvent"] == [{"bin": [3, 2, 1]}, {"n": {"bin": [9]}}]
    assert result["server"] == [{"id": engine_id, "query": "v2", "auth": {}, "rooms": [engine_id]}]
    # A namespace with a query: its auth; its id is "<nsp>#<session id>" on both sides.
    assert result["chatConnect"] == "connect"
    assert result["chatId"] == f"/chat#{engine_id}"
    assert result["chat"] == [{"id": f"/chat#{engine_id}", "auth": {"token": "abc", "room": "x y"}}]
    # A refusal: the client's "error" event with the message.
    assert result["denied"] == {"error": "Not allowed"}
    expected = "polling" if transports == "polling" else "websocket"
    assert result["transport"] == expected


@pytest.mark.parametrize("transports", TRANSPORTS)
async def test_under_uvicorn(transports: str) -> None:
    result = await drive(make_server(), "main", transports, asgi=True)
    assert result["echo"] == ["hello", {"a": 1}, [1, "two"]]
    assert result["ask"] == [42]
    assert result["big"] is True
    assert result["binEvent"] == [{"bin": [3, 2, 1]}, {"n": {"bin": [9]}}]
    assert result["denied"] == {"error": "Not allowed"}
    assert result["transport"] == ("polling" if transports == "polling" else "websocket")


@pytest.mark.parametrize("transports", ["polling", "websocket"])
async def test_binary_in_base64_when_the_client_asks(transports: str) -> None:
    result = await drive(make_server(), "main", transports, forceBase64=True)
    assert result["bin"] == [[{"bin": [1, 2, 3, 9]}, "text"]]
    assert result["binEvent"] == [{"bin": [3, 2, 1]}, {"n": {"bin": [9]}}]


@pytest.mark.parametrize("transports", TRANSPORTS)
async def test_a_v2_and_a_v4_client_in_one_room(transports: str) -> None:
    result = await drive(make_server(), "mixed", transports)
    news = [["hi all"], ["hi all", {"bin": [0, 1, 255]}]]
    assert result["old"] == news
    assert result["current"] == news


@pytest.mark.parametrize("transports", ["polling", "websocket"])
async def test_client_pings_keep_the_session(transports: str) -> None:
    io = make_server(ping_interval=0.3, ping_timeout=0.5)
    # 2 s: more than twice ping_interval + ping_timeout, after which the server would close
    # a session that does not ping.
    result = await drive(io, "heartbeat", transports, wait=2000)
    assert result["connect"] == "connect"
    assert result["disconnects"] == []
    assert result["sameSession"] is True
    assert result["pongs"] >= 3
    assert result["echo"] == ["still here"]


@pytest.mark.parametrize("transports", TRANSPORTS)
async def test_reconnects_after_the_server_closed_the_session(transports: str) -> None:
    result = await drive(make_server(), "reconnect", transports)
    assert result["connect"] == "connect"
    assert result["disconnect"] == "transport close"
    assert result["changedId"] is True
    assert result["echo"] == ["again"]
