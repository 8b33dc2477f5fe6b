"""One Engine.IO session over asyncio (:class:`EngineSocket`): it drives the sans-I/O
:class:`tether.eio.session.Session` with the loop's clock and timers, and carries its
packets over a transport from :mod:`tether.aio.transports`.

The path of one message from a WebSocket: ``WebSocket.data_received`` → the sans-I/O
``ws.Connection`` gives a ``str`` → :meth:`EngineSocket.on_text` → ``Session.receive_text``
→ ``handler.on_message(data)``. Nothing is scheduled on the way: no task, no queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import ClassVar, Protocol, cast

from tether.aio.heartbeat import HeartbeatQueue, HeartbeatSlot
from tether.aio.transports import (
    TRANSPORTS,
    TRANSPORTS_V3,
    RequestTransport,
    Transport,
    TransportKind,
    WebSocketTransport,
)
from tether.aio.websocket import DETACHED
from tether.eio.encoded import Encoded
from tether.eio.errors import ParseError
from tether.eio.options import EngineOptions
from tether.eio.packet import NOOP, PING_PROBE, PONG_PROBE, UPGRADE
from tether.eio.session import Beat, Control, ProbeStep, Reason, Session, State
from tether.eio.v3 import SessionV3
from tether.http.exchange import Responder, Upgrade, WebSocketChannel
from tether.http.messages import Headers, Request
from tether.ws.deflate import DeflateOptions

log = logging.getLogger("tether.engine")


class SessionHandler(Protocol):
    """What the layer above the engine (Socket.IO's per-session client) gives each session:
    it receives the session's messages and its close."""

    def on_message(self, data: str | bytes) -> None:
        """A message: text, or a binary message as ``bytes``."""

    def on_close(self, reason: str) -> None:
        """The session closed (Node's reasons: ``transport close``, ``ping timeout``, ...)."""


class SessionHost(Protocol):
    """What a session needs of its engine server."""

    options: EngineOptions
    deflate: DeflateOptions | None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the server runs on."""

    @property
    def ping_queue(self) -> HeartbeatQueue:
        """The sessions' next pings."""

    @property
    def pong_queue(self) -> HeartbeatQueue:
        """The sessions' pong deadlines."""

    @property
    def eio3_queue(self) -> HeartbeatQueue:
        """The v3 sessions' deadlines (``ping_interval + ping_timeout`` after a ping)."""

    def answer(self, responder: Responder, status: int, headers: Headers, body: bytes) -> None:
        """Answer a request with CORS headers and compression."""

    def forget(self, socket: EngineSocket) -> None:
        """Drop a closed session."""

    def linger(self, socket: EngineSocket) -> None:
        """Keep a closed polling session until its client fetched what it is owed."""


class _Detached:
    """The handler of a session nobody listens to (any more): what comes is dropped."""

    def on_message(self, data: str | bytes) -> None:
        pass

    def on_close(self, reason: str) -> None:
        pass


#: Shared by every session without a handler.
DETACHED_SESSION = _Detached()


class EngineSocket:
    """One Engine.IO session (Node's engine.io ``Socket``).

    Args:
        host: its server.
        sid: the session id.
        request: the handshake request.
        kind: its transport's class (from :data:`tether.aio.transports.TRANSPORTS`).
        websocket: the WebSocket it was opened over, for a transport that handles upgrades.
    """

    #: The Engine.IO protocol revision (the ``EIO`` query parameter).
    protocol: ClassVar[int] = 4
    #: The transports of this revision, by name (what an upgrade switches to).
    transports: ClassVar[Mapping[str, TransportKind]] = TRANSPORTS

    __slots__ = (
        "_beat",
        "_probe",
        "_probe_timer",
        "handler",
        "host",
        "request",
        "session",
        "sid",
        "transport",
    )

    def __init__(
        self,
        host: SessionHost,
        sid: str,
        request: Request,
        kind: TransportKind,
        websocket: WebSocketChannel | None = None,
    ) -> None:
        self.host = host
        self.sid = sid
        self.request = request
        self.session = self._new_session(websocket is not None, host.loop.time())
        #: Receives this session's messages and close (set by the engine's handler).
        self.handler: SessionHandler = DETACHED_SESSION
        if websocket is not None:
            websocket.handler = self
        self.transport: Transport = kind(self, websocket)
        self._probe: _Probe | None = None
        self._probe_timer: asyncio.TimerHandle | None = None
        self._beat = HeartbeatSlot(self)
        self._first_beat_queue().push(self._beat, self.session.deadline)

    def _new_session(self, websocket: bool, now: float) -> Session:
        opts = self.host.options
        return Session(
            self.sid,
            websocket=websocket,
            ping_interval=opts.ping_interval,
            ping_timeout=opts.ping_timeout,
            max_buffer=opts.max_write_buffer,
            now=now,
        )

    def _first_beat_queue(self) -> HeartbeatQueue:
        return self.host.ping_queue

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self.host.loop

    @property
    def closed(self) -> bool:
        """True once the session closed."""
        return self.session.closed

    @property
    def writable(self) -> bool:
        """Whether a message sent now goes out at once (for volatile messages): over
        WebSocket, unless the peer reads slowly; over polling, while a GET is pending."""
        return self.transport.writable

    def answer(self, responder: Responder, status: int, headers: Headers, body: bytes) -> None:
        self.host.answer(responder, status, headers, body)

    # -- sending ----------------------------------------------------------------------------

    def send(self, data: str | bytes) -> None:
        """Send a message: text as a text packet, bytes as a binary one. Never blocks."""
        if not self.session.closed:
            transport = self.transport
            packet = "4" + data if type(data) is str else data
            if type(transport) is WebSocketTransport:
                transport.send(packet)  # narrowed: compiled, a direct call
            else:
                transport.send(packet)

    def send_all(self, messages: list[str | bytes]) -> None:
        """Send several messages (a packet and its attachments): over WebSocket, written out
        together in one syscall."""
        if not self.session.closed:
            self.transport.send_many(["4" + m if type(m) is str else m for m in messages])

    def send_encoded(self, parts: list[Encoded], volatile: bool = False) -> None:
        """Send the messages of a packet encoded once for many sessions (see
        :class:`Encoded`); ``volatile``: not at all unless they go out at once."""
        if self.session.closed:
            return
        transport = self.transport
        if volatile and not transport.writable:
            return
        if type(transport) is WebSocketTransport:
            # The same calls, on the narrowed type: compiled, a direct call (a Python method
            # call through the Transport protocol otherwise), once per recipient of a broadcast.
            for part in parts:
                transport.send_encoded(part)
            return
        for part in parts:
            transport.send_encoded(part)

    # -- receiving --------------------------------------------------------------------------

    def on_text(self, text: str) -> None:
        """A text packet from the client (a WebSocket frame or part of a POST)."""
        try:
            data = self.session.receive_text(text)
        except ParseError as exc:
            log.debug("session %s: malformed packet %r: %s", self.sid, text[:10], exc)
            self.close_now(Reason.PARSE_ERROR)
            return
        if data is None:
            return
        if data is Control.PONG:
            session = self.session
            if session.pong(self.host.loop.time()):
                self.host.ping_queue.push(self._beat, session.deadline)
        elif data is Control.CLOSE:
            self.close_now(Reason.TRANSPORT_CLOSE)
        else:
            try:
                self.handler.on_message(data)
            except Exception:
                log.exception("error in message handler of session %s", self.sid)

    def on_binary(self, data: bytes) -> None:
        """A binary message from the client."""
        try:
            self.handler.on_message(data)
        except Exception:
            log.exception("error in message handler of session %s", self.sid)

    def on_websocket_close(self, code: int, error: bool) -> None:
        """Its WebSocket is gone (the WebSocketHandler side of the session)."""
        self.close_now(Reason.TRANSPORT_ERROR if error else Reason.TRANSPORT_CLOSE)

    def _requests(self) -> RequestTransport | None:
        """The transport, when it is carried by HTTP requests."""
        transport = self.transport
        return None if transport.handles_upgrades else cast(RequestTransport, transport)

    def on_poll(self, responder: Responder) -> None:
        """A polling GET for this session."""
        transport = self._requests()
        if transport is not None:
            transport.on_get(responder)

    def on_post(self, body: bytes) -> None:
        """A polling POST's body for this session (the request is already answered)."""
        transport = self._requests()
        if transport is not None:
            transport.on_post(body)

    # -- heartbeat --------------------------------------------------------------------------

    def on_beat(self, deadline: float, now: float) -> None:
        """A heartbeat entry of this session is reached (called by a ``HeartbeatQueue``)."""
        session = self.session
        if deadline != session.deadline or session.closed:
            return  # a pong or a ping moved the deadline since this entry was queued
        if session.heartbeat(now) is Beat.TIMED_OUT:
            self.close_now(Reason.PING_TIMEOUT)
            return
        self.transport.send_ping()
        if not session.closed:
            self.host.pong_queue.push(self._beat, session.deadline)

    # -- upgrade ----------------------------------------------------------------------------

    def start_upgrade(self, upgrade: Upgrade, kind: TransportKind) -> None:
        """A WebSocket for ``kind`` arrived for this polling session: probe it (or refuse it,
        when the session is already upgrading, upgraded or closed)."""
        accepted = self.session.probe_opened()
        probe = _Probe(self, kind)
        websocket = upgrade.open_websocket(
            probe if accepted else DETACHED,
            max_message_size=self.host.options.max_http_buffer_size,
            deflate=self.host.deflate,
        )
        if not accepted:
            if websocket is not None:
                websocket.close(1000)
            return
        if websocket is None:
            self.session.probe_failed()
            return
        probe.websocket = websocket
        self._probe = probe
        self._probe_timer = self.host.loop.call_later(
            self.host.options.upgrade_timeout, self._cancel_upgrade
        )

    def _probe_text(self, probe: _Probe, websocket: WebSocketChannel, text: str) -> None:
        step = self.session.probe_text(text)
        if step is ProbeStep.ANSWER:
            websocket.send_text(PONG_PROBE)
            polling = self._requests()
            if polling is not None and not self.session.buffer:
                polling.release(NOOP)
        elif step is ProbeStep.SWITCH:
            self._switch(probe.kind, websocket)
        else:
            log.debug("session %s: unexpected packet %r during upgrade", self.sid, text[:10])
            self._drop_probe()

    def _switch(self, kind: TransportKind, websocket: WebSocketChannel) -> None:
        if self._probe_timer is not None:
            self._probe_timer.cancel()
            self._probe_timer = None
        self._probe = None
        polling = self._requests()
        websocket.handler = self
        self.transport = kind(self, websocket)
        if polling is not None:
            polling.release(NOOP)
        buffered = self.session.take()
        if buffered:
            self.transport.send_many(buffered)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("session %s: upgraded to %s", self.sid, kind.name)
        observer = getattr(self.host, "observer", None)
        if observer is not None:
            observer.upgraded(self)

    def release_poll(self, packet: str) -> None:
        """Answer a pending GET that has nothing to carry with ``packet`` (a noop)."""
        polling = self._requests()
        if polling is not None:
            polling.release(packet)

    def relay_to(self, transport: Transport) -> None:
        """The client upgraded on another server and the session stays here: go on over
        ``transport``, which relays to it (see :mod:`tether.aio.cluster`)."""
        session = self.session
        session.probe_text(PING_PROBE)
        session.probe_text(UPGRADE)
        polling = self._requests()
        self.transport = transport
        if polling is not None:
            polling.release(NOOP)
        buffered = session.take()
        if buffered:
            transport.send_many(buffered)
        observer = getattr(self.host, "observer", None)
        if observer is not None:
            observer.upgraded(self)

    def _cancel_upgrade(self) -> None:
        self.session.probe_failed()
        self._drop_probe()

    def _drop_probe(self) -> None:
        probe, self._probe = self._probe, None
        if self._probe_timer is not None:
            self._probe_timer.cancel()
            self._probe_timer = None
        if probe is not None and probe.websocket is not None:
            probe.websocket.handler = DETACHED
            probe.websocket.close(1000)

    def _probe_lost(self) -> None:
        self._probe = None
        self._cancel_upgrade()

    # -- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the session from the server side (reason ``forced close``)."""
        self.close_now(Reason.FORCED_CLOSE)

    def close_now(self, reason: str) -> None:
        """Close the session with ``reason``; the close packet or frame is sent if possible."""
        session = self.session
        probing = session.state is State.PROBING or session.state is State.PROBED
        if not session.close(reason):
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("session %s closed: %s", self.sid, reason)
        self._beat.socket = None
        if probing:
            self._drop_probe()
        self.transport.close()
        self._settle()
        handler, self.handler = self.handler, DETACHED_SESSION
        try:
            handler.on_close(reason)
        except Exception:
            log.exception("error in close handler of session %s", self.sid)

    def deliver_close(self, responder: Responder) -> None:
        """A GET for a closed polling session that still owes packets or its close packet."""
        transport = self._requests()
        if transport is not None:
            transport.deliver_close(responder)
        self._settle()

    def _settle(self) -> None:
        if self.session.state is State.CLOSING:
            self.host.linger(self)
        else:
            self.host.forget(self)


class EngineSocketV3(EngineSocket):
    """An Engine.IO v3 session (a Socket.IO v2 client; the server's ``allow_eio3``): its
    transports frame packets as v3 does, and the client pings (see :mod:`tether.eio.v3`)."""

    protocol: ClassVar[int] = 3
    transports: ClassVar[Mapping[str, TransportKind]] = TRANSPORTS_V3

    __slots__ = ()

    def _new_session(self, websocket: bool, now: float) -> Session:
        opts = self.host.options
        return SessionV3(
            self.sid,
            websocket=websocket,
            ping_interval=opts.ping_interval,
            ping_timeout=opts.ping_timeout,
            max_buffer=opts.max_write_buffer,
            now=now,
            supports_binary=not self.request.query.get("b64"),
        )

    def _first_beat_queue(self) -> HeartbeatQueue:
        return self.host.eio3_queue

    def on_text(self, text: str) -> None:
        if text[:1] != "2":
            EngineSocket.on_text(self, text)
            return
        session = cast(SessionV3, self.session)
        if session.closed:
            return
        pong = session.ping(text, self.host.loop.time())
        self.host.eio3_queue.push(self._beat, session.deadline)
        self.transport.send(pong)


class _Probe:
    """A WebSocket upgrading a polling session to the transport ``kind``, and its handler; it
    acts only while it is the session's current probe."""

    __slots__ = ("kind", "socket", "websocket")

    def __init__(self, socket: EngineSocket, kind: TransportKind) -> None:
        self.socket = socket
        self.kind = kind
        self.websocket: WebSocketChannel | None = None

    def on_text(self, text: str) -> None:
        websocket = self.websocket
        if websocket is not None and self.socket._probe is self:
            self.socket._probe_text(self, websocket, text)

    def on_binary(self, data: bytes) -> None:
        if self.socket._probe is self:
            self.socket._cancel_upgrade()

    def on_websocket_close(self, code: int, error: bool) -> None:
        if self.socket._probe is self:
            self.socket._probe_lost()
