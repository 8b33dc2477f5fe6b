"""The server the client samples of the docs talk to (they say 127.0.0.1:3000; the tests
point them here): every namespace, any auth, and the events the samples use.

- ``echo(*args)``: acknowledged with the same arguments;
- ``add(a, b)``: acknowledged with ``a + b``;
- ``chat(*args)``: sent back to every socket of the namespace as ``chat(sender id, *args)``;
- any other event: received and ignored. On connection, each socket gets ``welcome(text)``.

``python tests/docs/sample_server.py`` serves on a free loopback port and prints
``READY <port>``.
"""

from __future__ import annotations

import re
from typing import Any

import tether
from tether.aio.listener import Listener


def register(nsp: tether.Namespace) -> None:
    @nsp.on("connection")
    def connected(socket: tether.Socket) -> None:
        socket.emit("welcome", f"hello {socket.id}")

    @nsp.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    @nsp.on("add")
    def add(socket: tether.Socket, a: Any, b: Any) -> Any:
        return a + b

    @nsp.on("chat")
    def chat(socket: tether.Socket, *args: Any) -> None:
        socket.nsp.emit("chat", socket.id, *args)  # type: ignore[attr-defined]


def main() -> None:
    io = tether.Server(cors_origins="*")
    register(io.sockets)
    register(io.of(re.compile(r"/.+")))

    def ready(listener: Listener) -> None:
        print("READY", listener.port, flush=True)

    io.run("127.0.0.1", 0, on_ready=ready)


if __name__ == "__main__":
    main()
