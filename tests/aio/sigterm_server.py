"""A server process for the SIGTERM test: prints ``PORT <n>``, then each close."""

from __future__ import annotations

import os

from tether.aio.engine import EngineServer, EngineSocket
from tether.aio.engine_socket import SessionHandler
from tether.aio.listener import Listener, Router, run
from tether.eio.options import EngineOptions


class Report:
    """Prints each close."""

    def open_session(self, socket: EngineSocket) -> SessionHandler:
        return _Reporting(socket.sid)


class _Reporting:
    def __init__(self, sid: str) -> None:
        self.sid = sid

    def on_message(self, data: str | bytes) -> None:
        pass

    def on_close(self, reason: str) -> None:
        print("closed", self.sid, reason, flush=True)


def main() -> None:
    engine = EngineServer(EngineOptions(), Report())

    def ready(listener: Listener) -> None:
        print("PORT", listener.port, flush=True)

    run(Router(engine), "127.0.0.1", int(os.environ.get("PORT", "0")), on_ready=ready)
