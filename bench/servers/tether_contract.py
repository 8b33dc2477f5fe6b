"""The benchmark contract, written with tether's public API as a user would.

Namespace ``/``: ``echo`` acknowledges with exactly its arguments; ``join(room)`` joins and
acknowledges with no arguments; ``fanout({room, count, size})`` emits ``tick(seq, payload)``
to the room ``count`` times, then acknowledges. Listens on 127.0.0.1:$PORT, prints READY.
With ``$REDIS_URL``, joins the cluster there through the Redis adapter; with
``$BENCH_PARSER`` set to ``msgpack``, speaks ``socket.io-msgpack-parser``'s wire.
"""

from __future__ import annotations

import os
from typing import Any

import tether

PARSER = os.environ.get("BENCH_PARSER", "json")
if os.environ.get("REDIS_URL"):  # the cluster scenarios: servers joined by Redis
    from tether.adapters.redis import create_adapter

    io = tether.Server(
        cors_origins="*", adapter=create_adapter(os.environ["REDIS_URL"]), parser=PARSER
    )
else:
    io = tether.Server(cors_origins="*", parser=PARSER)


@io.on("echo")
def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
    return args


@io.on("join")
def join(socket: tether.Socket, room: str) -> None:
    socket.join(room)


@io.on("fanout")
def fanout(socket: tether.Socket, opts: dict[str, Any]) -> None:
    room = io.to(opts["room"])
    payload = "x" * opts["size"]
    for seq in range(opts["count"]):
        room.emit("tick", seq, payload)


if __name__ == "__main__":
    io.run(
        "127.0.0.1",
        int(os.environ.get("PORT", "3000")),
        on_ready=lambda _: print("READY", flush=True),
    )
