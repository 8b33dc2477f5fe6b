"""The Socket.IO server the official Socket.IO v5 protocol test suite expects.

Port 3000 (``PORT`` overrides), ping interval 300 ms, ping timeout 200 ms, max payload 1e6,
connect timeout 1 s, CORS ``*``; ``message`` is answered with ``message-back``,
``message-with-ack`` is acknowledged with its arguments, and the ``auth`` payload is emitted
on connect to ``/`` and ``/custom``. Prints ``READY`` when listening.

    python tests/conformance/sio_server.py
"""

from __future__ import annotations

import os
from typing import Any

import tether


def main() -> None:
    io = tether.Server(
        ping_interval=0.3,
        ping_timeout=0.2,
        max_http_buffer_size=1_000_000,
        connect_timeout=1.0,
        cors_origins="*",
    )

    def on_connection(socket: tether.Socket) -> None:
        socket.emit("auth", socket.handshake.auth)

    def message(socket: tether.Socket, *args: Any) -> None:
        socket.emit("message-back", *args)

    def message_with_ack(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    for namespace in (io.of("/"), io.of("/custom")):
        namespace.on("connection", on_connection)
        namespace.on("message", message)
        namespace.on("message-with-ack", message_with_ack)

    io.run(
        "127.0.0.1",
        int(os.environ.get("PORT", "3000")),
        on_ready=lambda _: print("READY", flush=True),
    )


if __name__ == "__main__":
    main()
