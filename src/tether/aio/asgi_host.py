"""tether's native server hosting an ASGI 3 app beside Socket.IO: ``tether serve module:app``
where ``app = tether.ASGIApp(io, other_asgi_app=fastapi_app)``.

The Socket.IO path (and whatever else is mounted on ``io.router``: the client bundle) stays on
the native fast path: :class:`~tether.aio.http_protocol.HttpProtocol` answers it through the
router as for a bare server, with no ASGI in between. Every other request goes to the ASGI
app, driven by :class:`AsgiHost`:

- ``http``: the request is taken when its headers are complete
  (:meth:`AsgiHost.streams_request`); the app reads the body as it arrives (reading pauses
  while the app has not taken it: an upload is never held whole, and ``HttpLimits.max_body``
  does not apply to it; the app bounds its own bodies) and streams its answer
  (``Content-Length`` when known, chunked otherwise, waiting while the client reads slowly).
  Keep-alive, HEAD (no body sent), ``Expect: 100-continue``, ``http.disconnect`` when the
  client goes away or once the answer is complete. An app that raises before its answer
  starts gets a 500; after it starts, the connection is closed (the client sees the answer
  cut short).
- ``websocket``: the app's own WebSocket routes, on tether's WebSocket implementation
  (:mod:`tether.aio.websocket`); ``websocket.accept`` with a subprotocol and headers, a close
  before accepting refuses with 403.
- ``lifespan``: :meth:`AsgiHost.startup` before listening, :meth:`AsgiHost.close` after;
  ``state`` is shared (a shallow copy) into every request's scope. A startup failure raises
  :class:`LifespanFailed`; an app that does not speak lifespan is served without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from tether.aio.asgi import ASGIApplication, Message, Scope
from tether.aio.http_protocol import HttpResponder, HttpUpgrade, StreamedRequest
from tether.aio.listener import Router
from tether.aio.websocket import WebSocket, accept_websocket
from tether.http.exchange import Responder, Upgrade
from tether.http.messages import Request
from tether.ws.deflate import DeflateOptions

__all__ = ["AsgiHost", "HostOptions", "LifespanFailed"]

log = logging.getLogger("tether.asgi_host")

_HTTP_ASGI = {"version": "3.0", "spec_version": "2.3"}
_WEBSOCKET_ASGI = {"version": "3.0", "spec_version": "2.3"}
_LIFESPAN_ASGI = {"version": "3.0", "spec_version": "2.0"}
_DISCONNECT: Message = {"type": "http.disconnect"}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_LAST_CHUNK = b"0\r\n\r\n"
_REASONS: dict[int, bytes] = {}
#: Paths whose routing :meth:`AsgiHost.streams_request` remembers.
_MAX_REMEMBERED = 1024


def _reason(status: int) -> bytes:
    reason = _REASONS.get(status)
    if reason is None:
        try:
            reason = HTTPStatus(status).phrase.encode()
        except ValueError:
            reason = b"Unknown"
        _REASONS[status] = reason
    return reason


@dataclass(frozen=True, slots=True)
class HostOptions:
    """Settings of an ASGI app hosted by the native server (``tether serve``).

    Attributes:
        root_path: the ASGI ``root_path``, the prefix under which a proxy in front mounts
            the app (``--root-path``); it is put before ``path`` in the scope too.
        body_timeout: seconds a request body may stay silent while the app waits for it
            before the connection is closed (the app sees ``http.disconnect``). Bodies have
            no size limit here (they are streamed, never held whole): the app enforces its
            own.
        max_websocket_message: largest WebSocket message the app's routes accept (the
            connection is closed with 1009 past it).
        websocket_receive_buffer: bytes of WebSocket messages held for an app that has not
            received them; past it, reading from that client pauses.
        lifespan_timeout: seconds the app's lifespan shutdown may take.
        websocket_per_message_deflate: accept permessage-deflate (RFC 7692) on the app's
            WebSockets when the client offers it (off, as for Socket.IO's).
    """

    root_path: str = ""
    body_timeout: float = 60.0
    max_websocket_message: int = 16 * 1024 * 1024
    websocket_receive_buffer: int = 1024 * 1024
    lifespan_timeout: float = 30.0
    websocket_per_message_deflate: bool = False


class LifespanFailed(RuntimeError):
    """The app's lifespan startup failed (``lifespan.startup.failed``)."""


class AsgiHost:
    """The HTTP app the native listener serves: ``router`` (Socket.IO, the client bundle)
    natively, every other request and WebSocket through the ASGI ``app``."""

    def __init__(
        self,
        router: Router,
        app: ASGIApplication | None,
        options: HostOptions | None = None,
    ) -> None:
        self.router = router
        self.app = app
        self.options = options or HostOptions()
        #: The lifespan ``state``, a shallow copy of it in every request's scope.
        self.state: dict[str, Any] = {}
        self._lifespan: _Lifespan | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._websockets: set[_WebSocketCycle] = set()
        #: Which paths go to the app, remembered for the most common ones (Socket.IO's).
        self._streams: dict[bytes, bool] = {}
        self._mounted = len(router.apps)

    # -- what the native HTTP layer calls ---------------------------------------------------

    def streams_request(self, target: bytes) -> bool:
        """Whether the request for ``target`` goes to the ASGI app (taken at headers-complete
        time, its body streamed): every path the router does not answer."""
        path = target.partition(b"?")[0]
        if len(self.router.apps) != self._mounted:  # something was mounted since
            self._streams.clear()
            self._mounted = len(self.router.apps)
        streams = self._streams.get(path)
        if streams is None:
            streams = not self.router.handles(path.decode("latin-1"))
            if len(self._streams) < _MAX_REMEMBERED:
                self._streams[path] = streams
        return streams

    def handle_request(self, request: Request, responder: Responder) -> None:
        if type(request) is StreamedRequest:
            assert isinstance(responder, HttpResponder)
            self._spawn(self._http(request, responder))
        else:
            self.router.handle_request(request, responder)

    def handle_upgrade(self, upgrade: Upgrade) -> None:
        if self.router.handles(upgrade.request.path):
            self.router.handle_upgrade(upgrade)
        elif self.app is None or not isinstance(upgrade, HttpUpgrade):
            upgrade.reject(404, [("Content-Type", "text/plain")], b"Not Found")
        elif "websocket" not in upgrade.request.headers.get("upgrade", "").lower():
            upgrade.reject(400, [("Content-Type", "text/plain")], b"Unsupported upgrade")
        else:
            self._spawn(self._websocket(upgrade))

    def shutdown(self) -> None:
        """The server stops: Socket.IO sessions close, the app's WebSockets get 1012."""
        self.router.shutdown()
        for cycle in list(self._websockets):
            cycle.going_away()

    # -- lifespan ---------------------------------------------------------------------------

    async def startup(self) -> None:
        """Run the app's lifespan startup; raises :class:`LifespanFailed` if it fails."""
        if self.app is not None:
            self._lifespan = _Lifespan(self.app, self.state)
            await self._lifespan.startup()

    async def close(self) -> None:
        """Run the app's lifespan shutdown (after the connections are closed)."""
        lifespan, self._lifespan = self._lifespan, None
        if lifespan is not None:
            await lifespan.shutdown(self.options.lifespan_timeout)
        for task in list(self._tasks):
            task.cancel()

    # -- requests ---------------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _scope(self, kind: str, request: Request, server: tuple[str, int] | None) -> Scope:
        raw_path = request.path.encode("latin-1")
        path = unquote(request.path) if "%" in request.path else request.path
        root_path = self.options.root_path
        return {
            "type": kind,
            "asgi": _HTTP_ASGI if kind == "http" else _WEBSOCKET_ASGI,
            "http_version": getattr(request, "http_version", "1.1"),
            "scheme": request.scheme if kind == "http" else _WS_SCHEMES[request.scheme],
            "path": root_path + path,
            "raw_path": raw_path,
            "query_string": request.query_string.encode("latin-1"),
            "root_path": root_path,
            "headers": [
                (k.encode("latin-1"), v.encode("latin-1")) for k, v in request.headers.items()
            ],
            "client": request.client,
            "server": server,
            "state": self.state.copy(),
        }

    async def _http(self, request: StreamedRequest, responder: HttpResponder) -> None:
        scope = self._scope("http", request, responder.local_address)
        scope["method"] = request.method
        cycle = _HttpCycle(request, responder, self.options.body_timeout)
        app = self.app
        try:
            if app is None:
                await _not_found(cycle.send)
            else:
                await app(scope, cycle.receive, cycle.send)
        except Exception:
            log.exception("error in the ASGI app for %s %s", request.method, request.path)
            cycle.failed()
        else:
            if not cycle.complete and not cycle.disconnected:
                log.error(
                    "the ASGI app returned without %s its answer to %s %s",
                    "completing" if cycle.started else "starting",
                    request.method,
                    request.path,
                )
                cycle.failed()

    async def _websocket(self, upgrade: HttpUpgrade) -> None:
        assert self.app is not None
        request = upgrade.request
        scope = self._scope("websocket", request, upgrade.local_address)
        offered = request.headers.get("sec-websocket-protocol")
        scope["subprotocols"] = [p.strip() for p in offered.split(",")] if offered else []
        cycle = _WebSocketCycle(upgrade, self.options)
        self._websockets.add(cycle)
        try:
            await self.app(scope, cycle.receive, cycle.send)
        except Exception:
            log.exception("error in the ASGI app's WebSocket %s", request.path)
            cycle.finish(1011)
        else:
            cycle.finish(1000)
        finally:
            self._websockets.discard(cycle)


_WS_SCHEMES = {"http": "ws", "https": "wss"}


async def _not_found(send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"9")],
        }
    )
    await send({"type": "http.response.body", "body": b"Not Found"})


