"""Any server of a cluster serves any session: the asyncio side of :mod:`tether.eio.cluster`.

A :class:`ClusterEngine` is attached to an :class:`~tether.aio.engine.EngineServer`; its
messages travel on a :class:`~tether.eio.cluster.ClusterBus` (Redis pub/sub:
:class:`tether.adapters.redis.engine.RedisEngine`). When a request names a session this server doesn't hold:

* a polling GET: the owner lends the session (a *read* lock); the GET waits here, and the
  owner sends what the client is owed (DRAIN), as if the GET were its own;
* a polling POST: a *write* lock; its packets go to the owner (PACKET);
* a WebSocket upgrade: the probe runs here; once the client upgraded, the session either
  moves here (the owner had not handed it to the Socket.IO layer yet: "take over", with the
  messages it buffered) or stays with the owner, its packets relayed both ways.

A new polling session is handed to the Socket.IO layer only ``delayed_connection_timeout``
after its handshake, so that a client upgrading at once on another server moves there.
The owner answers only for sessions it holds; with nobody answering within
``response_timeout`` (no such session, or the bus is away) the request gets 400 "Session ID
unknown", as a server without the cluster engine answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from tether.aio.engine_socket import EngineSocket, SessionHost
from tether.aio.websocket import DETACHED
from tether.eio.cluster import (
    ClusterBus,
    ClusterOptions,
    MessageType,
    decode_message,
    encode_message,
    from_packet,
    lockable,
    new_node_id,
    to_packet,
)
from tether.eio.errors import ErrorCode, ParseError, RequestError
from tether.eio.handshake import RequestKind
from tether.eio.packet import (
    CLOSE,
    NOOP,
    PING,
    PING_PROBE,
    PONG_PROBE,
    UPGRADE,
    encode_payload,
    split_payload,
)
from tether.eio.session import Reason, State
from tether.http.messages import TEXT_HTML, TEXT_PLAIN, Headers, Request

if TYPE_CHECKING:
    from tether.aio.transports import TransportKind
    from tether.eio.encoded import Encoded
    from tether.http.exchange import Responder, Upgrade, WebSocketChannel

log = logging.getLogger("tether.cluster")

__all__ = ["ClusterEngine", "ClusterOptions"]

_MAX_SID = 64
# The request of a GET the owner answers for another server: no CORS, no compression (the
# server that holds the real request applies those).
_BARE = Request("GET", b"/", {}, b"", None, "http", True)


class ClusterHost(SessionHost, Protocol):
    """What the cluster engine needs of its Engine.IO server
    (:class:`~tether.aio.engine.EngineServer`)."""

    sessions: dict[str, EngineSocket]

    def answer_error(self, responder: Responder, error: RequestError) -> None:
        """Answer with the status and JSON body of ``error``."""

    def reject(self, upgrade: Upgrade, error: RequestError) -> None:
        """Refuse a WebSocket upgrade with ``error``."""

    def open_handler(self, socket: EngineSocket) -> None:
        """Hand a new session to the layer above."""

    def closing(self, sid: str) -> EngineSocket | None:
        """The closed polling session ``sid`` if it still owes its client a GET."""


@dataclass
class _Waiting:
    timer: asyncio.TimerHandle
    on_success: Callable[[dict[str, Any]], None]
    on_error: Callable[[], None]


@dataclass
class _Delayed:
    """The handler of a polling session not handed to the Socket.IO layer yet: it keeps the
    messages for whoever gets the session (this server, or the one it moves to)."""

    messages: list[str | bytes] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None

    def on_message(self, data: str | bytes) -> None:
        self.messages.append(data)

    def on_close(self, reason: str) -> None:
        if self.timer is not None:
            self.timer.cancel()


class ClusterEngine:
    """The cluster side of an Engine.IO server (Node's ``ClusterEngine``), its messages on
    ``bus``."""

    def __init__(self, bus: ClusterBus) -> None:
        self.bus = bus
        self.options = bus.options
        #: This server's id on the bus.
        self.node_id = new_node_id()
        self._engine: ClusterHost | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, _Waiting] = {}
        # Sessions of others relayed by this server: a pending GET or a WebSocket.
        self._relays: dict[str, _PollRelay | _WebSocketRelay] = {}
        # Polling sessions of this server not handed to the layer above yet.
        self._delayed: dict[str, _Delayed] = {}
        self._noop_timers: dict[str, asyncio.TimerHandle] = {}

    # -- the bus ----------------------------------------------------------------------------

    def publish(self, message: dict[str, Any]) -> None:
        """Send ``message`` to its ``recipientId``, or to every server without one."""
        channel = self.options.channel(message.get("recipientId"))
        self.bus.publish(channel, encode_message(message))

    @property
    def available(self) -> bool:
        """False while the bus is known to be away (foreign sessions are refused at once)."""
        return self.bus.available

    async def start(self) -> None:
        """Join the bus (called by the server's start, before it serves)."""
        channels = [self.options.channel(), self.options.channel(self.node_id)]
        await self.bus.start(channels, self.receive)

    async def close(self) -> None:
        """Leave the bus."""
        await self.bus.close()

    def receive(self, data: bytes) -> None:
        """A message from the bus, still encoded."""
        message = decode_message(data)
        if message is None or message["senderId"] == self.node_id:
            return
        try:
            self.on_message(message)
        except (ParseError, KeyError, TypeError, ValueError) as exc:
            log.debug("bad cluster message %r: %s", message, exc)

    # -- wiring -----------------------------------------------------------------------------

    def attach(self, engine: ClusterHost) -> None:
        """Serve the foreign sessions of ``engine``."""
        self._engine = engine

    @property
    def engine(self) -> ClusterHost:
        if self._engine is None:
            raise RuntimeError("the cluster engine is not attached to a server")
        return self._engine

    def _send(self, kind: MessageType, data: dict[str, Any], **ids: Any) -> None:
        self.publish({"senderId": self.node_id, **ids, "type": int(kind), "data": data})

    def _ask(
        self,
        kind: MessageType,
        data: dict[str, Any],
        on_success: Callable[[dict[str, Any]], None],
        on_error: Callable[[], None],
        recipient: str | None = None,
    ) -> None:
        request_id = next(self._ids)
        timer = self.engine.loop.call_later(
            self.options.response_timeout, self._timed_out, request_id
        )
        self._waiting[request_id] = _Waiting(timer, on_success, on_error)
        ids: dict[str, Any] = {"requestId": request_id}
        if recipient is not None:
            ids["recipientId"] = recipient
        self._send(kind, data, **ids)

    def _timed_out(self, request_id: int) -> None:
        waiting = self._waiting.pop(request_id, None)
        if waiting is not None:
            waiting.on_error()

    # -- a request for a session this server doesn't hold -----------------------------------

    def foreign_request(
        self, kind: RequestKind, transport: str, sid: str, request: Request, responder: Responder
    ) -> None:
        """A polling GET or POST for a session held elsewhere (or nowhere)."""
        engine = self.engine
        if not self.available or len(sid) > _MAX_SID:
            engine.answer_error(responder, RequestError(ErrorCode.UNKNOWN_SID))
            return
        if kind is RequestKind.POST and len(request.body) > engine.options.max_http_buffer_size:
            engine.answer(responder, 413, TEXT_HTML, b"")
            return
        lock = "read" if kind is RequestKind.POLL else "write"

        def granted(answer: dict[str, Any]) -> None:
            owner = answer["senderId"]
            if lock == "write":
                self._relay_post(sid, owner, request, responder)
            elif not responder.connected:
                self._send(
                    MessageType.CLOSE, {"sid": sid, "reason": "transport error"}, recipientId=owner
                )
            else:
                relay = _PollRelay(self, sid, owner, responder)
                self._relays[sid] = relay
                responder.on_disconnect(relay.dropped)

        self._ask(
            MessageType.ACQUIRE_LOCK,
            {"sid": sid, "transportName": transport, "type": lock},
            granted,
            lambda: engine.answer_error(responder, RequestError(ErrorCode.UNKNOWN_SID)),
        )

    def _relay_post(self, sid: str, owner: str, request: Request, responder: Responder) -> None:
        engine = self.engine
        try:
            packets = split_payload(request.body.decode("utf-8"))
        except (ParseError, UnicodeDecodeError):
            engine.answer_error(responder, RequestError(ErrorCode.BAD_REQUEST))
            self._send(
                MessageType.CLOSE, {"sid": sid, "reason": "transport error"}, recipientId=owner
            )
            return
        engine.answer(responder, 200, TEXT_HTML, b"ok")
        for packet in packets:
            self._send(
                MessageType.PACKET, {"sid": sid, "packet": from_packet(packet)}, recipientId=owner
            )

    def foreign_upgrade(
        self, transport: str, sid: str, upgrade: Upgrade, kind: TransportKind
    ) -> None:
        """A WebSocket upgrade for a session held elsewhere (or nowhere)."""
        engine = self.engine
        if not self.available or len(sid) > _MAX_SID:
            engine.reject(upgrade, RequestError(ErrorCode.UNKNOWN_SID))
            return
        self._ask(
            MessageType.ACQUIRE_LOCK,
            {"sid": sid, "transportName": transport, "type": "read"},
            lambda answer: self._open_probe(sid, answer["senderId"], upgrade, kind),
            lambda: engine.reject(upgrade, RequestError(ErrorCode.UNKNOWN_SID)),
        )

    def _open_probe(self, sid: str, owner: str, upgrade: Upgrade, kind: TransportKind) -> None:
        engine = self.engine
        probe = _RemoteProbe(self, sid, owner, upgrade.request, kind)
        websocket = upgrade.open_websocket(
            probe,
            max_message_size=engine.options.max_http_buffer_size,
            deflate=engine.deflate,
        )
        if websocket is None:
            self._send(
                MessageType.UPGRADE,
                {"sid": sid, "success": False},
                recipientId=owner,
                requestId=next(self._ids),
            )
            return
        probe.start(websocket, engine.options.upgrade_timeout)

    def _probe_done(self, probe: _RemoteProbe, websocket: WebSocketChannel) -> None:
        """The client upgraded here: ask the owner whether the session moves."""
        relay = _WebSocketRelay(self, probe.sid, probe.owner, websocket)
        websocket.handler = relay
        old = self._relays.pop(probe.sid, None)
        if isinstance(old, _PollRelay):  # the client stops polling: free its GET
            old.timer.cancel()
            self.engine.answer(old.responder, 200, TEXT_PLAIN, NOOP.encode())
        self._relays[probe.sid] = relay

        def answered(answer: dict[str, Any]) -> None:
            data = answer["data"]
            if data.get("takeOver"):
                self._take_over(relay, probe, list(data.get("packets") or ()))
            else:
                relay.start()

        def failed() -> None:
            if self._relays.get(probe.sid) is relay:
                del self._relays[probe.sid]
            websocket.handler = DETACHED
            websocket.close(1000)

        self._ask(
            MessageType.UPGRADE,
            {"sid": probe.sid, "success": True},
            answered,
            failed,
            recipient=probe.owner,
        )

    def _take_over(self, relay: _WebSocketRelay, probe: _RemoteProbe, packets: list[Any]) -> None:
        engine = self.engine
        if self._relays.get(probe.sid) is relay:
            del self._relays[probe.sid]
        if relay.closed or probe.sid in engine.sessions:
            return
        socket = EngineSocket(engine, probe.sid, probe.request, probe.kind, relay.websocket)
        engine.sessions[socket.sid] = socket
        engine.open_handler(socket)
        for packet in [*map(to_packet, packets), *relay.early]:
            if socket.closed:
                break
            if type(packet) is str:
                socket.on_text(packet)
            else:
                socket.on_binary(packet)  # type: ignore[arg-type]

    # -- what the owner of a session does ---------------------------------------------------

    def delay(self, socket: EngineSocket) -> None:
        """Hand the new polling ``socket`` to the layer above only after
        ``delayed_connection_timeout`` (it may move to another server meanwhile)."""
        delayed = _Delayed()
        socket.handler = delayed
        self._delayed[socket.sid] = delayed
        delayed.timer = self.engine.loop.call_later(
            self.options.delayed_connection_timeout, self._connect, socket, delayed
        )

    def _connect(self, socket: EngineSocket, delayed: _Delayed) -> None:
        if self._delayed.get(socket.sid) is delayed:
            del self._delayed[socket.sid]
        if delayed.timer is not None:
            delayed.timer.cancel()
        if socket.closed or socket.handler is not delayed:
            return
        self.engine.open_handler(socket)
        for message in delayed.messages:
            if socket.closed:
                return
            try:
                socket.handler.on_message(message)
            except Exception:
                log.exception("error in message handler of session %s", socket.sid)

    def forget(self, sid: str) -> None:
        """A session of this server closed."""
        delayed = self._delayed.pop(sid, None)
        if delayed is not None and delayed.timer is not None:
            delayed.timer.cancel()
        timer = self._noop_timers.pop(sid, None)
        if timer is not None:
            timer.cancel()

    def on_message(self, message: dict[str, Any]) -> None:
        """A message for this server (decoded, not its own)."""
        kind = message["type"]
        data = message["data"]
        if kind is MessageType.ACQUIRE_LOCK:
            self._on_lock(message, data)
            return
        if kind is MessageType.ACQUIRE_LOCK_RESPONSE or kind is MessageType.UPGRADE_RESPONSE:
            waiting = self._waiting.pop(message.get("requestId"), None)  # type: ignore[arg-type]
            if waiting is None:
                return
            waiting.timer.cancel()
            if kind is MessageType.UPGRADE_RESPONSE or data.get("success"):
                waiting.on_success(message)
            else:
                waiting.on_error()
            return
        sid = data.get("sid")
        if not isinstance(sid, str):
            return
        if kind is MessageType.DRAIN:
            relay = self._relays.get(sid)
            if relay is not None:
                relay.drain([to_packet(p) for p in data.get("packets") or ()])
            return
        socket = self.engine.sessions.get(sid)
        if socket is None:
            return
        if kind is MessageType.PACKET:
            packet = to_packet(data.get("packet"))
            if type(packet) is str:
                socket.on_text(packet)
            else:
                socket.on_binary(packet)  # type: ignore[arg-type]
        elif kind is MessageType.UPGRADE:
            self._on_upgrade(socket, message)
        elif kind is MessageType.CLOSE:
            reason = data.get("reason")
            socket.close_now(reason if isinstance(reason, str) else Reason.TRANSPORT_CLOSE)

    def _on_lock(self, message: dict[str, Any], data: dict[str, Any]) -> None:
        engine = self.engine
        sid, transport, lock = data.get("sid"), data.get("transportName"), data.get("type")
        if not isinstance(sid, str) or not isinstance(transport, str):
            return
        sender = message["senderId"]
        socket = engine.sessions.get(sid)
        if socket is None:
            closing = engine.closing(sid)
            if closing is not None and transport == "polling" and lock == "read":
                # Closed by this server: the client is owed the close packet, wherever it asks.
                self._send(
                    MessageType.ACQUIRE_LOCK_RESPONSE,
                    {"success": True},
                    requestId=message.get("requestId"),
                    recipientId=sender,
                )
                closing.deliver_close(_RemoteResponder(self, sid, sender))
            return
        session = socket.session
        success = lockable(
            transport,
            str(lock),
            polling=session.polling,
            upgrading=session.state is not State.POLLING,
            poll_pending=socket.transport.writable,
        )
        self._send(
            MessageType.ACQUIRE_LOCK_RESPONSE,
            {"success": success},
            requestId=message.get("requestId"),
            recipientId=sender,
        )
        if not success:
            return
        if transport == "polling":
            if lock == "read":
                socket.on_poll(_RemoteResponder(self, sid, sender))
            return
        session.probe_opened()  # an upgrade is under way elsewhere: none here meanwhile
        self._noop_timers[sid] = engine.loop.call_later(
            self.options.noop_upgrade_interval, self._noop, socket
        )

    def _noop(self, socket: EngineSocket) -> None:
        """The client probes another server: free it from its pending GET."""
        self._noop_timers.pop(socket.sid, None)
        if not socket.closed and not socket.session.buffer:
            socket.release_poll(NOOP)

    def _on_upgrade(self, socket: EngineSocket, message: dict[str, Any]) -> None:
        sid = socket.sid
        timer = self._noop_timers.pop(sid, None)
        if timer is not None:
            timer.cancel()
        session = socket.session
        if session.state is not State.PROBING:
            return
        if not message["data"].get("success"):
            session.probe_failed()
            return
        sender = message["senderId"]
        ids = {"requestId": message.get("requestId"), "recipientId": sender}
        delayed = self._delayed.pop(sid, None)
        if delayed is not None:
            if delayed.timer is not None:
                delayed.timer.cancel()
            packets = [from_packet(m if type(m) is bytes else f"4{m!s}") for m in delayed.messages]
            delayed.messages = []
            socket.close_now(Reason.TRANSPORT_CLOSE)  # its pending GET gets a noop
            self._send(MessageType.UPGRADE_RESPONSE, {"takeOver": True, "packets": packets}, **ids)
            return
        socket.relay_to(_RemoteTransport(self, socket, sender))
        self._send(MessageType.UPGRADE_RESPONSE, {"takeOver": False, "packets": []}, **ids)

    @property
    def owner_silence(self) -> float:
        """Seconds after which a relay that heard nothing from the owner of its session takes
        it for gone: the owner pings at least every ``ping_interval`` and closes a session
        whose pong is ``ping_timeout`` late (every server of a cluster has the same)."""
        opts = self.engine.options
        return opts.ping_interval + opts.ping_timeout + self.options.response_timeout

    def drain(self, sid: str, node: str, packets: list[str | bytes]) -> None:
        self._send(
            MessageType.DRAIN,
            {"sid": sid, "packets": [from_packet(p) for p in packets]},
            recipientId=node,
        )


class _RemoteResponder:
    """The owner's side of a GET another server holds: its answer goes there (DRAIN)."""

    __slots__ = ("cluster", "done", "node", "request", "sid")

    def __init__(self, cluster: ClusterEngine, sid: str, node: str) -> None:
        self.cluster = cluster
        self.sid = sid
        self.node = node
        self.request = _BARE
        self.done = False

    @property
    def connected(self) -> bool:
        return not self.done

    def send(self, status: int, headers: Headers, body: bytes = b"") -> None:
        if self.done:
            return
        self.done = True
        packets: list[str | bytes] = [CLOSE]
        if status == 200:
            with contextlib.suppress(ParseError, UnicodeDecodeError):
                packets = split_payload(body.decode("utf-8"))
        self.cluster.drain(self.sid, self.node, packets)

    def on_disconnect(self, callback: Callable[[], None]) -> None:
        pass  # the other server says so with a CLOSE


class _PollRelay:
    """A GET waiting here for what the owner drains to it."""

    def __init__(self, cluster: ClusterEngine, sid: str, owner: str, responder: Responder) -> None:
        self.cluster = cluster
        self.sid = sid
        self.owner = owner
        self.responder = responder
        self.timer = cluster.engine.loop.call_later(cluster.owner_silence, self._owner_lost)

    def drain(self, packets: list[str | bytes]) -> None:
        self.timer.cancel()
        if self.cluster._relays.get(self.sid) is self:
            del self.cluster._relays[self.sid]
        self.cluster.engine.answer(
            self.responder, 200, TEXT_PLAIN, encode_payload(packets).encode()
        )

    def _owner_lost(self) -> None:
        """The owner died (or lost Redis): the client is told, and reconnects."""
        if self.cluster._relays.get(self.sid) is self:
            del self.cluster._relays[self.sid]
        self.cluster.engine.answer_error(self.responder, RequestError(ErrorCode.UNKNOWN_SID))

    def dropped(self) -> None:
        self.timer.cancel()
        if self.cluster._relays.get(self.sid) is not self:
            return
        del self.cluster._relays[self.sid]
        self.cluster._send(
            MessageType.CLOSE,
            {"sid": self.sid, "reason": "transport error"},
            recipientId=self.owner,
        )


class _RemoteProbe:
    """The WebSocket of a client upgrading here a session held elsewhere, until its ``5``."""

    def __init__(
        self, cluster: ClusterEngine, sid: str, owner: str, request: Request, kind: TransportKind
    ) -> None:
        self.cluster = cluster
        self.sid = sid
        self.owner = owner
        self.request = request
        self.kind = kind
        self.websocket: WebSocketChannel | None = None
        self.timer: asyncio.TimerHandle | None = None

    def start(self, websocket: WebSocketChannel, timeout: float) -> None:
        self.websocket = websocket
        self.timer = self.cluster.engine.loop.call_later(timeout, self.fail)

    def on_text(self, text: str) -> None:
        websocket = self.websocket
        if websocket is None:
            return
        if text == PING_PROBE:
            websocket.send_text(PONG_PROBE)
        elif text == UPGRADE:
            self._stop()
            self.cluster._probe_done(self, websocket)
        else:
            self.fail()

    def on_binary(self, data: bytes) -> None:
        self.fail()

    def on_websocket_close(self, code: int, error: bool) -> None:
        self.websocket = None
        self.fail()

    def _stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def fail(self) -> None:
        self._stop()
        websocket, self.websocket = self.websocket, None
        if websocket is not None:
            websocket.handler = DETACHED
            websocket.close(1000)
        # Node's owner reads it as "the upgrade failed": the session may try again.
        self.cluster._send(
            MessageType.UPGRADE,
            {"sid": self.sid, "success": False},
            recipientId=self.owner,
            requestId=next(self.cluster._ids),
        )


class _WebSocketRelay:
    """A client's WebSocket here, its session held by ``owner``: packets go both ways."""

    def __init__(
        self, cluster: ClusterEngine, sid: str, owner: str, websocket: WebSocketChannel
    ) -> None:
        self.cluster = cluster
        self.sid = sid
        self.owner = owner
        self.websocket = websocket
        self.closed = False
        #: What came before the owner said whether the session moves here.
        self.early: list[str | bytes] = []
        self.started = False
        self._heard = 0.0
        self._watch: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self.started = True
        early, self.early = self.early, []
        for packet in early:
            self._forward(packet)
        loop = self.cluster.engine.loop
        self._heard = loop.time()
        self._watch = loop.call_later(self.cluster.owner_silence, self._check_owner)

    def _check_owner(self) -> None:
        if self.closed:
            return
        loop = self.cluster.engine.loop
        silence = self.cluster.owner_silence
        if loop.time() - self._heard < silence:
            self._watch = loop.call_at(self._heard + silence, self._check_owner)
            return
        # The owner died (or lost Redis): drop the WebSocket, the client reconnects.
        self.closed = True
        cluster = self.cluster
        if cluster._relays.get(self.sid) is self:
            del cluster._relays[self.sid]
        self.websocket.handler = DETACHED
        self.websocket.abort()

    def drain(self, packets: list[str | bytes]) -> None:
        self._heard = self.cluster.engine.loop.time()
        if not self.closed:
            self.websocket.send_messages(packets)
            if CLOSE in packets:
                self.closed = True
                self.websocket.handler = DETACHED
                self.websocket.close(1000)

    def _forward(self, packet: str | bytes) -> None:
        self.cluster._send(
            MessageType.PACKET,
            {"sid": self.sid, "packet": from_packet(packet)},
            recipientId=self.owner,
        )

    def on_text(self, text: str) -> None:
        if self.started:
            self._forward(text)
        else:
            self.early.append(text)

    def on_binary(self, data: bytes) -> None:
        if self.started:
            self._forward(data)
        else:
            self.early.append(data)

    def on_websocket_close(self, code: int, error: bool) -> None:
        self.closed = True
        if self._watch is not None:
            self._watch.cancel()
        cluster = self.cluster
        if cluster._relays.get(self.sid) is self:
            del cluster._relays[self.sid]
        cluster._send(
            MessageType.CLOSE,
            {"sid": self.sid, "reason": "transport error" if error else "transport close"},
            recipientId=self.owner,
        )


class _RemoteTransport:
    """The owner's transport of a session whose WebSocket is on another server."""

    name: ClassVar[str] = "websocket"
    handles_upgrades: ClassVar[bool] = True
    upgrades_to: ClassVar[tuple[str, ...]] = ()

    def __init__(self, cluster: ClusterEngine, owner: EngineSocket, node: str) -> None:
        self.cluster = cluster
        self.owner = owner
        self.node = node

    @property
    def writable(self) -> bool:
        return True

    def send(self, packet: str | bytes) -> None:
        self.cluster.drain(self.owner.sid, self.node, [packet])

    def send_many(self, packets: list[str | bytes]) -> None:
        self.cluster.drain(self.owner.sid, self.node, packets)

    def send_encoded(self, encoded: Encoded) -> None:
        self.cluster.drain(self.owner.sid, self.node, [encoded.packet])

    def send_ping(self) -> None:
        self.cluster.drain(self.owner.sid, self.node, [PING])
        self.owner.session.ping_sent()

    def close(self) -> None:
        if self.owner.session.websocket_close_code is not None:
            self.cluster.drain(self.owner.sid, self.node, [CLOSE])
