"""HTTP/1.1 over asyncio: one :class:`HttpProtocol` per TCP connection, parsed by httptools.

Requests are answered in order, one at a time: while an answer is pending (a long-polling
GET waits for packets), later pipelined requests wait and reading pauses. A WebSocket
upgrade switches the same protocol object to WebSocket mode in place; the bytes that came
after the upgrade request are handed on, nothing is parsed twice.

Limits (all in :class:`HttpLimits`): the request line and headers, the body, the time a
request may take to arrive (slowloris) and the time an idle keep-alive connection is kept.
Breaking one gets a plain 400/408/413/431 and the connection is closed; nothing else is
affected.

Streaming (for an app hosted beside Socket.IO, :mod:`tether.aio.asgi_host`): an app with a
``streams_request(target: bytes) -> bool`` method is asked, when a request's headers are
complete, whether it takes the request now; if so it gets a :class:`StreamedRequest` whose
body arrives through a :class:`BodyStream` (reading pauses while the app has not taken what
came, so a large upload holds at most :data:`BODY_HIGH_WATER` bytes and one read), not
bounded by ``max_body``, and answers with :meth:`HttpResponder.write` and
:meth:`HttpResponder.finish`. Apps without the method (Socket.IO's router) are not asked.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from typing import Any, ClassVar, Final, TypeVar, cast

import httptools

from tether._compiled import mypyc_attr
from tether.aio.heartbeat import HeartbeatQueue, HeartbeatSlot
from tether.aio.websocket import WebSocket, accept_websocket
from tether.aio.writer import Writer, close_transport
from tether.http.exchange import HttpApp, WebSocketHandler
from tether.http.messages import Headers, HttpLimits, Request, render_response
from tether.ws.deflate import DeflateOptions

_Upgraded = TypeVar("_Upgraded", bound=WebSocket)

# The module's constants and tables are Final: compiled code holds them in C variables
# instead of looking them up in the module's dict on every use.

#: The empty list connections share where they need none: a body until its first chunk, the
#: request queue until the first request, both once a WebSocket (never changed in place).
_UNUSED: Final[list[Any]] = []
#: The same for the headers, until the first request begins (each request has its own dict).
_NO_HEADERS: Final[dict[str, str]] = {}


#: Header names, and the values of headers that are the same on most requests, decoded once
#: and shared by every request that has them (a connection keeps its handshake's headers).
_HEADER_NAMES: Final[dict[bytes, str]] = {}
_HEADER_VALUES: Final[dict[bytes, str]] = {}
_MAX_SHARED: Final = 512
_REPEATED_VALUES: Final = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "connection",
        "host",
        "origin",
        "pragma",
        "sec-websocket-extensions",
        "sec-websocket-version",
        "upgrade",
        "user-agent",
    }
)

log = logging.getLogger("tether.http")

#: Per loop and delay, the first deadlines of new connections (``keep_alive_timeout`` after they
#: are made): one timer for every connection, not one each (most become WebSockets, which need
#: none, within milliseconds).
_first_deadlines: dict[asyncio.AbstractEventLoop, dict[float, HeartbeatQueue]] = {}


def _first_deadline_queue(loop: asyncio.AbstractEventLoop, delay: float) -> HeartbeatQueue:
    queues = _first_deadlines.get(loop)
    if queues is None:
        queues = _first_deadlines[loop] = {}
        # Forget the queues of closed loops (tests make many loops).
        for old in [k for k in _first_deadlines if k.is_closed()]:
            del _first_deadlines[old]
    queue = queues.get(delay)
    if queue is None:
        queue = queues[delay] = HeartbeatQueue(loop)
    return queue


#: Requests a client may pipeline behind one that waits (a long-poll GET) before it is cut off.
MAX_PIPELINED: Final = 64

#: Bytes of a streamed request body held for an app that has not taken them: past it, reading
#: pauses until the app takes them.
BODY_HIGH_WATER: Final = 64 * 1024


def _streams_unknown(target: bytes) -> bool:
    """Stands for the app's ``streams_request`` until it was looked up."""
    return False


