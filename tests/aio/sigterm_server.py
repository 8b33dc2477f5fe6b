"""A server process for the SIGTERM test: prints ``PORT <n>``, then each close."""

from __future__ import annotations

import os

from tether.aio.engine import EngineServer, EngineSocket
from tether.aio.listener import Listener, Router, run
from tether.eio.options import EngineOptions


def main() -> None:
    engine = EngineServer(EngineOptions())

    @engine.on_connection
    def connected(socket: EngineSocket) -> None:
        socket.on_close = lambda reason: print("closed", socket.sid, reason, flush=True)

    def ready(listener: Listener) -> None:
        print("PORT", listener.port, flush=True)

    run(Router(engine), "127.0.0.1", int(os.environ.get("PORT", "0")), on_ready=ready)
