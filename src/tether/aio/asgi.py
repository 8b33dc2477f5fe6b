"""ASGI 3 integration: run tether under uvicorn (or any ASGI server), beside another app.

::

    io = tether.Server()
    app = tether.ASGIApp(io, other_asgi_app=fastapi_app)
    # uvicorn module:app

This is the compatible path: the ASGI server parses HTTP and WebSocket frames and tether
sees them through ASGI messages. The native server (``io.run``) is the fast path: it owns
the sockets and writes a broadcast's prebuilt frame once for every WebSocket; ``tether
serve module:app`` runs this app on it, the other app hosted by :mod:`tether.aio.asgi_host`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

from tether.aio.engine import EngineServer
from tether.aio.listener import Router
from tether.http.exchange import WebSocketHandler
from tether.http.messages import Headers, Request
from tether.ws.deflate import DeflateOptions

log = logging.getLogger("tether.asgi")


class AsgiServed(Protocol):
    """What the ASGI front end needs of the server it serves (a :class:`tether.Server`)."""

    engine: EngineServer
    router: Router

    async def start(self) -> None:
        """Start the adapters (at ASGI lifespan startup, or on the first request)."""

    async def close_adapters(self) -> None:
        """Close the adapters (at lifespan shutdown)."""


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApplication = Callable[[Scope, Receive, Send], Awaitable[None]]


def _request(scope: Scope, body: bytes) -> Request:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    target = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string", b"")
    if query:
        target = target + b"?" + query
    client = scope.get("client")
    scheme = scope.get("scheme", "http")
    return Request(
        scope.get("method", "GET"),
        target,
        headers,
        body,
        (str(client[0]), int(client[1])) if client else None,
        "https" if scheme in ("https", "wss") else "http",
        True,
    )


def _raw_headers(headers: Headers) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


class _Responder:
    """Answers one ASGI HTTP request; the app awaits :attr:`answered`."""

    __slots__ = ("_disconnect", "answered", "done", "request", "response")

    def __init__(self, request: Request) -> None:
        self.request = request
        self.done = False
        self.response: tuple[int, Headers, bytes] | None = None
        self.answered = asyncio.Event()
        self._disconnect: Callable[[], None] | None = None

    @property
    def connected(self) -> bool:
        return not self.answered.is_set() or self.response is not None

    def send(self, status: int, headers: Headers, body: bytes = b"") -> None:
        if self.done:
            return
        self.done = True
        self.response = (status, headers, body)
        self.answered.set()

    def on_disconnect(self, callback: Callable[[], None]) -> None:
        self._disconnect = callback

    def client_gone(self) -> None:
        callback, self._disconnect = self._disconnect, None
        self.done = True
        self.answered.set()
        if callback is not None:
            callback()


class _AsgiWebSocket:
    """A WebSocket driven through ASGI messages; outgoing messages go through one sender task."""

    can_share_frames = False

    def __init__(
        self, send: Send, handler: WebSocketHandler, max_message_size: int, max_buffer: int
    ) -> None:
        self.handler = handler
        self.max_message_size = max_message_size
        self.max_buffer = max_buffer
        self.overflowed = False
        self.failed = False
        self._send = send
        self._queue: deque[tuple[Message, int]] = deque()
        self._queued = 0
        self._wake = asyncio.Event()
        self._closed = False

    @property
    def paused(self) -> bool:
        return self._queued > 64 * 1024

    def _push(self, message: Message, size: int) -> None:
        if self._closed:
            return
        self._queue.append((message, size))
        self._queued += size
        self._wake.set()
        if self._queued > self.max_buffer:
            # A reader too slow for its bound: drop what waits and close.
            self.overflowed = True
            self._queue.clear()
            self._queued = 0
            self.close(1008, "write buffer full")

    # Compression, if any, is the ASGI server's: ``compress`` cannot reach it.
    def send_text(self, text: str, compress: bool = True) -> None:
        self._push({"type": "websocket.send", "text": text}, len(text))

    def send_binary(self, data: bytes, compress: bool = True) -> None:
        self._push({"type": "websocket.send", "bytes": bytes(data)}, len(data))

    def send_messages(self, messages: list[str | bytes]) -> None:
        for message in messages:
            if type(message) is str:
                self.send_text(message)
            else:
                self.send_binary(message)  # type: ignore[arg-type]

    def send_frame(self, frame: bytes) -> None:  # pragma: no cover - can_share_frames is False
        raise NotImplementedError

    def close(self, code: int = 1000, reason: str = "") -> None:
        if not self._closed:
            self._closed = True
            self._queue.append(({"type": "websocket.close", "code": code, "reason": reason}, 0))
            self._wake.set()

    def abort(self) -> None:
        self.close(1000)

    def fail(self, code: int | None, reason: str = "") -> None:
        # ASGI has no empty close frame: None becomes 1000.  Input is dropped from now on.
        if not self._closed:
            self.failed = True
            self.close(1000 if code is None else code, reason)

    async def pump(self) -> None:
        """Write queued messages until closed."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                message, size = self._queue.popleft()
                self._queued -= size
                try:
                    await self._send(message)
                except Exception:
                    return
                if message["type"] == "websocket.close":
                    return


