"""A mixed cluster on one real redis-server: a python-socketio server (PyPI, its own
``AsyncRedisManager``) and a tether server (``tether.compat.socketio.AsyncRedisManager``),
each serving its own clients; broadcasts, room emits, binary data, cross-server room joins
and disconnects, both ways. And the pickles of older python-socketio versions: read through
a restricted unpickler that refuses anything but builtin data."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pathlib
import pickle
import types
from typing import Any

import pytest
import redis
import socketio as psio

from tests.compat.support import uvicorn_serving
from tests.support import RedisServer, serving, until
from tether import Client
from tether.compat import socketio as compat
from tether.compat.socketio.redis_manager import loads

pytestmark = pytest.mark.cluster


def build(socketio: types.ModuleType, url: str) -> Any:
    """The same server, written once against python-socketio's API."""
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=socketio.AsyncRedisManager(url))

    @sio.event
    async def join(sid: str, room: str) -> str:
        await sio.enter_room(sid, room)
        return "joined"

    @sio.event
    async def shout(sid: str, data: Any) -> str:
        await sio.emit("shout", data)
        return "ok"

    @sio.event
    async def to_room(sid: str, room: str, data: Any) -> str:
        await sio.emit("room", data, room=room, skip_sid=sid)
        return "ok"

    @sio.event
    async def put_in(sid: str, other: str, room: str) -> str:
        await sio.enter_room(other, room)
        return "ok"

    @sio.event
    async def kick(sid: str, other: str) -> str:
        await sio.disconnect(other)
        return "ok"

    return sio


class Received:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def __call__(self, event: str, *args: Any) -> None:
        self.queue.put_nowait((event, args[0] if len(args) == 1 else args))

    async def next(self) -> tuple[str, Any]:
        return await asyncio.wait_for(self.queue.get(), 5)


async def test_mixed_cluster(redis_server: RedisServer) -> None:
    url = redis_server.url
    reference = build(psio, url)
    ours = build(compat, url)
    async with (
        uvicorn_serving(psio.ASGIApp(reference)) as psio_port,
        serving(ours.tether_server) as tether_port,
    ):
        # a: python-socketio's client on the python-socketio server; b: tether's on tether
        a_got, b_got = Received(), Received()
        a = psio.AsyncClient(reconnection=False)
        for event in ("shout", "room"):
            a.on(event, lambda *args, event=event: a_got(event, *args))
        b = Client(reconnection=False)
        b.on_any(b_got)
        await a.connect(f"http://127.0.0.1:{psio_port}", wait_timeout=3)
        await b.connect(f"http://127.0.0.1:{tether_port}")
        # python-socketio subscribes once its first client is in
        await until(lambda: redis_server.numsub("socketio") == 2, "both servers subscribed")

        assert await a.call("shout", "from python-socketio") == "ok"
        assert await b_got.next() == ("shout", "from python-socketio")
        assert await b.emit_with_ack("shout", {"from": "tether"}, timeout=5) == "ok"
        assert await b_got.next() == ("shout", {"from": "tether"})
        assert await a_got.next() == ("shout", "from python-socketio")
        assert await a_got.next() == ("shout", {"from": "tether"})

        for client in (a, b):
            call = client.call if client is a else b.emit_with_ack
            assert await call("join", "r") == "joined"
        assert await a.call("to_room", ("r", "a to r")) == "ok"
        assert await b_got.next() == ("room", "a to r")
        assert await b.emit_with_ack("to_room", "r", "b to r") == "ok"
        assert await a_got.next() == ("room", "b to r")

        # binary data in python-socketio's format (placeholders, base64 attachments)
        assert await a.call("shout", {"blob": b"\x00\x01from a"}) == "ok"
        assert await b_got.next() == ("shout", {"blob": b"\x00\x01from a"})
        assert await b.emit_with_ack("shout", [b"\xffb", "text"]) == "ok"
        assert await b_got.next() == ("shout", [b"\xffb", "text"])
        assert await a_got.next() == ("shout", {"blob": b"\x00\x01from a"})
        assert await a_got.next() == ("shout", [b"\xffb", "text"])

        # rooms joined across servers: each server puts the other's client in a room
        assert await a.call("put_in", (b.sid, "x")) == "ok"
        assert await a.call("to_room", ("x", "a to x")) == "ok"
        assert await b_got.next() == ("room", "a to x")
        assert await b.emit_with_ack("put_in", a.get_sid(), "y") == "ok"
        assert await b.emit_with_ack("to_room", "y", "b to y") == "ok"
        assert await a_got.next() == ("room", "b to y")

        # external emitters (write-only managers in a process that is not a server): ours
        # and python-socketio's, to a room and to everybody
        for cls in (compat.AsyncRedisManager, psio.AsyncRedisManager):
            external = cls(url, write_only=True)
            await external.emit("shout", ("external", cls.__module__[:6]), room="r")
            expected = ("shout", ("external", cls.__module__[:6]))
            assert await a_got.next() == expected
            assert await b_got.next() == expected
            if cls is compat.AsyncRedisManager:
                await external.close()
            else:
                await close_reference(external)

        # a disconnect across servers
        gone = asyncio.Event()
        a.on("disconnect", lambda *reason: gone.set())
        assert await b.emit_with_ack("kick", a.get_sid()) == "ok"
        await asyncio.wait_for(gone.wait(), 5)
        await a.disconnect()
        await b.disconnect()
    await ours.tether_server.close_adapters()
    await close_reference(reference.manager)


