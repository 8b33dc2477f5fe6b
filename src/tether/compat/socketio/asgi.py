"""python-socketio's ``ASGIApp``: the server under any ASGI server, beside another ASGI app
and static files."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable
from typing import Any

from tether.aio.asgi import ASGIApp as TetherASGIApp
from tether.aio.asgi import ASGIApplication, Message, Receive, Scope, Send

from .calls import call
from .server import AsyncServer

StaticFiles = dict[str, str | dict[str, str]]


class ASGIApp(TetherASGIApp):
    """``ASGIApp(sio, other_asgi_app=None, static_files=None, socketio_path="socket.io",
    on_startup=None, on_shutdown=None)``, as in python-socketio.

    ``static_files`` maps URL paths to files (``{"/": "index.html"}``, or
    ``{"/": {"filename": ..., "content_type": ...}}``) or to directories
    (``{"/static": "./public"}``); what they don't match goes to ``other_asgi_app``.
    ``on_startup`` and ``on_shutdown`` (sync or async) run at the ASGI lifespan events.
    Both sit in front of the other app, so they work under any ASGI server and under
    ``tether serve`` (which hosts the other app on the native server).
    """

    def __init__(
        self,
        socketio_server: AsyncServer,
        other_asgi_app: ASGIApplication | None = None,
        static_files: StaticFiles | None = None,
        socketio_path: str = "socket.io",
        on_startup: Callable[[], Any] | None = None,
        on_shutdown: Callable[[], Any] | None = None,
    ) -> None:
        socketio_server.set_path(socketio_path)
        other = other_asgi_app
        if static_files or on_startup or on_shutdown:
            other = _Extras(other_asgi_app, static_files or {}, on_startup, on_shutdown)
        super().__init__(socketio_server.tether_server, other)


class _Extras:
    """Static files and lifespan hooks in front of the other app (if any)."""

    def __init__(
        self,
        other: ASGIApplication | None,
        static_files: StaticFiles,
        on_startup: Callable[[], Any] | None,
        on_shutdown: Callable[[], Any] | None,
    ) -> None:
        self.other = other
        self.static_files = static_files
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if kind == "http" and self.static_files:
            found = self._static(scope["path"])
            if found is not None:
                await _send_file(send, *found)
                return
        if self.other is not None:
            await self.other(scope, receive, send)
        elif kind == "http":
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"text/plain")],
                }
            )
            await send({"type": "http.response.body", "body": b"Not Found"})
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def hooked(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete" and self.on_startup:
                await call(self.on_startup)
            elif message["type"] == "lifespan.shutdown.complete" and self.on_shutdown:
                await call(self.on_shutdown)
            await send(message)

        if self.other is not None:
            await self.other(scope, receive, hooked)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await hooked({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await hooked({"type": "lifespan.shutdown.complete"})
                return

    def _static(self, path: str) -> tuple[str, str | None] | None:
        """The file and content type ``static_files`` gives for ``path``, if any."""
        entry = self.static_files.get(path)
        if entry is not None:
            return _entry(entry, "")
        for prefix in sorted(self.static_files, key=len, reverse=True):
            base = prefix.rstrip("/")
            if path.startswith(base + "/"):
                rest = path[len(base) + 1 :]
                found = _entry(self.static_files[prefix], rest)
                if found is not None:
                    return found
        return None


def _entry(entry: str | dict[str, str], rest: str) -> tuple[str, str | None] | None:
    filename = entry["filename"] if isinstance(entry, dict) else entry
    content_type = entry.get("content_type") if isinstance(entry, dict) else None
    if os.path.isdir(filename):
        root = os.path.realpath(filename)
        target = os.path.realpath(os.path.join(root, rest or "index.html"))
        if os.path.isdir(target):
            target = os.path.join(target, "index.html")
        if not target.startswith(root + os.sep):
            return None  # out of the directory
        filename = target
    elif rest:
        return None
    return (filename, content_type) if os.path.isfile(filename) else None


async def _send_file(send: Send, filename: str, content_type: str | None) -> None:
    with open(filename, "rb") as file:
        body = file.read()
    kind = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", kind.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
