"""The blocking Redis emitter (``BlockingEmitter``), from plain threads with no event loop,
against a tether server on a real redis-server with the Redis adapter."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

import tether
from tests.support import RedisServer, serving, until
from tether.adapters.redis import create_adapter
from tether.adapters.redis.emitter import BlockingEmitter

pytestmark = pytest.mark.cluster


async def test_blocking_emitter_from_threads(redis_server: RedisServer) -> None:
    io = tether.Server(adapter=create_adapter(redis_server.url, key="blocking"))
    notes: list[Any] = []
    io.on_server_side("note", lambda *args: notes.append(args))
    io.on("join", lambda socket, room: socket.join(room))
    admin = io.of("/admin")
    async with serving(io) as port:
        got: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        clients = {}
        for name in ("a", "b"):
            client = tether.Client(reconnection=False)
            for nsp in ("/", "/admin"):
                client.on_any(
                    lambda event, *args, name=name: got.put_nowait((name, event, *args)),
                    namespace=nsp,
                )
            await client.connect(f"http://127.0.0.1:{port}", namespaces=["/", "/admin"])
            clients[name] = client
        await clients["a"].emit_with_ack("join", "room", timeout=5)

        async def next_event() -> Any:
            return await asyncio.wait_for(got.get(), 5)

        with BlockingEmitter(redis_server.url, key="blocking") as emitter:
            # many threads share one emitter
            threads = [
                threading.Thread(target=emitter.to("room").emit, args=("news", n, b"\x01"))
                for n in range(10)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                await asyncio.to_thread(thread.join)
            received = [await next_event() for _ in range(10)]
            assert sorted(received) == [("a", "news", n, b"\x01") for n in range(10)]
            assert got.empty()

            await asyncio.to_thread(emitter.except_("room").emit, "others")
            assert await next_event() == ("b", "others")
            await asyncio.to_thread(emitter.of("/admin").emit, "audit", {"x": 1})
            audits = sorted([await next_event(), await next_event()], key=str)
            assert audits == [("a", "audit", {"x": 1}), ("b", "audit", {"x": 1})]

            b_sid = clients["b"].get_sid("/")
            await asyncio.to_thread(emitter.to(b_sid).sockets_join, "joined")
            await until(lambda: "joined" in io.sockets.sockets[b_sid].rooms, "b in the room")
            await asyncio.to_thread(emitter.to("joined").sockets_leave, "joined")
            await until(lambda: "joined" not in io.sockets.sockets[b_sid].rooms, "b out")
            await asyncio.to_thread(emitter.server_side_emit, "note", "from a thread")
            await until(lambda: notes == [("from a thread",)], "the server-side note")
            a_admin = clients["a"].get_sid("/admin")
            await asyncio.to_thread(emitter.of("/admin").to(a_admin).disconnect_sockets)
            await until(lambda: a_admin not in admin.sockets, "a out of /admin")
        for client in clients.values():
            await client.disconnect()
    await io.close_adapters()
