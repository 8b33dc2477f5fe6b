"""The app of the cluster engine tests behind nginx and under ``uvicorn --workers``: a server
that serves any session of its cluster (Redis cluster engine), shares rooms through the
Redis streams adapter and recovers sessions. ``TETHER_TEST_REDIS`` and ``TETHER_TEST_KEY``
name the Redis and the prefix of the cluster."""

from __future__ import annotations

import os
from typing import Any

import tether
from tether.adapters.redis import create_engine
from tether.adapters.redis.streams import create_adapter

_redis = os.environ["TETHER_TEST_REDIS"]
_key = os.environ["TETHER_TEST_KEY"]
# TETHER_TEST_PINGS="interval,timeout" (seconds): shorter heartbeats, to notice a dead server.
_pings = [float(x) for x in os.environ.get("TETHER_TEST_PINGS", "25,20").split(",")]

io = tether.Server(
    ping_interval=_pings[0],
    ping_timeout=_pings[1],
    adapter=create_adapter(
        _redis,
        stream_name=_key,
        channel_prefix=_key,
        session_key_prefix=f"{_key}:s:",
        block_time=0.5,
    ),
    connection_state_recovery=tether.RecoveryOptions(max_disconnection_duration=30),
    # TETHER_TEST_NO_ENGINE: without the cluster engine (to see the tests fail).
    cluster_engine=None
    if os.environ.get("TETHER_TEST_NO_ENGINE")
    else create_engine(_redis, channel_prefix=f"{_key}-eio"),
)
app = tether.ASGIApp(io)


@io.on("whoami")
def whoami(socket: tether.Socket) -> int:
    return os.getpid()


@io.on("echo")
def echo(socket: tether.Socket, *args: Any) -> list[Any]:
    return list(args)


@io.on("join")
def join(socket: tether.Socket, room: str) -> str:
    socket.join(room)
    return "joined"


@io.on("shout")
def shout(socket: tether.Socket, room: str | None, text: str) -> str:
    (io.to(room) if room else io).emit("shouted", text)
    return "sent"