class BodyStream:
    """The body of a :class:`StreamedRequest`, delivered as it arrives, one consumer.

    :meth:`take` returns what came since the last call (reading resumes if it had paused),
    :meth:`wait` waits for more, the end, or :meth:`wake`. Once the answer is finished
    before the body, the rest is read and dropped (:meth:`discard`).
    """

    __slots__ = ("_chunks", "_protocol", "_waiter", "complete", "discarding", "size")

    def __init__(self, protocol: HttpProtocol) -> None:
        self._protocol = protocol
        self._chunks: list[bytes] = []
        self._waiter: asyncio.Future[None] | None = None
        #: The whole body has arrived.
        self.complete = False
        self.discarding = False
        #: Bytes arrived and not taken yet.
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        if self.discarding:
            return
        self._chunks.append(chunk)
        self.size += len(chunk)
        self.wake()
        if self.size >= BODY_HIGH_WATER:
            self._protocol._pause_reading()

    def end(self) -> None:
        self.complete = True
        self.wake()

    def take(self) -> bytes:
        """What arrived since the last call (``b""`` if nothing)."""
        chunks = self._chunks
        if not chunks:
            return b""
        self._chunks = []
        self.size = 0
        if not self.complete:
            # Only this request is being read (nothing is parsed past an incomplete body).
            self._protocol._resume_reading()
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def wait(self) -> None:
        """Until more arrives, the body is complete, or :meth:`wake` is called."""
        waiter = self._waiter
        if waiter is None or waiter.done():  # done: a waiter before this one was cancelled
            waiter = self._waiter = self._protocol.loop.create_future()
        await waiter

    def wake(self) -> None:
        """Let :meth:`wait` return (the client went away, the answer is done)."""
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def discard(self) -> None:
        """Drop what arrived and what is still to come."""
        self.discarding = True
        self._chunks = []
        self.size = 0
        self.wake()


class StreamedRequest(Request):
    """A request taken when its headers were complete: ``body`` is empty, the body comes
    through :attr:`stream`."""

    __slots__ = ("http_version", "stream")

    def __init__(
        self,
        method: str,
        target: bytes,
        headers: dict[str, str],
        client: tuple[str, int] | None,
        scheme: str,
        keep_alive: bool,
        http_version: str,
        stream: BodyStream,
    ) -> None:
        super().__init__(method, target, headers, b"", client, scheme, keep_alive)
        self.http_version = http_version
        self.stream = stream


