"""A Socket.IO socket: one client connected to one namespace."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, Protocol, TypeVar, overload

from tether._compiled import mypyc_attr
from tether.adapters.target import BroadcastTarget
from tether.aio.engine_socket import EngineSocket
from tether.broadcast import BroadcastNamespace, BroadcastOperator
from tether.eio.encoded import Encoded
from tether.eio.session import new_sid
from tether.errors import AckTimeoutError, DisconnectedError
from tether.handlers import F, Handler, ack_value, check_loop, event_handler, off_loop, spawn
from tether.handshake import Handshake
from tether.sio import RESERVED_EVENTS, Packet, PacketType
from tether.sio.encoder import encode_ack
from tether.sio.parsers import Codec
from tether.typed.validation import InvalidPayload, handler_error, invalid_payload, typed_ack

log = logging.getLogger("tether")

T = TypeVar("T")

_EVENT = PacketType.EVENT
_BINARY_EVENT = PacketType.BINARY_EVENT
_ACK = PacketType.ACK
_BINARY_ACK = PacketType.BINARY_ACK
_DISCONNECT = PacketType.DISCONNECT

#: Shared by every socket until it registers its first such handler (then it gets a list of
#: its own: these lists are replaced, never changed in place). Few sockets ever have any.
_NO_HANDLERS: list[Handler] = []
#: The same for the ack callbacks and the per-socket listeners (a dict of its own once the
#: first is added): most sockets never have any, and each saves two dicts.
_NO_ACKS: dict[int, Callable[[list[Any]], None]] = {}
_NO_LISTENERS: dict[str, list[Handler]] = {}

RECOVERABLE_REASONS = frozenset(
    {
        "transport error",
        "transport close",
        "forced close",
        "ping timeout",
        "server shutting down",
        "forced server close",
    }
)


class SocketNamespace(BroadcastNamespace["Socket"], Protocol):
    """What a socket needs of its namespace (a :class:`tether.Namespace`)."""

    outgoing_listeners: int
    #: The parser the server speaks (see :mod:`tether.sio.parsers`).
    codec: Codec
    #: The admin UI's hooks (:mod:`tether.admin`), ``None`` unless instrumented.
    monitor: Any
    #: The counts of :mod:`tether.metrics`, ``None`` unless metrics are on.
    metrics: Any

    @property
    def handlers(self) -> Mapping[str, Handler]:
        """The event handlers; a ``Mapping``, not a ``dict``: tether.compat's has a ``get`` of
        its own, which compiled code calls only through the ``Mapping`` type."""

    @property
    def ack_errors(self) -> bool:
        """Whether a requested ack is answered with an error object when the payload is
        invalid or the handler raises (the server's ``ack_errors``)."""

    def to(self, rooms: str | Iterable[str]) -> BroadcastOperator[Socket]:
        """A broadcast to ``rooms`` of this namespace."""

    def remove(self, socket: Socket) -> None:
        """The socket disconnected."""


@mypyc_attr(allow_interpreted_subclasses=True)
class SocketClient:
    """What a socket needs of the client session that carries it: the base class of
    :class:`tether.client_session.ClientSession` (one Engine.IO session, every namespace).

    A base class rather than a protocol: compiled, a socket calls these methods directly
    (through the class's vtable), once per packet it sends and once per broadcast it gets.
    """

    __slots__ = ()

    engine: EngineSocket

    def attach(self, socket: Socket) -> None:
        """The socket connected."""
        raise NotImplementedError

    def remove(self, socket: Socket) -> None:
        """The socket disconnected."""
        raise NotImplementedError

    def hold(self, socket: Socket) -> None:
        """The socket's connection handlers are running."""
        raise NotImplementedError

    def release(self, socket: Socket) -> None:
        """The socket's connection handlers are done."""
        raise NotImplementedError

    def refuse(self, nsp: str, error: Exception) -> None:
        """Answer a CONNECT to ``nsp`` with CONNECT_ERROR."""
        raise NotImplementedError

    def send_parts(self, parts: list[str | bytes]) -> None:
        """Send the Engine.IO messages of one packet."""
        raise NotImplementedError

    def write_encoded(self, parts: list[Encoded], volatile: bool) -> None:
        """Send a packet encoded once for many clients."""
        raise NotImplementedError

    def disconnect_all(self) -> None:
        """Disconnect every socket of the client, then close its session."""
        raise NotImplementedError


class Socket(BroadcastTarget):
    """One client in one namespace. Handlers receive it as their first argument."""

    __slots__ = (
        "_acks",
        "_any_listeners",
        "_any_outgoing",
        "_listeners",
        "_middlewares",
        "_queue",
        "_waiting",
        "conn",
        "connected",
        "data",
        "handshake",
        "id",
        "nsp",
        "pid",
        "recovered",
    )

    def __init__(
        self,
        nsp: SocketNamespace,
        conn: SocketClient,
        handshake: Handshake,
        sid: str | None = None,
    ) -> None:
        self.nsp = nsp
        self.conn = conn
        self.handshake = handshake
        self.id = sid or new_sid()
        self.pid: str | None = None
        #: Free for the application (Node's ``socket.data``); kept by connection state recovery.
        self.data: Any = {}
        self.connected = False
        self.recovered = False
        self._acks = _NO_ACKS
        self._listeners = _NO_LISTENERS
        self._any_listeners = _NO_HANDLERS
        self._any_outgoing = _NO_HANDLERS
        self._middlewares = _NO_HANDLERS
        self._waiting: set[asyncio.Future[Any]] | None = None  # made by emit_with_ack
        #: While the connection handlers run (see :meth:`hold`): what waits for the CONNECT
        #: answer to go first.
        self._queue: list[Callable[[], None]] | None = None

    def __repr__(self) -> str:
        return f"<Socket {self.id} nsp={self.nsp.name} connected={self.connected}>"

    @property
    def rooms(self) -> set[str]:
        """The rooms this socket is in (its own id included)."""
        return self.nsp.adapter.socket_rooms(self.id)

    @property
    def transport(self) -> str:
        """``"polling"`` or ``"websocket"``."""
        return self.conn.engine.transport.name

    # -- listening --------------------------------------------------------------------------

    @overload
    def on(self, event: str, handler: None = None) -> Callable[[F], F]: ...
    @overload
    def on(self, event: str, handler: F) -> F: ...

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """Listen to ``event`` on this socket only: ``handler(*args)``; the return value is
        the acknowledgement. Usable as a decorator.

        Annotations are validated as those of :meth:`tether.Namespace.on` (see
        :mod:`tether.typed.validation`); a signature that cannot receive the event raises
        ``TypeError`` here.
        """

        def register(func: F) -> F:
            if self._listeners is _NO_LISTENERS:
                self._listeners = {}
            self._listeners.setdefault(event, []).append(
                event_handler(func, event, receives_socket=False)
            )
            return func

        return register if handler is None else register(handler)

    def off(self, event: str, handler: Callable[..., Any] | None = None) -> None:
        """Stop listening (to one handler, or to all of ``event``)."""
        if handler is None:
            self._listeners.pop(event, None)
        else:
            handlers = self._listeners.get(event, [])
            if self._listeners is _NO_LISTENERS:
                self._listeners = {}
            self._listeners[event] = [h for h in handlers if h.func != handler]

    def on_any(self, handler: F) -> F:
        """Call ``handler(event, *args)`` for every incoming event."""
        self._any_listeners = [*self._any_listeners, Handler(handler)]
        return handler

    def on_any_outgoing(self, handler: F) -> F:
        """Call ``handler(event, *args)`` for every event sent to this client."""
        if not self._any_outgoing:
            self.nsp.outgoing_listeners += 1
        self._any_outgoing = [*self._any_outgoing, Handler(handler)]
        return handler

    def use(self, middleware: F) -> F:
        """Run ``middleware(event, args)`` before each incoming event (sync or async); raising
        drops the event and emits ``error`` on this socket with the exception."""
        self._middlewares = [*self._middlewares, Handler(middleware)]
        return middleware

    # -- sending ----------------------------------------------------------------------------

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Send ``event`` with ``args`` to this client. Never blocks.

        With ``callback``, it is called with the client's acknowledgement arguments. Safe
        from any thread: called outside the server's loop, it is handed to the loop.
        """
        if event in RESERVED_EVENTS:
            raise ValueError(f'"{event}" is a reserved event name')
        loop = self.nsp.loop
        if off_loop(loop):
            loop.call_soon_threadsafe(partial(self.emit, event, *args, callback=callback))
            return
        if callback is None and self.pid is not None:
            # With connection state recovery, as in Node, an emit to one socket is a broadcast
            # to its own room: it gets an offset and is replayed if the socket comes back.
            self.nsp.to(self.id).emit(event, *args)
            return
        if not self.connected and self._queue is None:
            return
        ack_id = None
        if callback is not None:
            ack_id = self.nsp.next_ack_id()
            cb = callback
            acks = self._own_acks()
            if self.nsp.metrics is None:
                acks[ack_id] = lambda args: cb(*args)
            else:
                acks[ack_id] = self.nsp.metrics.timed_ack(lambda args: cb(*args))
        if self._any_outgoing:
            self._notify(self._any_outgoing, [event, *args])
        nsp = self.nsp
        parts = nsp.codec.encode_event(nsp.name, event, args, ack_id)
        queue = self._queue
        if queue is None:
            self.conn.send_parts(parts)
        else:
            queue.append(partial(self.conn.send_parts, parts))

    @overload
    async def emit_with_ack(
        self, event: str, *args: Any, timeout: float | None = None, result: None = None
    ) -> Any: ...
    @overload
    async def emit_with_ack(
        self, event: str, *args: Any, timeout: float | None = None, result: type[T]
    ) -> T: ...

    async def emit_with_ack(
        self, event: str, *args: Any, timeout: float | None = None, result: Any = None
    ) -> Any:
        """Send ``event`` and wait for the client's acknowledgement.

        Returns ``None`` when the client acknowledged with no argument, the argument when
        with one, a tuple when with several. Raises :class:`~tether.errors.AckTimeoutError`
        after ``timeout`` seconds, :class:`~tether.errors.DisconnectedError` if the socket
        disconnects first. Called by a connection handler, it connects the client first (only
        a connected client can answer).

        ``result``: a type (a pydantic model, a dataclass, a TypedDict, ``list[int]``...) the
        answer is validated and converted to, and the return type for the type checkers
        (needs the ``typed`` extra); :class:`~tether.errors.InvalidAckError` if it does not
        match.
        """
        answer = await self._emit_with_ack(event, args, timeout)
        return answer if result is None else typed_ack(event, answer, result)

    async def _emit_with_ack(self, event: str, args: tuple[Any, ...], timeout: float | None) -> Any:
        check_loop(self.nsp.loop, "emit_with_ack")
        if not self.connected:
            if self._queue is None:
                raise DisconnectedError("socket is not connected")
            self.on_connect()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def resolve(args: list[Any]) -> None:
            if not future.done():
                future.set_result(ack_value(args))

        ack_id = self.nsp.next_ack_id()
        metrics = self.nsp.metrics
        self._own_acks()[ack_id] = resolve if metrics is None else metrics.timed_ack(resolve)
        waiting = self._waiting
        if waiting is None:
            waiting = self._waiting = set()
        waiting.add(future)
        if self._any_outgoing:
            self._notify(self._any_outgoing, [event, *args])
        nsp = self.nsp
        self.conn.send_parts(nsp.codec.encode_event(nsp.name, event, args, ack_id))
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            if metrics is not None:
                metrics.ack_timeouts += 1
            raise AckTimeoutError() from None
        finally:
            self._acks.pop(ack_id, None)
            if self._waiting is not None:
                self._waiting.discard(future)

    def send(self, *args: Any) -> None:
        """Emit a ``message`` event."""
        self.emit("message", *args)

    def timeout(self, seconds: float) -> _TimedSocket:
        """``await socket.timeout(5).emit_with_ack(...)``, as in Node."""
        return _TimedSocket(self, seconds)

    def write_encoded(self, parts: list[Encoded], volatile: bool) -> None:
        """Write parts encoded once for a broadcast (used by the adapter)."""
        if self.connected:
            self.conn.write_encoded(parts, volatile)
        elif self._queue is not None and not volatile:
            self._queue.append(partial(self.conn.write_encoded, parts, False))

    def expect_ack(self, ack_id: int, callback: Callable[[list[Any]], None]) -> None:
        """Register the callback of a broadcast acknowledgement (used by the adapter)."""
        metrics = self.nsp.metrics
        self._own_acks()[ack_id] = callback if metrics is None else metrics.timed_ack(callback)

    def _own_acks(self) -> dict[int, Callable[[list[Any]], None]]:
        """The ack callbacks, a dict of this socket's own (to add to)."""
        acks = self._acks
        if acks is _NO_ACKS:
            acks = self._acks = {}
        return acks

    # -- rooms and broadcasting -------------------------------------------------------------

    def join(self, rooms: str | Iterable[str]) -> None:
        """Join one room or several (from any thread)."""
        loop = self.nsp.loop
        if off_loop(loop):
            loop.call_soon_threadsafe(self.join, rooms)
            return
        joined = (rooms,) if isinstance(rooms, str) else rooms
        monitor = self.nsp.monitor
        if monitor is None:
            self.nsp.adapter.add_all(self.id, joined)
            return
        joined = tuple(joined)
        self.nsp.adapter.add_all(self.id, joined)
        monitor.rooms_joined(self, joined)

    def leave(self, room: str) -> None:
        """Leave a room (from any thread)."""
        loop = self.nsp.loop
        if off_loop(loop):
            loop.call_soon_threadsafe(self.leave, room)
            return
        self.nsp.adapter.delete(self.id, room)
        if self.nsp.monitor is not None:
            self.nsp.monitor.room_left(self, room)

    def to(self, rooms: str | Iterable[str]) -> BroadcastOperator[Socket]:
        """Broadcast to these rooms, except this socket."""
        return self.broadcast.to(rooms)

    def in_(self, rooms: str | Iterable[str]) -> BroadcastOperator[Socket]:
        """The same as :meth:`to` (a method, not an alias: a class attribute set to a function
        breaks the compiled class)."""
        return self.to(rooms)

    def except_(self, rooms: str | Iterable[str]) -> BroadcastOperator[Socket]:
        """Broadcast to every socket but those in these rooms and this one."""
        return self.broadcast.except_(rooms)

    @property
    def broadcast(self) -> BroadcastOperator[Socket]:
        """Every socket of the namespace but this one."""
        return BroadcastOperator(self.nsp, except_rooms=frozenset((self.id,)))

    # -- disconnecting ----------------------------------------------------------------------

    def disconnect(self, close: bool = False) -> None:
        """Disconnect from this namespace (and close the whole connection when ``close``).

        Called by a connection handler, it connects the client first, then disconnects it
        (use :class:`~tether.errors.ConnectionRefusedError` to refuse it instead). From
        another thread, it is handed to the server's loop.
        """
        loop = self.nsp.loop
        if off_loop(loop):
            loop.call_soon_threadsafe(self.disconnect, close)
            return
        if not self.connected:
            if self._queue is None:
                return
            self.on_connect()
        if close:
            self.conn.disconnect_all()
            return
        self.conn.send_parts(self.nsp.codec.encode(Packet(_DISCONNECT, self.nsp.name)))
        self.on_close("server namespace disconnect")

    # -- incoming (called by the connection) ------------------------------------------------

    def on_packet(self, packet: Packet) -> None:
        """A packet for this socket."""
        kind = packet.type
        if kind is _EVENT or kind is _BINARY_EVENT:
            if self._middlewares:
                self._on_event(packet.data, packet.id)
            else:
                self._dispatch(packet.data, packet.id)
        elif kind is _ACK or kind is _BINARY_ACK:
            callback = self._acks.pop(packet.id, None) if packet.id is not None else None
            if callback is not None:
                try:
                    callback(packet.data)
                except Exception:
                    log.exception(
                        "error in ack callback (namespace %s, socket %s)", self.nsp.name, self.id
                    )
        elif kind is _DISCONNECT:
            self.on_close("client namespace disconnect")

    def _on_event(self, data: list[Any], ack_id: int | None) -> None:
        middlewares = self._middlewares
        if not middlewares:
            self._dispatch(data, ack_id)
        elif any(m.is_async for m in middlewares):
            spawn(self._run_middlewares(data, ack_id), f"middleware of socket {self.id}")
        else:
            for middleware in middlewares:
                try:
                    middleware.func(data[0], data[1:])
                except Exception as exc:
                    self._emit_local("error", [exc])
                    return
            self._dispatch(data, ack_id)

    async def _run_middlewares(self, data: list[Any], ack_id: int | None) -> None:
        for middleware in self._middlewares:
            try:
                result = middleware.func(data[0], data[1:])
                if middleware.is_async:
                    await result
            except Exception as exc:
                self._emit_local("error", [exc])
                return
        if self.connected:
            self._dispatch(data, ack_id)

    def _dispatch(self, data: list[Any], ack_id: int | None) -> None:
        event = data[0]
        args = data[1:]
        if self._any_listeners:
            self._notify(self._any_listeners, data)
        acked = ack_id is None
        handler = self.nsp.handlers.get(event)
        if handler is not None:
            if handler.is_async or handler.validator is not None:
                self._call(handler, [self, *args], event, ack_id)
            else:
                # _call inlined: the path of every event with a plain function handler.
                try:
                    result = handler.func(self, *args)
                except Exception:
                    log.exception("error in %s", self._where(event))
                    if ack_id is not None:
                        self._ack_error(ack_id, event)
                else:
                    if ack_id is not None:
                        self._send_ack(ack_id, result)
            acked = True
        listeners = self._listeners.get(event)
        if listeners:
            for listener in listeners:
                self._call(listener, args, event, None if acked else ack_id)
                acked = True
        if not acked:
            log.debug("no handler for event %r with ack on socket %s", event, self.id)

    def _call(self, handler: Handler, args: list[Any], event: str, ack_id: int | None) -> None:
        validator = handler.validator
        if validator is not None:
            try:
                args = validator.arguments(args)
            except InvalidPayload as exc:
                self._invalid(event, exc.details, ack_id)
                return
            except Exception:  # a validator of the application's types that failed
                log.exception("error in %s", self._where(event))
                if ack_id is not None:
                    self._ack_error(ack_id, event)
                return
        if handler.is_async:
            spawn(self._call_async(handler, args, event, ack_id), self._where(event))
            return
        try:
            result = handler.func(*args)
            if validator is not None and ack_id is not None:
                result = validator.result(result)
        except Exception:
            log.exception("error in %s", self._where(event))
            if ack_id is not None:
                self._ack_error(ack_id, event)
            return
        if ack_id is not None:
            self._send_ack(ack_id, result)

    async def _call_async(
        self, handler: Handler, args: list[Any], event: str, ack_id: int | None
    ) -> None:
        try:
            result = await handler.func(*args)
            if handler.validator is not None and ack_id is not None:
                result = handler.validator.result(result)
        except Exception:
            log.exception("error in %s", self._where(event))
            if ack_id is not None:
                self._ack_error(ack_id, event)
            return
        if ack_id is not None:
            self._send_ack(ack_id, result)

    def _ack_error(self, ack_id: int, event: str) -> None:
        """The handler raised: answer the ack with the handler-error object (``ack_errors``)."""
        if self.nsp.ack_errors:
            self._send_ack(ack_id, handler_error(event))

    def _invalid(self, event: str, details: list[dict[str, Any]], ack_id: int | None) -> None:
        """The payload does not match the handler's annotations: the handler is not called."""
        if log.isEnabledFor(logging.DEBUG):
            log.debug("invalid payload for %s: %s", self._where(event), details)
        if ack_id is not None and self.nsp.ack_errors:
            self._send_ack(ack_id, invalid_payload(event, details))

    def _send_ack(self, ack_id: int, result: Any) -> None:
        if self.connected:
            nsp = self.nsp
            args = () if result is None else result if type(result) is tuple else (result,)
            try:
                encode = nsp.codec.encode_ack
                if encode is encode_ack:  # the JSON parser's: compiled, a direct call
                    parts = encode_ack(nsp.name, ack_id, args)
                else:
                    parts = encode(nsp.name, ack_id, args)
            except Exception:
                log.exception(
                    "cannot send the ack %r (namespace %s, socket %s)",
                    result,
                    self.nsp.name,
                    self.id,
                )
                return
            if len(parts) == 1 and self.nsp.metrics is None:
                self.conn.engine.send(parts[0])
            else:  # through the session, where tether.metrics counts what is sent
                self.conn.send_parts(parts)

    def _where(self, event: str) -> str:
        return f"handler of {event!r} (namespace {self.nsp.name}, socket {self.id})"

    def notify_outgoing(self, data: list[Any]) -> None:
        """Run this socket's ``on_any_outgoing`` listeners for a broadcast that reaches it."""
        if self._any_outgoing:
            self._notify(self._any_outgoing, data)

    def forget_ack(self, ack_id: int) -> None:
        """Drop the callback of a broadcast ack that timed out."""
        if self._acks.pop(ack_id, None) is not None and self.nsp.metrics is not None:
            self.nsp.metrics.ack_timeouts += 1  # this client did not answer in time

    @property
    def holding(self) -> bool:
        """True while the namespace's connection handlers run (see :meth:`hold`)."""
        return self._queue is not None

    def _notify(self, listeners: list[Handler], data: list[Any]) -> None:
        for listener in listeners:
            self._call(listener, data, "<any>", None)

    def _emit_local(self, event: str, args: list[Any]) -> None:
        for listener in self._listeners.get(event, ()):
            self._call(listener, args, event, None)
        handler = self.nsp.handlers.get(event)
        if handler is not None:
            self._call(handler, [self, *args], event, None)

    def hold(self, missed: list[list[str | bytes]]) -> None:
        """Connecting: the namespace's connection handlers run before the client is answered,
        so that one can still refuse it. Until :meth:`accept` or :meth:`refuse`, ``connected``
        is false and what is sent to the client waits (after ``missed``, the packets a
        recovered session missed), to go right after the CONNECT answer."""
        send = self.conn.send_parts
        self._queue = [partial(send, parts) for parts in missed]
        self.join(self.id)
        self.conn.hold(self)

    def accept(self) -> None:
        """The connection handlers are done: connect, unless refused or gone meanwhile."""
        if self._queue is None:
            return
        if self.conn.engine.closed:
            self.abort()
        else:
            self.on_connect()

    def refuse(self, error: Exception) -> None:
        """A connection handler refused: the client gets CONNECT_ERROR and nothing that was
        sent to it; the socket leaves its rooms and the namespace. (Connected already, by
        ``emit_with_ack`` in the handler, it is disconnected.)"""
        if self._queue is None:
            self.disconnect()
            return
        self.abort()
        self.conn.refuse(self.nsp.name, error)

    def abort(self) -> None:
        """Forget a socket that never connected (refused, or its connection is gone)."""
        if self._queue is None:
            return
        self._queue = None
        self._acks = _NO_ACKS
        nsp = self.nsp
        if self._any_outgoing:
            nsp.outgoing_listeners -= 1
            self._any_outgoing = _NO_HANDLERS
        nsp.adapter.delete_all(self.id)
        nsp.remove(self)
        self.conn.release(self)

    def on_connect(self) -> None:
        """Connected: the CONNECT answer is sent, then what waited for it (see :meth:`hold`)."""
        queue, self._queue = self._queue, None
        self.connected = True
        conn = self.conn
        conn.attach(self)
        if queue is None:
            self.join(self.id)
        encode = self.nsp.codec.encode
        if conn.engine.protocol == 3:
            # Socket.IO v2: no data
            conn.send_parts(encode(Packet(PacketType.CONNECT, self.nsp.name)))
        else:
            data: dict[str, Any] = {"sid": self.id}
            if self.pid is not None:
                data["pid"] = self.pid
            conn.send_parts(encode(Packet(PacketType.CONNECT, self.nsp.name, data)))
        for send in queue or ():
            send()
        if log.isEnabledFor(logging.DEBUG):
            client = conn.engine.request.client
            log.debug(
                "socket %s connected to %s (session %s, %s, %s)",
                self.id,
                self.nsp.name,
                conn.engine.sid,
                self.transport,
                client[0] if client else "?",
            )
        if self.nsp.monitor is not None:
            self.nsp.monitor.socket_connected(self)

    def on_close(self, reason: str) -> None:
        """Disconnected, for ``reason`` (Node's words)."""
        if not self.connected:
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("socket %s disconnected from %s: %s", self.id, self.nsp.name, reason)
        self._emit_local("disconnecting", [reason])
        self.connected = False
        nsp = self.nsp
        if self.pid is not None and reason in RECOVERABLE_REASONS:
            from tether.adapters.base import PersistedSession

            nsp.adapter.persist_session(
                PersistedSession(self.id, self.pid, sorted(self.rooms), self.data)
            )
        self._acks = _NO_ACKS
        waiting, self._waiting = self._waiting, None
        for future in waiting or ():
            if not future.done():
                future.set_exception(DisconnectedError(f"socket disconnected: {reason}"))
        if self._any_outgoing:
            nsp.outgoing_listeners -= 1
        if nsp.monitor is not None:
            nsp.monitor.socket_disconnected(self, reason)
        nsp.adapter.delete_all(self.id)
        nsp.remove(self)
        self.conn.remove(self)
        self._emit_local("disconnect", [reason])


class _TimedSocket:
    __slots__ = ("_seconds", "_socket")

    def __init__(self, socket: Socket, seconds: float) -> None:
        self._socket = socket
        self._seconds = seconds

    async def emit_with_ack(self, event: str, *args: Any, result: Any = None) -> Any:
        return await self._socket.emit_with_ack(event, *args, timeout=self._seconds, result=result)
