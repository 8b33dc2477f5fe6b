"""One Engine.IO session carrying the sockets of several namespaces (Node's ``Client``).

Incoming: Engine.IO message → the parser's decoder (:mod:`tether.sio.parsers`) → packet →
the namespace's socket.
Outgoing: encoded Socket.IO parts → Engine.IO messages on the same session.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl

from tether._compiled import mypyc_attr
from tether.aio.engine import EngineServer, EngineSocket
from tether.aio.engine_socket import DETACHED_SESSION
from tether.aio.heartbeat import HeartbeatSlot
from tether.eio.encoded import Encoded
from tether.errors import ConnectionRefusedError
from tether.handshake import Handshake
from tether.namespace import Namespace
from tether.sio import DecodeError, Packet, PacketType
from tether.sio.decoder import Decoder
from tether.sio.parsers import Codec
from tether.socket import Socket, SocketClient

log = logging.getLogger("tether")

_NONE: frozenset[str] = frozenset()

_last_date: tuple[int, str] = (-1, "")


def _date_string(second: int) -> str:
    """``socket.handshake.time`` as Node writes it (``Date.toString()`` in UTC), made once
    per second."""
    global _last_date
    if _last_date[0] != second:
        date = datetime.fromtimestamp(second, UTC)
        text = date.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")
        _last_date = (second, text)
    return _last_date[1]


class SessionServer(Protocol):
    """What a client session needs of its server (a :class:`tether.Server`)."""

    engine: EngineServer
    #: The parser the server speaks (see :mod:`tether.sio.parsers`).
    codec: Codec
    connect_timeout: float
    max_attachments: int
    max_namespaces_per_connection: int
    attachment_timeout: float

    def lookup(self, name: str, auth: dict[str, Any]) -> Namespace | None:
        """The namespace a CONNECT names (made when a dynamic one matches), or ``None``."""


@mypyc_attr(allow_interpreted_subclasses=True)
class ClientSession(SocketClient):
    """The Socket.IO side of one Engine.IO session."""

    __slots__ = (
        "_attachment_timer",
        "_attachments_since",
        "_connect_slot",
        "connecting",
        "decoder",
        "eio3",
        "engine",
        "held",
        "server",
        "sockets",
    )

    def __init__(self, server: SessionServer, engine: EngineSocket) -> None:
        self.server = server
        self.engine = engine
        #: A Socket.IO v2 client (Engine.IO v3): the v4 protocol of Socket.IO (see
        #: :meth:`connect_implicitly`).
        self.eio3 = engine.protocol == 3
        self.decoder = server.codec.new_decoder(server.max_attachments)
        self.sockets: dict[str, Socket] = {}
        #: Namespaces whose CONNECT is being handled (middlewares running); replaced, never
        #: changed in place, so that every connection shares the empty one.
        self.connecting: frozenset[str] = _NONE
        #: Sockets whose connection handlers are running, by namespace (see Socket.hold).
        self.held: dict[str, Socket] | None = None
        # The connect timeout: an entry in a queue every session shares (no timer of its
        # own); detached once a namespace is joined or the session closes.
        self._connect_slot: HeartbeatSlot | None = HeartbeatSlot(self)
        engine_server = server.engine
        delay = server.connect_timeout
        engine_server.deadline_queue(delay).push(
            self._connect_slot, engine_server.loop.time() + delay
        )
        #: Armed while a binary packet may be waiting for its attachments; it is not moved
        #: for each binary packet but looks, when it fires, at when the pending one began.
        self._attachment_timer: asyncio.TimerHandle | None = None
        self._attachments_since = 0.0

    # -- incoming ---------------------------------------------------------------------------

    def on_message(self, data: str | bytes) -> None:
        """An Engine.IO message: a Socket.IO packet or one of its binary attachments."""
        decoder = self.decoder
        try:
            if type(decoder) is Decoder:
                # Narrowed (the JSON parser's): compiled, direct calls.
                json_decoder: Decoder = decoder
                if type(data) is str:
                    packet = json_decoder.feed_text(data)
                else:
                    packet = json_decoder.feed_binary(data)  # type: ignore[arg-type]
            elif type(data) is str:
                packet = decoder.feed_text(data)
            else:
                packet = decoder.feed_binary(data)  # type: ignore[arg-type]
        except DecodeError as exc:
            log.debug("session %s: invalid packet: %s", self.engine.sid, exc)
            self.close("parse error")
            return
        if packet is None:
            if type(data) is str:
                self._attachments_expected()
            return
        if packet.type is PacketType.CONNECT:
            self._connect(packet)
            return
        socket = self.sockets.get(packet.nsp)
        if socket is not None:
            socket.on_packet(packet)
        else:
            log.debug(
                "session %s: packet for unconnected namespace %s", self.engine.sid, packet.nsp
            )

    def connect_implicitly(self) -> None:
        """A Socket.IO v2 client is connected to ``/`` when its session opens, without a
        CONNECT (its handshake's query is its ``handshake.query``; its auth is empty)."""
        self._connect(Packet(PacketType.CONNECT, "/", None))

    def _connect(self, packet: Packet) -> None:
        name = packet.nsp
        auth = packet.data if isinstance(packet.data, dict) else {}
        if self.eio3:
            # Socket.IO v2 clients put their query in the namespace: "/chat?token=x".
            name, _, query = name.partition("?")
            auth = dict(parse_qsl(query, keep_blank_values=True))
        if name in self.sockets or name in self.connecting:
            log.debug("session %s: already connected to %s", self.engine.sid, name)
            return
        limit = self.server.max_namespaces_per_connection
        if len(self.sockets) + len(self.connecting) >= limit:
            log.debug("session %s: too many namespaces, refusing %s", self.engine.sid, name)
            self.refuse(
                name,
                ConnectionRefusedError(f"Too many namespaces on this connection (limit {limit})"),
            )
            return
        handshake = self._handshake(auth)
        namespace = self.server.lookup(name, auth)
        if namespace is None:
            self.refuse(name, ConnectionRefusedError("Invalid namespace"))
            return
        connecting = self.connecting
        self.connecting = connecting | {name} if connecting else frozenset((name,))
        namespace.add(self, handshake)

    def _attachments_expected(self) -> None:
        """A binary packet header came: its attachments must all come in time."""
        loop = self.server.engine.loop
        self._attachments_since = loop.time()
        if self._attachment_timer is None:
            self._attachment_timer = loop.call_at(
                self._attachments_since + self.server.attachment_timeout,
                self._attachments_timed_out,
            )

    def _attachments_timed_out(self) -> None:
        self._attachment_timer = None
        if not self.decoder.awaiting_attachments:
            return
        loop = self.server.engine.loop
        deadline = self._attachments_since + self.server.attachment_timeout
        if loop.time() < deadline:
            self._attachment_timer = loop.call_at(deadline, self._attachments_timed_out)
            return
        log.debug("session %s: binary attachments not received in time", self.engine.sid)
        self.close("parse error")

    def _stop_timers(self) -> None:
        self._stop_connect_timeout()
        if self._attachment_timer is not None:
            self._attachment_timer.cancel()
            self._attachment_timer = None
        self.decoder.reset()

    def _handshake(self, auth: dict[str, Any]) -> Handshake:
        request = self.engine.request
        client = request.client
        issued = time.time_ns() // 1_000_000
        headers = request.headers
        origin = headers.get("origin")
        # Positional, in the order of Handshake's fields: the keywords of a call from compiled
        # code to an interpreted __init__ cost several times the call itself.
        return Handshake(
            headers,  # headers
            request.query,  # query
            client[0] if client else "",  # address
            _date_string(issued // 1000),  # time
            issued,  # issued
            request.path + ("?" + request.query_string if request.query_string else ""),  # url
            request.scheme == "https",  # secure
            origin is not None,  # xdomain
            auth,  # auth
        )

    def on_close(self, reason: str) -> None:
        """The Engine.IO session closed: every socket disconnects with ``reason``."""
        self._stop_timers()
        self._abort_held()
        for socket in list(self.sockets.values()):
            socket.on_close(reason)
        self.sockets.clear()

    def _abort_held(self) -> None:
        held, self.held = self.held, None
        for socket in (held or {}).values():
            socket.abort()

    # -- used by namespaces and sockets -----------------------------------------------------

    def hold(self, socket: Socket) -> None:
        """A socket waits for its connection handlers (forgotten if the connection closes)."""
        if self.held is None:
            self.held = {}
        self.held[socket.nsp.name] = socket

    def release(self, socket: Socket) -> None:
        """A held socket connected or was forgotten."""
        if self.held and self.held.get(socket.nsp.name) is socket:
            del self.held[socket.nsp.name]

    def attach(self, socket: Socket) -> None:
        """A socket connected over this connection."""
        self._connected(socket.nsp.name)
        if self.held:
            self.release(socket)
        self.sockets[socket.nsp.name] = socket
        self._stop_connect_timeout()

    def _connected(self, nsp: str) -> None:
        """The CONNECT to ``nsp`` is answered."""
        connecting = self.connecting
        if connecting:
            if len(connecting) == 1:  # the usual case: no set made
                if nsp in connecting:
                    self.connecting = _NONE
            else:
                self.connecting = connecting - {nsp} or _NONE

    def remove(self, socket: Socket) -> None:
        """A socket disconnected from its namespace."""
        if self.sockets.get(socket.nsp.name) is socket:
            del self.sockets[socket.nsp.name]

    def refuse(self, nsp: str, error: Exception) -> None:
        """Answer a CONNECT with CONNECT_ERROR."""
        self._connected(nsp)
        if isinstance(error, ConnectionRefusedError):
            payload: Any = error.payload()
        else:
            payload = {"message": str(error) or type(error).__name__}
        if log.isEnabledFor(logging.INFO):
            client = self.engine.request.client
            log.info(
                "session %s (%s): connection to namespace %s refused: %s",
                self.engine.sid,
                client[0] if client else "?",
                nsp,
                payload.get("message"),
            )
        if self.eio3:
            # Socket.IO v2 clients get an ERROR packet with the data, or else the message.
            payload = payload.get("data") or payload.get("message")
        self.send_parts(self.server.codec.encode(Packet(PacketType.CONNECT_ERROR, nsp, payload)))

    def send_parts(self, parts: list[str | bytes]) -> None:
        """Send the Engine.IO messages of one packet."""
        if len(parts) == 1:
            self.engine.send(parts[0])
        else:
            self.engine.send_all(parts)

    def write_encoded(self, parts: list[Encoded], volatile: bool) -> None:
        """Send a packet encoded once for many connections."""
        self.engine.send_encoded(parts, volatile)

    def disconnect_all(self) -> None:
        """Disconnect every socket (each is told with a DISCONNECT packet), then close."""
        for name, socket in list(self.sockets.items()):
            self.send_parts(self.server.codec.encode(Packet(PacketType.DISCONNECT, name)))
            socket.on_close("server namespace disconnect")
        self.close("forced server close")

    def close(self, reason: str = "forced server close") -> None:
        """Disconnect every socket with ``reason`` and close the Engine.IO session."""
        self._stop_timers()
        self._abort_held()
        for socket in list(self.sockets.values()):
            socket.on_close(reason)
        self.sockets.clear()
        self.engine.handler = DETACHED_SESSION
        self.engine.close()

    @property
    def sid(self) -> str:
        """The Engine.IO session id."""
        return self.engine.sid

    def _stop_connect_timeout(self) -> None:
        slot = self._connect_slot
        if slot is not None:
            slot.socket = None
            self._connect_slot = None

    def on_beat(self, deadline: float, now: float) -> None:
        """The connect timeout is reached (called by the engine's deadline queue)."""
        self._stop_connect_timeout()
        if not self.sockets:
            log.debug("session %s: no namespace joined in time", self.engine.sid)
            self.engine.close()