class HttpResponder:
    """Answers one request, once. Safe to call after the client went away (it does nothing)."""

    __slots__ = ("_protocol", "done", "request")

    def __init__(self, protocol: HttpProtocol, request: Request) -> None:
        self._protocol = protocol
        self.request = request
        self.done = False

    @property
    def connected(self) -> bool:
        """False once the client closed the connection."""
        return not self._protocol.closed

    def send(self, status: int, headers: Headers, body: bytes = b"") -> None:
        """Send the whole response."""
        if self.done:
            return
        self.done = True
        self._protocol.respond(self, status, headers, body)

    def on_disconnect(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` if the client goes away before the answer is sent."""
        self._protocol.disconnect_callback = callback

    # A streamed answer: raw bytes framed by the caller, then finish() (or close()).

    def write(self, data: bytes) -> None:
        """Send part of the answer as raw bytes: the head, then the body as the caller frames
        it (Content-Length or chunked); :meth:`send` does nothing afterwards."""
        self.done = True
        writer = self._protocol.writer
        if writer is not None and not self._protocol.closed:
            writer.write(data)

    async def drain(self) -> None:
        """Wait while the client reads slower than the answer is written."""
        writer = self._protocol.writer
        if writer is not None:
            await writer.drained()

    def finish(self, keep_alive: bool) -> None:
        """The answer written with :meth:`write` is complete: go on with the next request
        (the rest of an unread body is dropped), or close the connection."""
        self.done = True
        self._protocol.end_response(self, keep_alive)

    def close(self) -> None:
        """Close the connection, the answer cut short (an app that failed mid-answer)."""
        self.done = True
        self._protocol._close()

    @property
    def local_address(self) -> tuple[str, int] | None:
        """The server's end of the connection (host, port)."""
        return self._protocol.local_address()


class HttpUpgrade:
    """A pending WebSocket upgrade: accept it with a handler, or refuse it."""

    __slots__ = ("_protocol", "request", "tail")

    def __init__(self, protocol: HttpProtocol, request: Request, tail: bytes) -> None:
        self._protocol = protocol
        self.request = request
        self.tail = tail

    def accept(
        self, websocket_factory: Callable[[asyncio.Transport, Writer], _Upgraded]
    ) -> _Upgraded | None:
        """Switch the connection to WebSocket and return what ``websocket_factory`` built
        (the glue object, which writes the 101 answer itself, as only it knows the negotiated
        extensions); ``None`` when the client is already gone."""
        return self._protocol.switch_to_websocket(websocket_factory, self.tail)

    def reject(self, status: int, headers: Headers, body: bytes = b"") -> None:
        """Answer with an HTTP error and close the connection."""
        self._protocol.write_and_close(status, headers, body)

    @property
    def local_address(self) -> tuple[str, int] | None:
        """The server's end of the connection (host, port)."""
        return self._protocol.local_address()

    def open_websocket(
        self,
        handler: WebSocketHandler,
        *,
        max_message_size: int,
        deflate: DeflateOptions | None = None,
        extra_headers: Headers | None = None,
    ) -> WebSocket | None:
        """Complete the WebSocket handshake (or refuse a bad one) and return the WebSocket."""
        return accept_websocket(
            self,
            handler,
            max_message_size=max_message_size,
            deflate=deflate,
            extra_headers=extra_headers or [],
        )


@mypyc_attr(allow_interpreted_subclasses=True)
class HttpProtocol(asyncio.Protocol):
    """One TCP connection: HTTP requests, then possibly a WebSocket."""

    #: httptools' parser looks these callbacks up for each connection: found (None: not
    #: called), they cost no failed getattr (an AttributeError made and dropped) each.
    on_chunk_header: ClassVar[None] = None
    on_chunk_complete: ClassVar[None] = None

    __slots__ = (
        "_body",
        "_body_size",
        "_current",
        "_deadline",
        "_dispatching",
        "_header_bytes",
        "_header_count",
        "_headers",
        "_paused",
        "_queue",
        "_reading",
        "_received",
        "_refusal",
        "_slot",
        "_slot_when",
        "_stream",
        "_streams",
        "_timer",
        "_timer_at",
        "_upgrade_request",
        "_url",
        "app",
        "client",
        "closed",
        "connections",
        "disconnect_callback",
        "limits",
        "loop",
        "parser",
        "scheme",
        "transport",
        "websocket",
        "writer",
    )

    def __init__(
        self,
        app: HttpApp,
        limits: HttpLimits,
        connections: set[HttpProtocol],
        scheme: str,
        received: bytes = b"",
    ) -> None:
        self.app = app
        self._received = received
        self.limits = limits
        self.scheme = scheme
        self.connections = connections
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.writer: Writer | None = None
        self.websocket: WebSocket | None = None
        self.closed = False
        self.client: tuple[str, int] | None = None
        # Dropped once the connection is a WebSocket (it and its bound callbacks are ~1 KiB).
        self.parser: httptools.HttpRequestParser | None = httptools.HttpRequestParser(self)
        self.disconnect_callback: Callable[[], None] | None = None
        self._url = b""
        self._headers = _NO_HEADERS
        self._header_bytes = 0
        self._header_count = 0
        self._body: list[bytes] = _UNUSED
        self._body_size = 0
        # A few pipelined requests at most (MAX_PIPELINED); a list of its own from the first.
        self._queue: list[Request] = _UNUSED
        self._current: HttpResponder | None = None
        self._upgrade_request: Request | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0  # when _timer fires (its when(), not asked: a method call)
        #: The first deadline's entry in the shared queue, and when it is due.
        self._slot: HeartbeatSlot | None = None
        self._slot_when = 0.0
        self._deadline: float | None = None
        self._reading = False
        self._refusal = 400
        self._dispatching = False
        self._paused = False
        #: The app's hook that takes requests at headers-complete time, if it has one; looked
        #: up at the first request that is not an upgrade (a failed getattr is costly, and a
        #: WebSocket's connection never needs it).
        self._streams: Callable[[bytes], bool] | None = _streams_unknown
        self._stream: BodyStream | None = None  # the body being read, of a streamed request

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = transport = cast(asyncio.Transport, transport)
        self.writer = Writer(transport, max_buffer=self.limits.max_write_buffer, loop=self.loop)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            # Interned: the connections from one address share its string.
            self.client = (sys.intern(str(peer[0])), int(peer[1]))
        self.connections.add(self)
        delay = self.limits.keep_alive_timeout
        deadline = self._deadline = self.loop.time() + delay
        self._slot = slot = HeartbeatSlot(self)
        self._slot_when = deadline
        _first_deadline_queue(self.loop, delay).push(slot, deadline)
        if self._received:  # read by someone else before the connection was handed over
            received, self._received = self._received, b""
            self.data_received(received)

    def data_received(self, data: bytes) -> None:
        websocket = self.websocket
        if websocket is not None:
            websocket.data_received(data)
            return
        parser = self.parser
        if parser is None:
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            offset = exc.args[0] if exc.args else len(data)
            self._start_upgrade(data[offset:])
        except httptools.HttpParserError as exc:
            # httptools wraps what a callback raises: the limit that was hit is kept aside.
            status, self._refusal = self._refusal, 400
            log.debug("bad HTTP request from %s (%d): %s", self.client, status, exc)
            current = self._current
            if current is not None and current.done:  # a streamed answer is under way
                self._close()
            else:
                self.write_and_close(status, [], b"")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.connections.discard(self)
        self._cancel_timer()
        if self.writer is not None:
            self.writer.close()
        if self.websocket is not None:
            self.websocket.connection_lost(exc)
        callback, self.disconnect_callback = self.disconnect_callback, None
        if callback is not None:
            callback()

    def pause_writing(self) -> None:
        if self.writer is not None:
            self.writer.pause()

    def resume_writing(self) -> None:
        if self.writer is not None:
            self.writer.resume()

    # -- httptools callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._reading = True
        self._arm(self.limits.request_timeout)
        self._url = b""
        self._headers = {}
        self._header_bytes = 0
        self._header_count = 0
        self._body = _UNUSED  # most requests have no body: a list only for one that has
        self._body_size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self.limits.max_url:
            self._refuse(414)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._header_bytes += len(name) + len(value) + 4
        if (
            self._header_count > self.limits.max_headers
            or self._header_bytes > self.limits.max_header_bytes
        ):
            self._refuse(431)
        key = _HEADER_NAMES.get(name)
        if key is None:
            key = name.decode("latin-1").lower()
            if len(_HEADER_NAMES) < _MAX_SHARED:
                _HEADER_NAMES[name] = key
        if key in _REPEATED_VALUES:
            text = _HEADER_VALUES.get(value)
            if text is None:
                text = value.decode("latin-1")
                if len(_HEADER_VALUES) < _MAX_SHARED:
                    _HEADER_VALUES[value] = text
        else:
            text = value.decode("latin-1")
        previous = self._headers.get(key)
        self._headers[key] = text if previous is None else f"{previous}, {text}"

    def on_headers_complete(self) -> None:
        streams = self._streams
        if streams is not None:
            parser = self.parser
            assert parser is not None  # it is what calls this
            # An upgrade goes to handle_upgrade, as always.
            if not parser.should_upgrade():
                if streams is _streams_unknown:
                    streams = self._streams = getattr(self.app, "streams_request", None)
                if streams is not None and streams(self._url):
                    self._stream_request()
                    return
        length = self._headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.limits.max_body:
            self._refuse(413)

    def on_body(self, body: bytes) -> None:
        stream = self._stream
        if stream is not None:
            stream.feed(body)
            return
        self._body_size += len(body)
        if self._body_size > self.limits.max_body:
            self._refuse(413)
        if self._body is _UNUSED:
            self._body = [body]
        else:
            self._body.append(body)

    def on_message_complete(self) -> None:
        self._reading = False
        self._disarm()
        stream = self._stream
        if stream is not None:  # dispatched at headers-complete time
            self._stream = None
            stream.end()
            if self._current is None and not self._queue and not self.closed:
                self._arm(self.limits.keep_alive_timeout)  # answered before the body ended
            return
        parser = self.parser
        assert parser is not None  # it is what calls this
        request = Request(
            parser.get_method().decode("latin-1"),
            self._url,
            self._headers,
            b"".join(self._body),
            self.client,
            self.scheme,
            parser.should_keep_alive() and self.limits.keep_alive,
        )
        if parser.should_upgrade():
            self._upgrade_request = request
            return
        self._enqueue(request)

    def _stream_request(self) -> None:
        parser = self.parser
        assert parser is not None  # it is what calls this
        stream = self._stream = BodyStream(self)
        request = StreamedRequest(
            parser.get_method().decode("latin-1"),
            self._url,
            self._headers,
            self.client,
            self.scheme,
            parser.should_keep_alive() and self.limits.keep_alive,
            parser.get_http_version(),
            stream,
        )
        # The body comes at the app's pace (reading pauses while it has not taken it): no
        # deadline for its arrival here; the app's idle timeout (see asgi_host) bounds it.
        self._disarm()
        self._enqueue(request)

    def _own_queue(self) -> list[Request]:
        """The pipelined requests: a list of this connection's own from the first (never the
        shared empty one, which must not change)."""
        queue = self._queue
        if queue is _UNUSED:
            queue = self._queue = []
        return queue

    def _enqueue(self, request: Request) -> None:
        queue = self._own_queue()
        queue.append(request)
        if len(queue) > MAX_PIPELINED:
            log.debug(
                "more than %d pipelined requests from %s, closing", MAX_PIPELINED, self.client
            )
            self._queue.clear()
            self.write_and_close(429, [], b"")
            return
        if self._current is None and not self._dispatching:
            self._dispatch_queue()
        else:
            self._pause_reading()

    def _refuse(self, status: int) -> None:
        self._refusal = status
        raise _LimitExceeded(status)

    # -- requests and answers ---------------------------------------------------------------

    def _dispatch_queue(self) -> None:
        # A loop, not recursion: each answer given synchronously lets the next request go.
        self._dispatching = True
        try:
            while self._queue and self._current is None and not self.closed:
                request = self._queue.pop(0)
                responder = self._current = HttpResponder(self, request)
                try:
                    self.app.handle_request(request, responder)
                except Exception:
                    log.exception("error while handling %s %s", request.method, request.path)
                    responder.send(500, [], b"")
        finally:
            self._dispatching = False
        if self._queue:
            self._pause_reading()
        else:
            self._resume_reading()
            if self._current is None and not self.closed:
                self._arm(self.limits.keep_alive_timeout)

    def _pause_reading(self) -> None:
        if not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._paused and self.transport is not None and not self.closed:
            self._paused = False
            self.transport.resume_reading()

    def respond(self, responder: HttpResponder, status: int, headers: Headers, body: bytes) -> None:
        """Write the answer of the current request, then go on with the next one."""
        if self.closed or self.writer is None or self.transport is None:
            return
        self.disconnect_callback = None
        keep_alive = responder.request.keep_alive
        self.writer.write(render_response(status, headers, body, keep_alive))
        self._current = None
        if not keep_alive:
            self._close()
            return
        if not self._dispatching:
            self._dispatch_queue()

    def end_response(self, responder: HttpResponder, keep_alive: bool) -> None:
        """The current request's streamed answer is complete (see :meth:`HttpResponder.finish`)."""
        if self.closed or self._current is not responder:
            return
        self.disconnect_callback = None
        self._current = None
        request = responder.request
        if isinstance(request, StreamedRequest):
            request.stream.discard()
        if not keep_alive:
            self._close()
            return
        if not self._dispatching:
            self._dispatch_queue()

    def local_address(self) -> tuple[str, int] | None:
        """The server's end of the connection (host, port), if it is an IP socket."""
        if self.transport is None:
            return None
        address = self.transport.get_extra_info("sockname")
        return (str(address[0]), int(address[1])) if isinstance(address, tuple) else None

    def write_and_close(self, status: int, headers: Headers, body: bytes) -> None:
        """Answer with an error and close the connection."""
        if self.closed or self.writer is None:
            return
        self.writer.write(render_response(status, headers, body, keep_alive=False))
        self._close()

    def _start_upgrade(self, tail: bytes) -> None:
        request, self._upgrade_request = self._upgrade_request, None
        if request is None or self._current is not None or self._queue:
            self.write_and_close(400, [], b"")
            return
        self._cancel_timer()
        # Nothing more is read until the upgrade is accepted (maybe after an async check).
        self._pause_reading()
        try:
            self.app.handle_upgrade(HttpUpgrade(self, request, tail))
        except Exception:
            log.exception("error while upgrading %s", request.path)
            self.write_and_close(500, [], b"")

    def switch_to_websocket(
        self, factory: Callable[[asyncio.Transport, Writer], _Upgraded], tail: bytes
    ) -> _Upgraded | None:
        """Hand the connection to a WebSocket; called by :meth:`HttpUpgrade.accept`."""
        if self.closed or self.transport is None or self.writer is None:
            return None
        self.websocket = websocket = factory(self.transport, self.writer)
        # No more HTTP on this connection: drop what only parsing needed.
        self.parser = None
        self._body = _UNUSED
        self._queue = _UNUSED
        self._url = b""
        if tail:
            # Delivered once the caller has finished wiring the WebSocket to its session.
            self.loop.call_soon(self._feed_tail, websocket, tail)
        else:
            self._resume_reading()
        return websocket

    def _feed_tail(self, websocket: WebSocket, tail: bytes) -> None:
        if not self.closed:
            websocket.data_received(tail)
            self._resume_reading()

    # -- timers and closing -----------------------------------------------------------------

    # One timer per connection serves the request and keep-alive timeouts: arming only moves
    # the deadline (a new timer only when it must fire earlier), disarming clears it, and a
    # timer that fires before the deadline re-arms at it. A keep-alive request costs no timer
    # operation. The first deadline (from connection_made) is an entry in a queue that all
    # connections share instead (see on_beat): a WebSocket connection makes no timer at all.

    def _arm(self, delay: float) -> None:
        deadline = self.loop.time() + delay
        self._deadline = deadline
        timer = self._timer
        if timer is None:
            if self._slot is not None and self._slot_when <= deadline:
                return  # the queue's entry comes first
        elif self._timer_at <= deadline:
            return
        else:
            timer.cancel()
        self._timer = self.loop.call_at(deadline, self._timed_out)
        self._timer_at = deadline

    def on_beat(self, deadline: float, now: float) -> None:
        """The first deadline's entry in the shared queue is reached: as a timer firing."""
        self._slot = None
        if self._timer is None:  # else a timer serves an earlier deadline, and re-arms
            self._timed_out()

    def _disarm(self) -> None:
        self._deadline = None

    def _cancel_timer(self) -> None:
        self._deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        slot = self._slot
        if slot is not None:
            slot.socket = None  # the queue keeps only the slot until the entry is reached
            self._slot = None

    def _timed_out(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None:
            return
        if self.loop.time() < deadline:
            self._timer = self.loop.call_at(deadline, self._timed_out)
            self._timer_at = deadline
            return
        self._deadline = None
        if self.websocket is not None or self._current is not None or self.closed:
            return
        if self._reading and self._stream is None:
            log.debug("request from %s too slow, closing", self.client)
            self.write_and_close(408, [], b"")
        else:
            self._close()

    def _close(self) -> None:
        self._cancel_timer()
        if self.transport is not None and not self.closed:
            if self.writer is not None:
                self.writer.flush()
            close_transport(self.transport, self.limits.close_timeout)

    def shutdown(self) -> None:
        """Close an idle connection now; a busy one closes after its current answer."""
        if self.websocket is None and self._current is None:
            self._close()


class _LimitExceeded(Exception):
    """Raised inside a parser callback to stop parsing a request that broke a limit."""
