"""The benchmark contract written with python-socketio's public API (``socketio.AsyncServer``).

``make(async_mode)`` builds the server; ``psio_uvicorn`` and ``psio_aiohttp`` run it.
"""

from __future__ import annotations

import os
from typing import Any

import socketio


def make(async_mode: str) -> socketio.AsyncServer:
    url = os.environ.get("REDIS_URL")  # the cluster scenarios: servers joined by Redis
    manager = socketio.AsyncRedisManager(url) if url else None
    sio = socketio.AsyncServer(
        async_mode=async_mode,
        cors_allowed_origins="*",
        client_manager=manager,
        # BENCH_PARSER=msgpack: the wire of socket.io-msgpack-parser.
        serializer="msgpack" if os.environ.get("BENCH_PARSER") == "msgpack" else "default",
    )

    @sio.on("echo")
    async def echo(sid: str, *args: Any) -> tuple[Any, ...]:
        return args

    @sio.on("join")
    async def join(sid: str, room: str) -> tuple[()]:
        await sio.enter_room(sid, room)
        return ()

    @sio.on("fanout")
    async def fanout(sid: str, opts: dict[str, Any]) -> tuple[()]:
        room = opts["room"]
        payload = "x" * opts["size"]
        for seq in range(opts["count"]):
            await sio.emit("tick", (seq, payload), to=room)
        return ()

    return sio