class _HttpCycle:
    """One request and its answer through ASGI messages."""

    __slots__ = (
        "_body_done",
        "_chunked",
        "_declared",
        "_expect_continue",
        "_head",
        "_headers",
        "_keep_alive",
        "_sent",
        "_status",
        "_timeout",
        "_written",
        "complete",
        "disconnected",
        "request",
        "responder",
        "started",
        "stream",
    )

    def __init__(self, request: StreamedRequest, responder: HttpResponder, timeout: float) -> None:
        self.request = request
        self.responder = responder
        self.stream = request.stream
        self._timeout = timeout
        self.disconnected = False
        self.started = False
        self.complete = False
        self._body_done = False
        self._expect_continue = request.headers.get("expect", "").lower() == "100-continue"
        self._head = request.method == "HEAD"
        self._keep_alive = request.keep_alive
        self._status = 0
        self._headers: list[bytes] = []
        self._declared: int | None = None  # the Content-Length the app gave
        self._chunked = False
        self._written = False  # the head is out
        self._sent = 0  # body bytes the app gave
        responder.on_disconnect(self._gone)
        if not responder.connected:  # gone between the request and the app's task
            self.disconnected = True

    def _gone(self) -> None:
        self.disconnected = True
        self.stream.wake()

    # -- receive ----------------------------------------------------------------------------

    async def receive(self) -> Message:
        stream = self.stream
        while not self.disconnected and not self.complete:
            if self._body_done:
                await stream.wait()  # the end: the client goes, or the answer is complete
                continue
            if stream.size or stream.complete:
                body = stream.take()
                more = not stream.complete
                self._body_done = not more
                return {"type": "http.request", "body": body, "more_body": more}
            if self._expect_continue and not self.started:
                self._expect_continue = False
                self.responder.write(_CONTINUE)
            try:
                async with asyncio.timeout(self._timeout):
                    await stream.wait()
            except TimeoutError:
                log.debug("request body from %s silent too long, closing", self.request.client)
                self.disconnected = True
                self.responder.close()
        return _DISCONNECT

    # -- send -------------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.started:
                raise RuntimeError("http.response.start sent twice")
            self.started = True
            self._start(int(message["status"]), message.get("headers") or ())
        elif kind == "http.response.body":
            if not self.started:
                raise RuntimeError("http.response.body before http.response.start")
            if self.complete:
                raise RuntimeError("http.response.body after the response was complete")
            if self.disconnected:
                return
            body = bytes(message.get("body", b""))
            more = bool(message.get("more_body", False))
            self._body(body, more)
            if more:
                await self.responder.drain()
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} in an HTTP request")

    def _start(self, status: int, headers: Any) -> None:
        self._status = status
        lines = self._headers
        lines.append(b"HTTP/1.1 %d %s\r\n" % (status, _reason(status)))
        for name, value in headers:
            name = bytes(name)
            value = bytes(value)
            lowered = name.lower()
            if lowered == b"content-length":
                self._declared = int(value)
            elif lowered == b"transfer-encoding":
                self._chunked = b"chunked" in value.lower()
            elif lowered == b"connection" and value.lower() == b"close":
                self._keep_alive = False
            lines.append(b"%s: %s\r\n" % (name, value))

    def _body(self, body: bytes, more: bool) -> None:
        no_body = self._head or self._status < 200 or self._status in (204, 304)
        out: list[bytes] = []
        if not self._written:
            self._written = True
            head = self._headers
            if self._declared is None and not self._chunked and not no_body:
                if not more:
                    head.append(b"content-length: %d\r\n" % len(body))
                    self._declared = len(body)
                elif self.request.http_version == "1.1":
                    head.append(b"transfer-encoding: chunked\r\n")
                    self._chunked = True
                else:
                    self._keep_alive = False  # HTTP/1.0: the end of the body is the close
            if not self._keep_alive:
                head.append(b"connection: close\r\n")
            head.append(b"\r\n")
            out.append(b"".join(head))
            self._headers = []
        self._sent += len(body)
        if self._declared is not None and self._sent > self._declared and not no_body:
            raise RuntimeError("response body longer than its Content-Length")
        if body and not no_body:
            if self._chunked:
                out.append(b"%x\r\n" % len(body))
                out.append(body)
                out.append(b"\r\n")
            else:
                out.append(body)
        if not more:
            if self._chunked and not no_body:
                out.append(_LAST_CHUNK)
            if self._declared is not None and self._sent < self._declared and not no_body:
                self._keep_alive = False  # the client waits for bytes that will not come
        if out:
            self.responder.write(out[0] if len(out) == 1 else b"".join(out))
        if not more:
            self.complete = True
            self.stream.wake()
            self.responder.finish(self._keep_alive)

    def failed(self) -> None:
        """The app raised, or returned without a complete answer."""
        if self.complete or self.disconnected:
            return
        self.complete = True
        self.stream.wake()
        if self.started:
            self.responder.close()  # cut short: the client sees it incomplete
            return
        body = b"Internal Server Error"
        self.responder.write(
            b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
        )
        self.responder.finish(False)


