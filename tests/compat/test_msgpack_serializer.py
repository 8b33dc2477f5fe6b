"""python-socketio's ``serializer="msgpack"`` (the wire of ``socket.io-msgpack-parser``) and
tether's ``parser="msgpack"`` (issue #19): python-socketio's own client (PyPI) against a
tether server, and tether's compat client against python-socketio's own server (uvicorn)."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio as psio

from tests.compat.support import uvicorn_serving
from tests.support import serving
from tether.compat import socketio


def tether_app() -> socketio.AsyncServer:
    sio = socketio.AsyncServer(serializer="msgpack")

    @sio.on("echo")
    async def echo(sid: str, *args: Any) -> tuple[Any, ...]:
        return args

    @sio.on("ask")
    async def ask(sid: str, data: Any) -> Any:
        return await sio.call("question", data, to=sid, timeout=3)

    return sio


async def test_python_socketio_client_with_msgpack_on_tether() -> None:
    sio = tether_app()
    async with serving(sio.tether_server) as port:
        client = psio.AsyncClient(reconnection=False, serializer="msgpack")

        @client.on("question")
        def question(data: Any) -> Any:
            return ["answer", data]

        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        assert await client.call("echo", [1, b"\x00\xff", {"k": None}], timeout=3) == [
            1,
            b"\x00\xff",
            {"k": None},
        ]
        assert await client.call("ask", b"\x01", timeout=3) == ["answer", b"\x01"]
        await client.disconnect()


async def test_compat_client_with_msgpack_on_python_socketio() -> None:
    server = psio.AsyncServer(async_mode="asgi", serializer="msgpack")
    got: asyncio.Queue[Any] = asyncio.Queue()

    @server.on("connect")
    async def connect(sid: str, environ: dict[str, Any]) -> None:
        await server.emit("hello", b"\x02\x03", to=sid)

    @server.on("echo")
    async def echo(sid: str, data: Any) -> Any:
        return data

    async with uvicorn_serving(psio.ASGIApp(server)) as port:
        client = socketio.AsyncClient(reconnection=False, serializer="msgpack")
        client.on("hello", got.put_nowait)
        await client.connect(f"http://127.0.0.1:{port}", transports=["polling", "websocket"])
        assert await asyncio.wait_for(got.get(), 5) == b"\x02\x03"
        assert await client.call("echo", {"b": b"\x04", "n": 1.5}, timeout=3) == {
            "b": b"\x04",
            "n": 1.5,
        }
        await client.disconnect()
