"""The Engine.IO v4 server: it routes each HTTP request and WebSocket upgrade to its session
(:class:`~tether.aio.engine_socket.EngineSocket`), opens new sessions over the transports of
:mod:`tether.aio.transports`, answers errors, CORS and compression.

Usable on its own, as Node's ``engine.io`` is: the layer above is handed to it as an
:class:`EngineIoHandler`, which gives each new session a
:class:`~tether.aio.engine_socket.SessionHandler`::

    class Echo:
        def open_session(self, socket: EngineSocket) -> SessionHandler:
            return EchoSession(socket)    # on_message(data) -> socket.send(data); on_close

    engine = EngineServer(EngineOptions(path="/engine.io/"), Echo())
    await serve(Router(engine), "127.0.0.1", 3000)
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from tether.aio.engine_socket import EngineSocket, EngineSocketV3, SessionHandler
from tether.aio.heartbeat import HeartbeatQueue
from tether.aio.transports import TRANSPORTS, TRANSPORTS_V3, TransportKind
from tether.aio.websocket import DETACHED
from tether.eio import v3
from tether.eio.encoded import Encoded
from tether.eio.errors import ErrorCode, RequestError
from tether.eio.handshake import RequestKind, open_packet, route
from tether.eio.options import EngineOptions
from tether.eio.session import Reason, new_sid
from tether.http.compression import compress
from tether.http.cors import cors_headers, preflight_headers, same_origin
from tether.http.exchange import Responder, Upgrade
from tether.http.messages import JSON, TEXT_HTML, TEXT_PLAIN, Headers, Request
from tether.ws.deflate import DeflateOptions

if TYPE_CHECKING:
    from tether.aio.cluster import ClusterEngine

log = logging.getLogger("tether.engine")

#: How the open packet of an empty sid begins (see :meth:`EngineServer._open_packet`).
_OPEN_HEAD = '0{"sid":""'

__all__ = ["Encoded", "EngineIoHandler", "EngineServer", "EngineSocket", "Reason"]


class EngineIoHandler(Protocol):
    """The layer above the engine (the Socket.IO server, or an app of bare Engine.IO)."""

    def open_session(self, socket: EngineSocket) -> SessionHandler:
        """A session opened: return what receives its messages and its close."""


class EngineServer:
    """An Engine.IO server: an HTTP app answering at ``options.path``."""

    def __init__(self, options: EngineOptions, handler: EngineIoHandler) -> None:
        self.options = options
        self.handler = handler
        #: Put before every new sid (``--workers`` routes requests to their worker by it).
        self.sid_prefix = ""
        self.sessions: dict[str, EngineSocket] = {}
        #: Serves sessions held by other servers (see :mod:`tether.aio.cluster`), if set.
        self.cluster: ClusterEngine | None = None
        #: Told of refusals (``refused(reason)``) and upgrades (``upgraded(socket)``) when
        #: set (:meth:`observe`: :mod:`tether.metrics`, :mod:`tether.admin`).
        self.observer: Any = None
        self._lingering: dict[str, EngineSocket] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ping_queue: HeartbeatQueue | None = None
        self._pong_queue: HeartbeatQueue | None = None
        self._eio3_queue: HeartbeatQueue | None = None
        self._deadline_queues: dict[float, HeartbeatQueue] = {}
        #: What follows the sid in the open packet, by transport, and the options it is of.
        self._open_tails: dict[str, tuple[EngineOptions, str]] = {}
        self.deflate = DeflateOptions() if self.options.per_message_deflate else None
        opts = self.options
        #: The allowed transports by name, and whether each is opened by an HTTP Upgrade.
        self.transports = {
            name: TRANSPORTS[name].handles_upgrades
            for name in opts.transports
            if name in TRANSPORTS
        }

    @property
    def serving_loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop this server runs in, once known (``None`` before it first served)."""
        return self._loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    @property
    def ping_queue(self) -> HeartbeatQueue:
        """The sessions' next pings (deadlines ``ping_interval`` after they were set)."""
        queue = self._ping_queue
        if queue is None:
            queue = self._ping_queue = HeartbeatQueue(self.loop)
        return queue

    @property
    def pong_queue(self) -> HeartbeatQueue:
        """The sessions' pong deadlines (``ping_timeout`` after each ping)."""
        queue = self._pong_queue
        if queue is None:
            queue = self._pong_queue = HeartbeatQueue(self.loop)
        return queue

    @property
    def eio3_queue(self) -> HeartbeatQueue:
        """The deadlines of v3 sessions (``ping_interval + ping_timeout`` after the client's
        last ping), when ``allow_eio3`` is on."""
        queue = self._eio3_queue
        if queue is None:
            queue = self._eio3_queue = HeartbeatQueue(self.loop)
        return queue

    def deadline_queue(self, delay: float) -> HeartbeatQueue:
        """The deadlines ``delay`` seconds after they are set, for the layer above (Socket.IO's
        connect timeout): one timer for every session, not one each. Cleared at shutdown."""
        queue = self._deadline_queues.get(delay)
        if queue is None:
            queue = self._deadline_queues[delay] = HeartbeatQueue(self.loop)
        return queue

    # -- HTTP app ---------------------------------------------------------------------------

    def handles(self, path: str) -> bool:
        """Whether a request path belongs to this server."""
        base = self.options.path
        return path == base or path == base.rstrip("/") or path.startswith(base)

    def handle_request(self, request: Request, responder: Responder) -> None:
        origin = request.headers.get("origin")
        if request.method == "OPTIONS":
            self._preflight(request, responder, origin)
            return
        if origin is not None and not self._origin_allowed(request, origin):
            self._refused(request, "origin", self._origin_refusal(origin))
            self.answer_error(responder, RequestError(ErrorCode.FORBIDDEN, status=403))
            return
        try:
            kind, name, sid = route(
                request.method, request.query, False, self.transports, self.options.allow_eio3
            )
        except RequestError as exc:
            self._refused(request, exc.code.name.lower(), str(exc))
            self.answer_error(responder, exc)
            return
        if kind is RequestKind.HANDSHAKE:
            self._polling_handshake(request, responder, name)
            return
        socket = self.sessions.get(sid)
        if socket is None:
            if kind is RequestKind.POLL:
                lingering = self._lingering.get(sid)
                if lingering is not None:
                    lingering.deliver_close(responder)
                    return
            if self.cluster is not None:
                self.cluster.foreign_request(kind, name, sid, request, responder)
                return
            self._refused(request, "unknown_sid", f"session ID unknown: {sid}")
            self.answer_error(responder, RequestError(ErrorCode.UNKNOWN_SID))
            return
        if not socket.session.polling:
            self._refused(request, "bad_request", f"transport mismatch (session {sid})")
            self.answer_error(
                responder, RequestError(ErrorCode.BAD_REQUEST, detail="transport mismatch")
            )
            return
        if kind is RequestKind.POLL:
            socket.on_poll(responder)
        elif len(request.body) > self.options.max_http_buffer_size:
            self.answer(responder, 413, TEXT_HTML, b"")
            socket.close_now(Reason.TRANSPORT_ERROR)
        else:
            self.answer(responder, 200, TEXT_HTML, b"ok")
            socket.on_post(request.body)

    def _polling_handshake(self, request: Request, responder: Responder, name: str) -> None:
        # Apart from handle_request: its closures would make every request of handle_request
        # allocate their environment (compiled).
        if self.options.allow_request is None:  # no closures to make
            self._open_polling(request, responder, name)
            return
        self._check_then(
            request,
            lambda: self._open_polling(request, responder, name),
            lambda msg: self.answer_error(responder, RequestError(ErrorCode.FORBIDDEN, 403, msg)),
        )

    def handle_upgrade(self, upgrade: Upgrade) -> None:
        request = upgrade.request
        origin = request.headers.get("origin")
        if origin is not None and not self._origin_allowed(request, origin):
            self._refused(request, "origin", self._origin_refusal(origin))
            self._reject(upgrade, RequestError(ErrorCode.FORBIDDEN, status=403))
            return
        try:
            kind, name, sid = route(
                request.method, request.query, True, self.transports, self.options.allow_eio3
            )
        except RequestError as exc:
            self._refused(request, exc.code.name.lower(), str(exc))
            self._reject(upgrade, exc)
            return
        if kind is RequestKind.HANDSHAKE:
            if self.options.allow_request is None:  # no closures to make
                self._open_websocket(upgrade, name)
                return
            self._check_then(
                request,
                lambda: self._open_websocket(upgrade, name),
                lambda msg: self._reject(upgrade, RequestError(ErrorCode.FORBIDDEN, 403, msg)),
            )
            return
        socket = self.sessions.get(sid)
        if socket is None:
            if self.cluster is not None and self.options.allow_upgrades:
                self.cluster.foreign_upgrade(name, sid, upgrade, TRANSPORTS[name])
                return
            self._refused(request, "unknown_sid", f"session ID unknown: {sid}")
            self._reject(upgrade, RequestError(ErrorCode.UNKNOWN_SID))
            return
        if not self.options.allow_upgrades:
            self._refused(request, "bad_request", "upgrades disabled (allow_upgrades)")
            self._reject(upgrade, RequestError(ErrorCode.BAD_REQUEST, detail="upgrades disabled"))
            return
        if socket.session.polling and name not in socket.transport.upgrades_to:
            self._refused(request, "bad_request", f"no upgrade to {name}")
            self._reject(upgrade, RequestError(ErrorCode.BAD_REQUEST, detail="no such upgrade"))
            return
        socket.start_upgrade(upgrade, socket.transports[name])

    # -- opening sessions -------------------------------------------------------------------

    def _check_then(
        self, request: Request, accept: Callable[[], None], refuse: Callable[[str], None]
    ) -> None:
        hook = self.options.allow_request
        if hook is None:
            accept()
            return

        def refused(message: str) -> None:
            self._refused(request, "allow_request", f"allow_request refused it: {message}")
            refuse(message)

        try:
            result = hook(request)
        except Exception as exc:
            log.exception("allow_request failed")
            refused(str(exc))
            return
        if inspect.isawaitable(result):
            self.loop.create_task(self._await_check(result, accept, refused))
        elif result is None:
            accept()
        else:
            refused(str(result))

    async def _await_check(
        self,
        result: Awaitable[str | None],
        accept: Callable[[], None],
        refuse: Callable[[str], None],
    ) -> None:
        try:
            message = await result
        except Exception as exc:
            log.exception("allow_request failed")
            refuse(str(exc))
            return
        if message is None:
            accept()
        else:
            refuse(str(message))

    def _new_sid(self) -> str:
        sid = self.sid_prefix + new_sid()
        while sid in self.sessions:  # pragma: no cover - 120 random bits
            sid = self.sid_prefix + new_sid()
        return sid

    def _cookie(self, sid: str) -> Headers:
        cookie = self.options.cookie
        return [("Set-Cookie", f"{cookie}={sid}; Path=/; HttpOnly; SameSite=Lax")] if cookie else []

    def _upgrades(self, kind: TransportKind) -> list[str]:
        """The open packet's ``upgrades`` for a session opened over ``kind``."""
        if not self.options.allow_upgrades:
            return []
        return [name for name in kind.upgrades_to if name in self.transports]

    def _open_packet(self, sid: str, kind: TransportKind) -> str:
        """``open_packet`` of a new v4 session over ``kind``: all but the sid is the same for
        every session of one transport, made once."""
        opts = self.options
        cached = self._open_tails.get(kind.name)
        if cached is None or cached[0] is not opts:
            empty = open_packet(
                "",
                self._upgrades(kind),
                opts.ping_interval,
                opts.ping_timeout,
                opts.max_http_buffer_size,
            )
            assert empty.startswith(_OPEN_HEAD)
            cached = self._open_tails[kind.name] = (opts, empty[len(_OPEN_HEAD) :])
        return '0{"sid":' + orjson.dumps(sid).decode() + cached[1]

    def _open_polling(self, request: Request, responder: Responder, name: str) -> None:
        if not responder.connected:
            return
        if request.query.get("EIO") == "3":
            self._open_polling_v3(request, responder, name)
            return
        kind = TRANSPORTS[name]
        socket = EngineSocket(self, self._new_sid(), request, kind)
        self.sessions[socket.sid] = socket
        packet = self._open_packet(socket.sid, kind)
        self.answer(responder, 200, [*TEXT_PLAIN, *self._cookie(socket.sid)], packet.encode())
        self._connected(socket)

    def _open_polling_v3(self, request: Request, responder: Responder, name: str) -> None:
        kind = TRANSPORTS_V3[name]
        socket = EngineSocketV3(self, self._new_sid(), request, kind)
        self.sessions[socket.sid] = socket
        opts = self.options
        packet = v3.open_packet(
            socket.sid, self._upgrades(kind), opts.ping_interval, opts.ping_timeout
        )
        body = v3.encode_payload_text([packet]).encode()
        self.answer(responder, 200, [*TEXT_PLAIN, *self._cookie(socket.sid)], body)
        self._connected(socket)

    def _open_websocket(self, upgrade: Upgrade, name: str) -> None:
        eio3 = upgrade.request.query.get("EIO") == "3"
        kind = TRANSPORTS_V3[name] if eio3 else TRANSPORTS[name]
        opts = self.options
        sid = self._new_sid()
        websocket = upgrade.open_websocket(
            DETACHED,
            max_message_size=opts.max_http_buffer_size,
            deflate=self.deflate,
            extra_headers=self._cookie(sid),
        )
        if websocket is None:
            return
        socket_class = EngineSocketV3 if eio3 else EngineSocket
        socket = socket_class(self, sid, upgrade.request, kind, websocket)
        self.sessions[sid] = socket
        if eio3:
            packet = v3.open_packet(
                sid, self._upgrades(kind), opts.ping_interval, opts.ping_timeout
            )
        else:
            packet = self._open_packet(sid, kind)
        websocket.send_text(packet)
        self._connected(socket)

    def attach_cluster(self, cluster: ClusterEngine) -> None:
        """Serve requests for sessions of other servers through ``cluster`` (not with
        ``allow_eio3``: the cluster engine serves v4 sessions only)."""
        if self.options.allow_eio3:
            raise ValueError("allow_eio3 cannot be combined with a cluster engine")
        self.cluster = cluster
        cluster.attach(self)

    def _connected(self, socket: EngineSocket) -> None:
        if log.isEnabledFor(logging.DEBUG):
            client = socket.request.client
            log.debug(
                "session %s opened over %s from %s",
                socket.sid,
                socket.transport.name,
                client[0] if client else "?",
            )
        if self.cluster is not None and socket.session.polling:
            self.cluster.delay(socket)
        else:
            self.open_handler(socket)

    def open_handler(self, socket: EngineSocket) -> None:
        """Hand a new session to the layer above."""
        try:
            handler = self.handler.open_session(socket)
        except Exception:
            log.exception("error opening session %s", socket.sid)
            socket.close()  # nobody would listen to it
            return
        if socket.closed:  # closed by the handler itself, before it was attached
            handler.on_close(socket.session.reason)
        else:
            socket.handler = handler

    # -- answers ----------------------------------------------------------------------------

    def answer(self, responder: Responder, status: int, headers: Headers, body: bytes) -> None:
        """Answer a polling request with CORS headers and, when worth it, compression."""
        request_headers = responder.request.headers
        headers = list(headers)
        origin = request_headers.get("origin")
        if origin is not None:
            headers.extend(cors_headers(self.options.cors, origin))
        opts = self.options
        if opts.http_compression and len(body) >= opts.compression_threshold:
            body, encoding = compress(body, request_headers.get("accept-encoding", ""))
            if encoding is not None:
                headers.append(("Content-Encoding", encoding))
        responder.send(status, headers, body)

    def answer_error(self, responder: Responder, error: RequestError) -> None:
        """Answer with the status and JSON body of ``error``."""
        self.answer(responder, error.status, JSON, error.body())

    def reject(self, upgrade: Upgrade, error: RequestError) -> None:
        """Refuse a WebSocket upgrade with the status and JSON body of ``error``."""
        self._reject(upgrade, error)

    def _reject(self, upgrade: Upgrade, error: RequestError) -> None:
        upgrade.reject(error.status, list(JSON), error.body())

    def observe(self, observer: Any) -> None:
        """Tell ``observer`` too of refusals and upgrades."""
        current = self.observer
        self.observer = observer if current is None else _Observers(current, observer)

    def _refused(self, request: Request, reason: str, detail: str) -> None:
        """A request refused: an INFO line saying why, and the observer told."""
        if log.isEnabledFor(logging.INFO):
            client = request.client
            log.info(
                "refused %s %s from %s: %s",
                request.method,
                request.path,
                client[0] if client else "?",
                detail,
            )
        observer = self.observer
        if observer is not None:
            observer.refused(reason)

    def _origin_refusal(self, origin: str) -> str:
        allowed = self.options.cors.origins
        return (
            f"origin {origin} is not allowed (cors_origins={allowed!r}: add it there to allow "
            "it; only same-origin pages are allowed without it)"
        )

    def _origin_allowed(self, request: Request, origin: str) -> bool:
        return self.options.cors.allows(origin) or same_origin(
            origin, request.scheme, request.headers.get("host", "")
        )

    def _preflight(self, request: Request, responder: Responder, origin: str | None) -> None:
        asked = request.headers.get("access-control-request-headers")
        responder.send(204, preflight_headers(self.options.cors, origin, asked))

    # -- bookkeeping ------------------------------------------------------------------------

    def forget(self, socket: EngineSocket) -> None:
        """Drop a closed session."""
        if self.sessions.get(socket.sid) is socket:
            del self.sessions[socket.sid]
        self._lingering.pop(socket.sid, None)
        if self.cluster is not None:
            self.cluster.forget(socket.sid)

    def closing(self, sid: str) -> EngineSocket | None:
        """The closed polling session ``sid`` if it still owes its client a GET."""
        return self._lingering.get(sid)

    def linger(self, socket: EngineSocket) -> None:
        """Keep a closed polling session until its client fetches the close packet."""
        self.sessions.pop(socket.sid, None)
        if socket.sid not in self._lingering:
            self._lingering[socket.sid] = socket
            self.loop.call_later(self.options.close_timeout, self._lingering.pop, socket.sid, None)

    def shutdown(self) -> None:
        """Close every session with ``server shutting down``."""
        for socket in list(self.sessions.values()):
            socket.close_now(Reason.SERVER_SHUTTING_DOWN)
        for queue in (self._ping_queue, self._pong_queue, self._eio3_queue):
            if queue is not None:
                queue.clear()
        for queue in self._deadline_queues.values():
            queue.clear()


class _Observers:
    """Two observers of one engine (see :meth:`EngineServer.observe`)."""

    def __init__(self, first: Any, second: Any) -> None:
        self.first = first
        self.second = second

    def refused(self, reason: str) -> None:
        self.first.refused(reason)
        self.second.refused(reason)

    def upgraded(self, socket: EngineSocket) -> None:
        self.first.upgraded(socket)
        self.second.upgraded(socket)