class _WebSocketCycle:
    """One WebSocket of the app: ASGI messages on one side, tether's WebSocket on the other
    (this object is its handler)."""

    def __init__(self, upgrade: HttpUpgrade, options: HostOptions) -> None:
        self.upgrade = upgrade
        self.options = options
        self.websocket: WebSocket | None = None
        self._connected = False  # websocket.connect delivered
        self._refused = False  # closed before accepting
        self._closed = False  # the connection is gone (disconnect queued)
        self._messages: deque[tuple[Message, int]] = deque()
        self._queued = 0
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        #: What receive() returns once the connection is gone, as often as it is called.
        self._disconnect: Message = {"type": "websocket.disconnect", "code": 1006}

    # -- the WebSocket's handler ------------------------------------------------------------

    def on_text(self, text: str) -> None:
        self._push({"type": "websocket.receive", "text": text}, len(text))

    def on_binary(self, data: bytes) -> None:
        self._push({"type": "websocket.receive", "bytes": data}, len(data))

    def on_websocket_close(self, code: int, error: bool) -> None:
        self._closed = True
        self._disconnect = {"type": "websocket.disconnect", "code": code}
        self._push(self._disconnect, 0)

    def _push(self, message: Message, size: int) -> None:
        self._messages.append((message, size))
        self._queued += size
        self._wake()
        websocket = self.websocket
        if (
            self._queued > self.options.websocket_receive_buffer
            and websocket is not None
            and not websocket.transport.is_closing()
        ):
            self._paused = True
            websocket.transport.pause_reading()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the app's side ---------------------------------------------------------------------

    async def receive(self) -> Message:
        if not self._connected:
            self._connected = True
            return {"type": "websocket.connect"}
        while not self._messages:
            if self._refused or self._closed:
                return self._disconnect
            waiter = self._waiter
            if waiter is None or waiter.done():
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter
        message, size = self._messages.popleft()
        self._queued -= size
        websocket = self.websocket
        if (
            self._paused
            and self._queued <= self.options.websocket_receive_buffer // 2
            and websocket is not None
        ):
            self._paused = False
            if not websocket.transport.is_closing():
                websocket.transport.resume_reading()
        return message

    async def send(self, message: Message) -> None:
        kind = message["type"]
        websocket = self.websocket
        if kind == "websocket.accept":
            if websocket is not None or self._refused:
                raise RuntimeError("websocket.accept after the WebSocket was accepted or closed")
            headers = []
            subprotocol = message.get("subprotocol")
            if subprotocol:
                headers.append(("Sec-WebSocket-Protocol", str(subprotocol)))
            for name, value in message.get("headers") or ():
                headers.append((bytes(name).decode("latin-1"), bytes(value).decode("latin-1")))
            self.websocket = accept_websocket(
                self.upgrade,
                self,
                max_message_size=self.options.max_websocket_message,
                deflate=DeflateOptions() if self.options.websocket_per_message_deflate else None,
                extra_headers=headers,
            )
            if self.websocket is None:  # a bad handshake (refused with 400) or gone
                self._refused = True
                self._wake()
        elif kind == "websocket.send":
            if websocket is None:
                raise RuntimeError("websocket.send before websocket.accept")
            if self._closed:
                return
            text = message.get("text")
            if text is not None:
                websocket.send_text(text)
            else:
                websocket.send_binary(bytes(message.get("bytes") or b""))
            await websocket.writer.drained()
        elif kind == "websocket.close":
            if websocket is None:
                if not self._refused:
                    self._refused = True
                    self.upgrade.reject(403, [], b"")
                    self._wake()
            else:
                websocket.close(int(message.get("code", 1000)), str(message.get("reason") or ""))
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} in a WebSocket")

    def finish(self, code: int) -> None:
        """The app returned (1000) or raised (1011)."""
        websocket = self.websocket
        if websocket is None:
            if not self._refused:
                self._refused = True
                self.upgrade.reject(500 if code == 1011 else 403, [], b"")
        elif not self._closed:
            websocket.close(code)

    def going_away(self) -> None:
        """The server shuts down."""
        if self.websocket is not None and not self._closed:
            self.websocket.close(1012)


