"""The Engine.IO server the official Engine.IO v4 protocol test suite expects.

Port 3000 (``PORT`` overrides), path ``/engine.io/``, ping interval 300 ms, ping timeout
200 ms, max payload 1e6, CORS ``*``, every message echoed. Prints ``READY`` when listening.

    python tests/conformance/eio_server.py
"""

from __future__ import annotations

import os

from tether.aio.engine import EngineServer, EngineSocket
from tether.aio.engine_socket import SessionHandler
from tether.aio.listener import Listener, Router, run
from tether.eio.options import CorsOptions, EngineOptions


class Echo:
    """Every message goes back to its sender."""

    def open_session(self, socket: EngineSocket) -> SessionHandler:
        return _EchoSession(socket)


class _EchoSession:
    def __init__(self, socket: EngineSocket) -> None:
        self.socket = socket

    def on_message(self, data: str | bytes) -> None:
        self.socket.send(data)

    def on_close(self, reason: str) -> None:
        pass


def main() -> None:
    engine = EngineServer(
        EngineOptions(
            path="/engine.io/",
            ping_interval=0.3,
            ping_timeout=0.2,
            max_http_buffer_size=1_000_000,
            cors=CorsOptions(origins="*"),
        ),
        Echo(),
    )

    def ready(listener: Listener) -> None:
        print("READY", flush=True)

    run(Router(engine), "127.0.0.1", int(os.environ.get("PORT", "3000")), on_ready=ready)


if __name__ == "__main__":
    main()
