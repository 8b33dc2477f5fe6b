"""The tether Socket.IO app the official ``socket.io-client`` interop tests drive.

Written with the public API only, as a user would. Listens on 127.0.0.1:$PORT (default 3000)
and prints ``READY`` once listening:

    PORT=3000 python tests/interop/sio_app.py              # the native server (uvloop)
    PORT=3000 TETHER_ASGI=1 python tests/interop/sio_app.py  # the same io under uvicorn
    PORT=3000 python tests/interop/sio_app.py --asgi         # same as TETHER_ASGI=1

Settings: path ``/socket.io/``, CORS ``*``, ping 1 s / 1 s, connection state recovery on
(30 s, middlewares skipped on recovery). Namespaces: ``/``, ``/admin`` (a sync middleware
wants ``auth.token == "secret"``, else refuses with a message and data) and the dynamic
``/dyn-<digits>`` (an async middleware refuses ``auth.deny``). Every namespace answers the
events below; ``tests/interop/sio_node_server.mjs`` is the same app on Node's ``socket.io``.

- ``whoami`` -> ack ``{id, nsp, auth, query, header, transport, recovered, rooms, data}``
- ``echo`` / ``echo_async`` (*args) -> ack with the same args; ``echo_none`` -> ack, no args
- ``echo_event`` (event, *args): the server emits ``event`` with ``args`` back
- ``burst`` (n): the server emits ``seq`` 0..n-1; ``count`` (n): ack n + 1 if n arrived in order
- ``join`` (rooms) / ``leave`` (room) -> ack the socket's rooms, sorted
- ``bcast`` (spec) -> ack true: ``{from: "nsp"|"socket", nsp?, to?, except?, volatile?,
  event, args}`` emits ``event`` with ``args`` to the targets
- ``fetch`` (room) -> ack the sorted ids of the sockets in ``room``
- ``sockets_join`` (room, new) / ``sockets_leave`` (room, old) -> ack true
- ``ask`` (timeout, *args): ``socket.timeout(t).emit_with_ack("question", *args)`` -> ack
  ``{kind: "none"|"one"|"many", answer}`` or ``{error: "timeout"|"disconnected"}``
- ``ask_callback`` (*args): ``socket.emit("question", *args, callback=...)``; the answer comes
  back as an ``answered`` event
- ``poll_room`` (room, timeout, *args): ``nsp.to(room).timeout(t).emit_with_ack("poll", ...)``
  -> ack ``{responses, timeout}``
- ``volatile`` (delay): after ``delay`` s, ``nsp.to(socket.id).volatile.emit("v", "volatile")``
- ``kick`` (close): ack, then ``socket.disconnect(close)``
- ``kick_room`` (room, close): ``nsp.in_(room).disconnect_sockets(close)``, ack true
- ``drop``: ack, then abort the Engine.IO connection (a network cut, reason ``transport close``)
- ``drop_and_broadcast`` (spec): abort this socket's connection, then emit ``spec.count`` events
  ``{room, event, n}`` to ``spec.room`` (or to the socket's own id with ``spec.direct``)
- ``reason_of`` (sid) -> ack the server-side disconnect reason of ``sid`` (or null)
- ``outcome_of`` (sid) -> ack how the last ``ask`` of ``sid`` ended: ``pending``, ``answered``,
  ``timeout`` or ``disconnected`` (``emit_with_ack`` raised ``DisconnectedError``)

Every socket whose ``auth.run`` is set joins the room ``run:<run>``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import re
import sys
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import tether
from tether import ConnectionRefusedError, Socket

io = tether.Server(
    cors_origins="*",
    ping_interval=1.0,
    ping_timeout=1.0,
    connection_state_recovery=tether.RecoveryOptions(
        max_disconnection_duration=30, skip_middlewares=True
    ),
)
admin = io.of("/admin")
dynamic = io.of(re.compile(r"/dyn-\d+"))

#: Server-side disconnect reasons by socket id (the last 1000).
reasons: OrderedDict[str, str] = OrderedDict()
#: How the last ``ask`` of each socket ended: pending, answered, timeout or disconnected.
outcomes: dict[str, str] = {}


def connected(socket: Socket) -> None:
    run = socket.handshake.auth.get("run")
    if isinstance(run, str):
        socket.join(f"run:{run}")
    name = socket.handshake.auth.get("name")
    if not socket.recovered and isinstance(name, str):
        socket.data["name"] = name


def disconnected(socket: Socket, reason: str) -> None:
    reasons[socket.id] = reason
    while len(reasons) > 1000:
        reasons.popitem(last=False)
        outcomes.clear()


def whoami(socket: Socket) -> dict[str, Any]:
    return {
        "id": socket.id,
        "nsp": socket.nsp.name,
        "auth": socket.handshake.auth,
        "query": socket.handshake.query,
        "header": socket.handshake.headers.get("x-tether-test"),
        "transport": socket.transport,
        "recovered": socket.recovered,
        "rooms": sorted(socket.rooms),
        "data": socket.data,
    }


def echo(socket: Socket, *args: Any) -> tuple[Any, ...]:
    return args


async def echo_async(socket: Socket, *args: Any) -> tuple[Any, ...]:
    await asyncio.sleep(0.001)
    return args


def echo_none(socket: Socket, *args: Any) -> None:
    return None


def echo_event(socket: Socket, event: str, *args: Any) -> None:
    socket.emit(event, *args)


def burst(socket: Socket, n: int) -> None:
    for i in range(n):
        socket.emit("seq", i)


def count(socket: Socket, n: int) -> int:
    expected = socket.data.get("count", 0)
    if n != expected:
        return -1
    socket.data["count"] = n + 1
    return n + 1


def join(socket: Socket, rooms: str | list[str]) -> list[str]:
    socket.join(rooms)
    return sorted(socket.rooms)


def leave(socket: Socket, room: str) -> list[str]:
    socket.leave(room)
    return sorted(socket.rooms)


def bcast(socket: Socket, spec: dict[str, Any]) -> bool:
    nsp = io.of(spec["nsp"]) if spec.get("nsp") else socket.nsp
    target: Any = socket if spec.get("from") == "socket" else nsp
    if spec.get("broadcast"):
        target = socket.broadcast
    if spec.get("to"):
        target = target.to(spec["to"])
    if spec.get("except"):
        target = target.except_(spec["except"])
    if spec.get("volatile"):
        target = target.volatile
    target.emit(spec["event"], *spec.get("args", []))
    return True


async def fetch(socket: Socket, room: str) -> list[str]:
    return sorted(s.id for s in await socket.nsp.in_(room).fetch_sockets())


def sockets_join(socket: Socket, room: str, new: str) -> bool:
    socket.nsp.in_(room).sockets_join(new)
    return True


def sockets_leave(socket: Socket, room: str, old: str) -> bool:
    socket.nsp.in_(room).sockets_leave(old)
    return True


async def ask(socket: Socket, timeout: float, *args: Any) -> dict[str, Any]:
    sid = socket.id
    outcomes[sid] = "pending"
    try:
        answer = await socket.timeout(timeout).emit_with_ack("question", *args)
    except tether.AckTimeoutError:
        outcomes[sid] = "timeout"
        return {"error": "timeout"}
    except tether.DisconnectedError:
        outcomes[sid] = "disconnected"
        return {"error": "disconnected"}
    outcomes[sid] = "answered"
    if answer is None:
        return {"kind": "none", "answer": None}
    if isinstance(answer, tuple):
        return {"kind": "many", "answer": list(answer)}
    return {"kind": "one", "answer": answer}


def ask_callback(socket: Socket, *args: Any) -> None:
    socket.emit("question", *args, callback=lambda *answer: socket.emit("answered", *answer))


async def poll_room(socket: Socket, room: str, timeout: float, *args: Any) -> dict[str, Any]:
    try:
        responses = await socket.nsp.to(room).timeout(timeout).emit_with_ack("poll", *args)
    except tether.AckTimeoutError as exc:
        return {"responses": exc.responses, "timeout": True}
    return {"responses": responses, "timeout": False}


async def volatile(socket: Socket, delay: float) -> bool:
    await asyncio.sleep(delay)
    socket.nsp.to(socket.id).volatile.emit("v", "volatile")
    return True


def kick(socket: Socket, close: bool) -> bool:
    asyncio.get_running_loop().call_later(0.05, socket.disconnect, bool(close))
    return True


def kick_room(socket: Socket, room: str, close: bool) -> bool:
    socket.nsp.in_(room).disconnect_sockets(bool(close))
    return True


def cut(socket: Socket) -> None:
    """Abort the Engine.IO connection as a network cut would (reason ``transport close``)."""
    socket.conn.engine.close_now("transport close")


def drop(socket: Socket) -> bool:
    asyncio.get_running_loop().call_later(0.05, cut, socket)
    return True


def drop_and_broadcast(socket: Socket, spec: dict[str, Any]) -> None:
    def later() -> None:
        sid = socket.id
        cut(socket)
        room = sid if spec.get("direct") else spec["room"]
        for n in range(1, int(spec["count"]) + 1):
            socket.nsp.to(room).emit(spec["event"], {"room": room, "n": n})

    asyncio.get_running_loop().call_soon(later)


def reason_of(socket: Socket, sid: str) -> str | None:
    return reasons.get(sid)


def outcome_of(socket: Socket, sid: str) -> str | None:
    return outcomes.get(sid)


async def refuse_without_token(socket: Socket) -> None:
    if socket.handshake.auth.get("token") != "secret":
        raise ConnectionRefusedError(
            "not authorized", {"code": 401, "token": socket.handshake.auth.get("token")}
        )


async def refuse_denied(socket: Socket) -> None:
    await asyncio.sleep(0.001)
    if socket.handshake.auth.get("deny"):
        raise ConnectionRefusedError("denied", {"nsp": socket.nsp.name})


HANDLERS: dict[str, Callable[..., Any]] = {
    "whoami": whoami,
    "echo": echo,
    "echo_async": echo_async,
    "echo_none": echo_none,
    "echo_event": echo_event,
    "burst": burst,
    "count": count,
    "join": join,
    "leave": leave,
    "bcast": bcast,
    "fetch": fetch,
    "sockets_join": sockets_join,
    "sockets_leave": sockets_leave,
    "ask": ask,
    "ask_callback": ask_callback,
    "poll_room": poll_room,
    "volatile": volatile,
    "kick": kick,
    "kick_room": kick_room,
    "drop": drop,
    "drop_and_broadcast": drop_and_broadcast,
    "reason_of": reason_of,
    "outcome_of": outcome_of,
}

for namespace in (io.sockets, admin, dynamic):
    namespace.on("connection", connected)
    namespace.on("disconnect", disconnected)
    for event, handler in HANDLERS.items():
        namespace.on(event, handler)
admin.use(lambda socket: None)  # a sync middleware before the async one
admin.use(refuse_without_token)
dynamic.use(refuse_denied)


def ready(_: object) -> None:
    print("READY", flush=True)


def serve_asgi(port: int) -> None:
    """``uvicorn.run`` with a watcher thread that prints READY once uvicorn listens."""
    import threading
    import time

    import uvicorn

    config = uvicorn.Config(tether.ASGIApp(io), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)

    def watch() -> None:
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.01)
        ready(server)

    threading.Thread(target=watch, daemon=True).start()
    server.run()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    port = int(os.environ.get("PORT", "3000"))
    if os.environ.get("TETHER_ASGI") == "1" or "--asgi" in sys.argv[1:]:
        if importlib.util.find_spec("uvicorn") is None:
            raise SystemExit("TETHER_ASGI=1 needs uvicorn (pip install uvicorn==0.54.0)")
        if not any(importlib.util.find_spec(lib) for lib in ("websockets", "wsproto")):
            raise SystemExit("uvicorn serves WebSocket only with websockets or wsproto installed")
        serve_asgi(port)
    else:
        io.run("127.0.0.1", port, on_ready=ready)


if __name__ == "__main__":
    main()
