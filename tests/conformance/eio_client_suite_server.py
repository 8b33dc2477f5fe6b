"""The Engine.IO server engine.io-client's own mocha suite expects (its ``test/support/hooks.js``),
built on tether. ``tests/conformance/run_eio_client_suite.sh`` runs the suite against it.

What the suite's Node server does, and how this one does it:

- path ``/engine.io/``, ``pingInterval`` 500 ms, ``pingTimeout`` 20 s, ``maxHttpBufferSize`` 100,
  no CORS, no permessage-deflate (Node's defaults otherwise);
- ``allowRequest`` refuses a handshake whose query has ``deny``;
- each new session is sent ``"hi"``; every message is echoed, except ``"give binary"``
  (answered with the bytes 0..4), ``"give utf8"`` (a Cyrillic sentence) and ``"sendHeaders"``
  (answered with the JSON headers of the POST that carried it);
- its ``initial_headers`` hook adds four ``Set-Cookie`` headers to the handshake answer (two
  of them already expired), for the client's cookie-jar tests. tether has no such hook, so
  :class:`SuiteApp` adds them to the polling handshake answer; the WebSocket handshake is left
  alone (no test reads cookies from it).

Listens on 127.0.0.1:$PORT (3000 by default; 0 picks a free port); prints ``PORT <n>`` and then
``READY`` once listening. ``TETHER_LOG=DEBUG`` logs what the engine does (to stderr).

    python tests/conformance/eio_client_suite_server.py
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from email.utils import formatdate

from tether.aio.engine import EngineServer, EngineSocket
from tether.aio.engine_socket import SessionHandler
from tether.aio.listener import Listener, run
from tether.eio.options import EngineOptions
from tether.http.exchange import Responder, Upgrade
from tether.http.messages import Headers, Request

GIVE_BINARY = bytes(range(5))
GIVE_UTF8 = "пойду спать всем спокойной ночи"


def handshake_cookies() -> Headers:
    """The ``Set-Cookie`` headers the suite's server adds to each handshake (as the npm
    ``cookie`` package serializes them): two live cookies, two already expired."""
    return [
        ("Set-Cookie", "1=1; Max-Age=86400"),
        ("Set-Cookie", "2=2; Path=/; HttpOnly; Secure; SameSite=Strict"),
        ("Set-Cookie", "3=3; Max-Age=0"),
        ("Set-Cookie", f"4=4; Expires={formatdate(usegmt=True)}"),
    ]


def deny(request: Request) -> str | None:
    """``allowRequest``: refuse the handshake when the query has ``deny``."""
    return "denied" if "deny" in request.query else None


class _AddHeaders:
    """A responder adding headers to the answer of the one it wraps."""

    def __init__(self, responder: Responder, extra: Headers) -> None:
        self._responder = responder
        self._extra = extra
        self.request = responder.request

    @property
    def connected(self) -> bool:
        return self._responder.connected

    def send(self, status: int, headers: Headers, body: bytes = b"") -> None:
        self._responder.send(status, [*headers, *self._extra], body)

    def on_disconnect(self, callback: Callable[[], None]) -> None:
        self._responder.on_disconnect(callback)


class SuiteApp:
    """The HTTP app: ``engine`` plus the suite's two extras around it (handshake cookies, and
    the headers of each session's latest POST for ``"sendHeaders"``)."""

    def __init__(self, engine: EngineServer) -> None:
        self.engine = engine
        #: sid -> headers of the latest POST of that session.
        self.post_headers: dict[str, dict[str, str]] = {}

    def handles(self, path: str) -> bool:
        return self.engine.handles(path)

    def handle_request(self, request: Request, responder: Responder) -> None:
        sid = request.query.get("sid")
        if sid is None and request.method == "GET":
            responder = _AddHeaders(responder, handshake_cookies())
        elif sid is not None and request.method == "POST":
            self.post_headers[sid] = request.headers
        self.engine.handle_request(request, responder)

    def handle_upgrade(self, upgrade: Upgrade) -> None:
        self.engine.handle_upgrade(upgrade)

    def shutdown(self) -> None:
        self.engine.shutdown()


class SuiteHandler:
    """The engine's handler: greets each new session, then answers its messages."""

    def __init__(self) -> None:
        self.app: SuiteApp | None = None

    def open_session(self, socket: EngineSocket) -> SessionHandler:
        assert self.app is not None
        socket.send("hi")
        return _SuiteSession(self.app, socket)


class _SuiteSession:
    def __init__(self, app: SuiteApp, socket: EngineSocket) -> None:
        self.app = app
        self.socket = socket

    def on_message(self, data: str | bytes) -> None:
        socket = self.socket
        if data == "give binary":
            socket.send(GIVE_BINARY)
        elif data == "give utf8":
            socket.send(GIVE_UTF8)
        elif data == "sendHeaders":
            # Node answers with its transport's current POST's headers (none over WebSocket).
            socket.send(json.dumps(self.app.post_headers.get(socket.sid)))
        else:
            socket.send(data)

    def on_close(self, reason: str) -> None:
        self.app.post_headers.pop(self.socket.sid, None)


def main() -> None:
    logging.basicConfig(level=os.environ.get("TETHER_LOG", "WARNING"))
    engine = EngineServer(
        EngineOptions(
            path="/engine.io/",
            ping_interval=0.5,
            ping_timeout=20.0,
            max_http_buffer_size=100,
            allow_request=deny,
        ),
        handler := SuiteHandler(),
    )
    app = handler.app = SuiteApp(engine)

    def ready(listener: Listener) -> None:
        print(f"PORT {listener.port}", flush=True)
        print("READY", flush=True)

    run(app, "127.0.0.1", int(os.environ.get("PORT", "3000")), on_ready=ready)


if __name__ == "__main__":
    main()
