"""The app the ``--workers`` tests serve: each worker answers with its pid."""

from __future__ import annotations

import os
import re
from typing import Any

import tether

# With TETHER_TEST_REDIS set, the workers share rooms through Redis instead of the parent.
_redis = os.environ.get("TETHER_TEST_REDIS")
if _redis:
    from tether.adapters.redis import create_adapter

    io = tether.Server(adapter=create_adapter(_redis, key=os.environ["TETHER_TEST_KEY"]))
else:
    io = tether.Server()


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
    (io.to(room) if room else io).emit("shouted", text, os.getpid())
    return "sent"


@io.on("count")
async def count(socket: tether.Socket) -> int:
    return len(await io.fetch_sockets())


# Children of a dynamic namespace exist only on the workers their clients reached.
dynamic = io.of(re.compile(r"^/dyn-\d+$"))


@dynamic.on("gather")
async def gather(socket: tether.Socket) -> int:
    answers = await socket.nsp.timeout(2).emit_with_ack("ask")
    return len(answers)