class _AsgiUpgrade:
    __slots__ = ("_send", "decided", "max_buffer", "rejected", "request", "websocket")

    def __init__(self, request: Request, send: Send, max_buffer: int) -> None:
        self.request = request
        self._send = send
        self.max_buffer = max_buffer
        self.websocket: _AsgiWebSocket | None = None
        self.rejected: tuple[int, Headers, bytes] | None = None
        #: Set once the engine accepted or refused (an async ``allow_request`` decides later).
        self.decided = asyncio.Event()

    def open_websocket(
        self,
        handler: WebSocketHandler,
        *,
        max_message_size: int,
        deflate: DeflateOptions | None = None,
        extra_headers: Headers | None = None,
    ) -> _AsgiWebSocket:
        self.websocket = _AsgiWebSocket(self._send, handler, max_message_size, self.max_buffer)
        self.decided.set()
        return self.websocket

    def reject(self, status: int, headers: Headers, body: bytes = b"") -> None:
        self.rejected = (status, headers, body)
        self.decided.set()


_ASGI_SERVERS = ("uvicorn", "gunicorn", "hypercorn", "granian")


def worker_processes(parent_cmdline: list[str] | None = None) -> int:
    """How many worker processes the ASGI server runs, as far as this process can tell: the
    ``--workers N`` (``-w N``) of its parent's command line when the parent is an ASGI server
    (uvicorn, gunicorn, hypercorn, granian), else ``WEB_CONCURRENCY``, which uvicorn and
    gunicorn read; 1 when nothing says."""
    if parent_cmdline is None:
        parent_cmdline = []
        with contextlib.suppress(OSError), open(f"/proc/{os.getppid()}/cmdline", "rb") as file:
            parent_cmdline = file.read().decode("utf-8", "replace").split("\0")
    if any(server in arg for arg in parent_cmdline for server in _ASGI_SERVERS):
        for index, arg in enumerate(parent_cmdline):
            value = ""
            if arg in ("--workers", "-w") and index + 1 < len(parent_cmdline):
                value = parent_cmdline[index + 1]
            elif arg.startswith("--workers="):
                value = arg.partition("=")[2]
            if value.isdigit():
                return int(value)
    concurrency = os.environ.get("WEB_CONCURRENCY", "")
    return int(concurrency) if concurrency.isdigit() else 1


def _check_workers(io: AsgiServed) -> None:
    workers = worker_processes()
    if workers > 1 and io.engine.cluster is None:
        log.warning(
            "tether: this app runs in one of %d worker processes without a cluster engine: a "
            "long-polling request that reaches another worker than its session's gets 400 "
            '"Session ID unknown". Give the server '
            "cluster_engine=tether.adapters.redis.create_engine(redis_url) (and a Redis "
            "adapter), or serve it with `tether serve module:app --workers N`",
            workers,
        )


class ASGIApp:
    """An ASGI 3 application serving ``io`` at its path, and ``other_asgi_app`` elsewhere."""

    def __init__(self, io: AsgiServed, other_asgi_app: ASGIApplication | None = None) -> None:
        self.io = io
        self.other = other_asgi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
        elif not self.io.router.handles(scope.get("path", "")):
            await self._other(scope, receive, send)
        elif kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)

    async def _other(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.other is not None:
            await self.other(scope, receive, send)
        elif scope["type"] == "http":
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"text/plain")],
                }
            )
            await send({"type": "http.response.body", "body": b"Not Found"})
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.other is not None:
            # The other app answers; tether starts and stops its adapters alongside.
            async def send_and_follow(message: Message) -> None:
                if message["type"] == "lifespan.startup.complete":
                    _check_workers(self.io)
                    await self.io.start()
                elif message["type"] == "lifespan.shutdown.complete":
                    self.io.engine.shutdown()
                    await self.io.close_adapters()
                await send(message)

            await self.other(scope, receive, send_and_follow)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _check_workers(self.io)
                await self.io.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.io.engine.shutdown()
                await self.io.close_adapters()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.io.engine.options.max_http_buffer_size
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._respond(send, 413, [], b"")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        responder = _Responder(_request(scope, b"".join(chunks)))
        # The router: the engine, and what is mounted beside it (the client bundle, pages).
        self.io.router.handle_request(responder.request, responder)
        if not responder.answered.is_set():
            watcher = asyncio.ensure_future(self._watch_disconnect(receive, responder))
            try:
                await responder.answered.wait()
            finally:
                watcher.cancel()
        if responder.response is not None:
            await self._respond(send, *responder.response)

    @staticmethod
    async def _watch_disconnect(receive: Receive, responder: _Responder) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                responder.client_gone()
                return

    @staticmethod
    async def _respond(send: Send, status: int, headers: Headers, body: bytes) -> None:
        raw = _raw_headers(headers)
        raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        engine = self.io.engine
        upgrade = _AsgiUpgrade(_request(scope, b""), send, engine.options.max_write_buffer)
        engine.handle_upgrade(upgrade)
        if not upgrade.decided.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(upgrade.decided.wait(), engine.options.upgrade_timeout)
        websocket = upgrade.websocket
        if websocket is None:
            await send({"type": "websocket.close", "code": 1008 if upgrade.rejected else 1011})
            return
        await send({"type": "websocket.accept"})
        pump = asyncio.ensure_future(websocket.pump())
        code = 1005
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    if websocket.failed:
                        continue
                    text = message.get("text")
                    data = text if text is not None else message.get("bytes") or b""
                    if len(data) > websocket.max_message_size:
                        websocket.close(1009)  # no reason, as from Node's ws
                        code = 1009
                        break
                    if text is not None:
                        websocket.handler.on_text(text)
                    else:
                        websocket.handler.on_binary(data)
                elif kind == "websocket.disconnect":
                    code = int(message.get("code", 1005))
                    break
        finally:
            websocket._closed = True
            handler = websocket.handler
            error = code == 1009 or websocket.overflowed or websocket.failed
            handler.on_websocket_close(code, error)
            await asyncio.sleep(0)
            pump.cancel()
