"""A WebSocket echo server on tether's own stack, for the Autobahn|Testsuite cases.

Every path accepts a WebSocket and echoes each message (text as text, binary as binary);
permessage-deflate is offered when ``DEFLATE=1``. Listens on 127.0.0.1:``PORT`` (9001) and
prints ``READY``.

    DEFLATE=1 python tests/conformance/ws_echo_server.py
"""

from __future__ import annotations

import os

from tether.aio.listener import Listener, run
from tether.aio.websocket import WebSocket
from tether.http.exchange import Responder, Upgrade
from tether.http.messages import HttpLimits, Request
from tether.ws import DeflateOptions

MAX_MESSAGE = 64 * 1024 * 1024


class _Echo:
    """The handler of one connection: sends back what it receives."""

    def __init__(self) -> None:
        self.websocket: WebSocket | None = None

    def on_text(self, text: str) -> None:
        if self.websocket is not None:
            self.websocket.send_text(text)

    def on_binary(self, data: bytes) -> None:
        if self.websocket is not None:
            self.websocket.send_binary(data)

    def on_websocket_close(self, code: int, error: bool) -> None:
        self.websocket = None


class EchoApp:
    """Accepts every WebSocket and echoes; plain HTTP requests get 426."""

    def __init__(self, deflate: bool) -> None:
        # Autobahn 12.x/13.x expect every message compressed, the 16-byte ones included.
        self.deflate = DeflateOptions(threshold=0) if deflate else None

    def handle_request(self, request: Request, responder: Responder) -> None:
        responder.send(426, [("Upgrade", "websocket")], b"WebSocket only")

    def handle_upgrade(self, upgrade: Upgrade) -> None:
        handler = _Echo()
        handler.websocket = upgrade.open_websocket(
            handler, max_message_size=MAX_MESSAGE, deflate=self.deflate
        )


def main() -> None:
    app = EchoApp(deflate=os.environ.get("DEFLATE", "1") == "1")

    def ready(listener: Listener) -> None:
        print("READY", listener.port, flush=True)

    limits = HttpLimits(max_write_buffer=4 * MAX_MESSAGE)
    run(app, "127.0.0.1", int(os.environ.get("PORT", "9001")), limits=limits, on_ready=ready)


if __name__ == "__main__":
    main()