class _Lifespan:
    """The app's ``lifespan`` scope, run by a task of its own for the server's life."""

    def __init__(self, app: ASGIApplication, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._answers: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._supported = True

    async def _run(self) -> None:
        scope: Scope = {"type": "lifespan", "asgi": _LIFESPAN_ASGI, "state": self.state}
        await self.app(scope, self._inbox.get, self._answers.put)

    async def _answer(self) -> Message | None:
        """The app's answer to the last message, or ``None`` if its lifespan ended."""
        assert self._task is not None
        getter = asyncio.ensure_future(self._answers.get())
        try:
            await asyncio.wait({getter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not getter.done():
                getter.cancel()
        if getter.done() and not getter.cancelled():
            return getter.result()
        return None

    async def startup(self) -> None:
        self._task = asyncio.ensure_future(self._run())
        await self._inbox.put({"type": "lifespan.startup"})
        answer = await self._answer()
        if answer is None:
            self._supported = False
            error = None if self._task.cancelled() else self._task.exception()
            # As uvicorn's "auto": an app that raises or returns here does not do lifespan.
            log.info("the ASGI app does not support lifespan (%r); going on without it", error)
            return
        if answer["type"] == "lifespan.startup.failed":
            raise LifespanFailed(
                f"the app's lifespan startup failed: {answer.get('message') or 'no message'}"
            )
        if answer["type"] != "lifespan.startup.complete":
            raise LifespanFailed(f"unexpected lifespan message {answer['type']!r}")

    async def shutdown(self, timeout: float) -> None:
        task = self._task
        if task is None or not self._supported or task.done():
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        try:
            async with asyncio.timeout(timeout):
                answer = await self._answer()
        except TimeoutError:
            log.error("the ASGI app's lifespan shutdown took over %s s", timeout)
            answer = None
        if answer is not None and answer["type"] == "lifespan.shutdown.failed":
            log.error("the ASGI app's lifespan shutdown failed: %s", answer.get("message"))
        if not task.done():
            task.cancel()
        with contextlib.suppress(BaseException):
            await task
