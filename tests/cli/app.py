"""The server the CLI tests talk to: ``python -m tests.cli.app`` prints its port."""

from __future__ import annotations

import sys
from typing import Any

import tether
from tether.aio.listener import Listener

io = tether.Server(connection_state_recovery=True)


@io.on("echo")
def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
    return args


@io.on("broadcast")
def broadcast(socket: tether.Socket, *args: Any) -> None:
    io.emit("broadcast", *args)


@io.on("blob")
def blob(socket: tether.Socket, size: int) -> None:
    socket.emit("blob", {"data": bytes(range(size))})


@io.on("whoami")
def whoami(socket: tether.Socket) -> tuple[Any, ...]:
    return socket.handshake.headers.get("x-test"), socket.handshake.auth


@io.on("kick")
def kick(socket: tether.Socket) -> None:
    socket.disconnect()  # no reconnection follows


@io.on("drop")
def drop(socket: tether.Socket) -> None:
    socket.conn.engine.close()  # the transport goes; the session can be recovered


def refuse(socket: tether.Socket) -> None:
    if (socket.handshake.auth or {}).get("token") != "secret":
        raise tether.ConnectionRefusedError("not allowed", {"need": "token"})


private = io.of("/private")
private.use(refuse)
private.on("echo", echo)


def ready(listener: Listener) -> None:
    print(f"port {listener.port}", flush=True)


if __name__ == "__main__":  # python -m tests.cli.app PORT [CERTFILE KEYFILE]
    cert, key = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else (None, None)
    io.run("127.0.0.1", int(sys.argv[1]), certfile=cert, keyfile=key, on_ready=ready)