async def close_reference(manager: Any) -> None:
    """python-socketio's manager keeps its Redis connections and listening task open."""
    if getattr(manager, "thread", None) is not None:
        manager.thread.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await manager.thread
    if manager.pubsub is not None:
        await manager.pubsub.aclose()
    if manager.redis is not None:
        await manager.redis.aclose()


def _message(event: str, *args: Any) -> dict[str, Any]:
    return {
        "method": "emit",
        "event": event,
        "data": list(args),
        "binary": False,
        "namespace": "/",
        "room": None,
        "skip_sid": None,
        "callback": None,
        "host_id": "an-older-python-socketio",
    }


class Touch:
    """A pickle that would create a file when unpickled."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (pathlib.Path.touch, (self.path,))


async def test_pickles_of_older_python_socketio(
    redis_server: RedisServer, tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    sio = compat.AsyncServer(client_manager=compat.AsyncRedisManager(redis_server.url))
    manager = sio.manager
    async with serving(sio.tether_server) as port:
        got = Received()
        client = Client(reconnection=False)
        client.on_any(got)
        await client.connect(f"http://127.0.0.1:{port}")
        publisher = redis.Redis.from_url(redis_server.url)
        try:
            # the pickle python-socketio 5.13 and earlier publish: read
            publisher.publish("socketio", pickle.dumps(_message("old", {"set": "ok"}, 1.5)))
            assert await got.next() == ("old", ({"set": "ok"}, 1.5))
            # a pickle that names anything but builtin data: refused, logged, never run
            marker = tmp_path / "pwned"
            with caplog.at_level(logging.WARNING, "tether.compat"):
                evil = _message("evil", Touch(marker))
                publisher.publish("socketio", pickle.dumps(evil, protocol=2))
                publisher.publish("socketio", pickle.dumps(_message("after")))
                assert await got.next() == ("after", ())
            assert not marker.exists()
            assert manager.refused == 1
            assert "message refused" in caplog.text
        finally:
            publisher.close()
        await client.disconnect()
    await sio.shutdown()


def test_loads() -> None:
    assert loads(b'{"method": "emit"}') == {"method": "emit"}
    data = {"a": [1, 2.5, None, True], "c": {1, 2}, "d": frozenset({"z"}), "e": (1,)}
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        assert loads(pickle.dumps(data, protocol=protocol)) == data
    # bytes: python-socketio pickles with the default protocol (4 or 5); protocols 2 and 3
    # name _codecs.encode for them, refused like any other function
    for protocol in range(4, pickle.HIGHEST_PROTOCOL + 1):
        assert loads(pickle.dumps({"b": b"x"}, protocol=protocol)) == {"b": b"x"}
    for forbidden in (pickle.dumps(pathlib.Path("/")), pickle.dumps(Touch(pathlib.Path("/x")))):
        with pytest.raises(ValueError, match="unsafe or invalid pickle"):
            loads(forbidden)
