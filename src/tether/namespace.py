"""Namespaces: the handlers, middlewares, sockets and adapter under one name (``/chat``)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any, Protocol, overload

from tether.adapters.base import Adapter, BroadcastOptions, RestoredSession
from tether.broadcast import BroadcastOperator, RemoteSocket
from tether.errors import ConnectionRefusedError
from tether.handlers import F, Handler, ack_args, event_handler, off_loop, spawn
from tether.handshake import Handshake
from tether.recovery import RecoveryOptions
from tether.sio.parsers import Codec
from tether.socket import Socket, SocketClient
from tether.typed.declaration import Declaration, declaration


class NamespaceServer(Protocol):
    """What a namespace needs of its server (a :class:`tether.Server`)."""

    recovery: RecoveryOptions | None
    cleanup_empty_child_namespaces: bool
    ack_errors: bool
    #: The parser the server speaks (see :mod:`tether.sio.parsers`).
    codec: Codec

    @property
    def serving_loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop the server runs in, once known."""

    def make_adapter(self, namespace: Namespace) -> Adapter:
        """The adapter of a new namespace."""

    def forget(self, namespace: Namespace) -> None:
        """Drop an empty child of a dynamic namespace."""


log = logging.getLogger("tether")


class Namespace:
    """One namespace. ``io.of("/chat")`` returns it; ``io.on``/``io.emit`` act on ``/``."""

    def __init__(self, server: NamespaceServer, name: str, parent: Namespace | None = None) -> None:
        self.server = server
        self.name = name
        self.parent = parent
        self.sockets: dict[str, Socket] = {}
        # A child of a dynamic namespace shares its parent's handlers and middlewares.
        self.handlers: dict[str, Handler] = parent.handlers if parent else {}
        self.middlewares: list[Handler] = parent.middlewares if parent else []
        self.connection_handlers: list[Handler] = parent.connection_handlers if parent else []
        self.server_side_handlers: dict[str, Handler] = (
            parent.server_side_handlers if parent else {}
        )
        #: The events this namespace sends, declared with their types (:meth:`declare`).
        self.declared: dict[str, Declaration] = parent.declared if parent else {}
        #: How many sockets have ``on_any_outgoing`` listeners (broadcasts skip the scan at 0).
        self.outgoing_listeners = 0
        #: The admin UI's hooks (:mod:`tether.admin`), ``None`` unless instrumented.
        self.monitor: Any = getattr(server, "monitor", None)
        #: What :mod:`tether.metrics` counts acks and broadcasts into; ``None`` unless on.
        self.metrics: Any = getattr(server, "metrics", None)
        #: How packets are encoded and decoded: the server's parser (the adapter uses it).
        self.codec: Codec = server.codec
        self.adapter: Adapter = server.make_adapter(self)
        #: The server's event loop once it started: calls from other threads are handed to it.
        self.loop: asyncio.AbstractEventLoop | None = server.serving_loop
        self._ack_ids = 0

    def __repr__(self) -> str:
        return f"<Namespace {self.name} sockets={len(self.sockets)}>"

    @property
    def ack_errors(self) -> bool:
        """The server's ``ack_errors``: answer a requested ack with an error object when the
        payload is invalid or the handler raises."""
        return self.server.ack_errors

    # -- registration -----------------------------------------------------------------------

    @overload
    def on(self, event: str, handler: None = None) -> Callable[[F], F]: ...
    @overload
    def on(self, event: str, handler: F) -> F: ...

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """Register the handler of ``event`` for every socket of this namespace.

        ``connection`` (or ``connect``) handlers get ``(socket)``; ``disconnect`` handlers
        ``(socket, reason)``; other events ``(socket, *args)``, and the return value is the
        acknowledgement (a tuple for several arguments). Plain functions and coroutines are
        both fine. Usable as a decorator.

        ``connection`` handlers run one after the other before the client is answered, as in
        python-socketio: one may raise :class:`~tether.errors.ConnectionRefusedError`, or
        return ``False`` (``"Connection refused"``), to refuse the client (it gets
        ``connect_error`` with the message and data, nothing the handler sent, and the socket
        leaves the rooms it joined). The client is connected
        once they have all returned: until then ``socket.connected`` is false and what is
        sent to the socket waits, to go right after the CONNECT answer. Keep them short
        (run long work as a task): the connection closes if they outlast the server's
        ``connect_timeout``. ``socket.emit_with_ack`` or ``socket.disconnect`` in one
        connects the client first; a refusal after that disconnects it.

        The signature is read once, here: one that cannot receive the event (no parameter
        for the socket, a ``connection`` handler that needs more than the socket) raises
        ``TypeError`` now. The annotations of event handlers are enforced with the extra
        ``tether[typed]`` (pydantic): the arguments are validated and converted (a payload
        that does not match is not handled; a requested ack gets
        ``{"error": "invalid_payload", "event": ..., "details": [...]}``), and the return
        value is serialized by its annotation. See :mod:`tether.typed.validation`.
        """

        def register(func: F) -> F:
            wrapped = event_handler(func, event, receives_socket=True)
            if event in ("connection", "connect"):
                self.connection_handlers.append(wrapped)
            else:
                self.handlers[event] = wrapped
            return func

        return register if handler is None else register(handler)

    @overload
    def on_server_side(self, event: str, handler: None = None) -> Callable[[F], F]: ...
    @overload
    def on_server_side(self, event: str, handler: F) -> F: ...

    def on_server_side(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """Handle ``event`` sent by another server of the cluster with ``server_side_emit``:
        ``handler(*args)``; its return value answers ``server_side_emit_with_ack``."""

        def register(func: F) -> F:
            self.server_side_handlers[event] = Handler(func)
            return func

        return register if handler is None else register(handler)

    def use(self, middleware: F) -> F:
        """Run ``middleware(socket)`` (sync or async) before a socket connects; raise
        :class:`~tether.errors.ConnectionRefusedError` to refuse it (the client gets
        ``connect_error`` with its message and data)."""
        self.middlewares.append(Handler(middleware))
        return middleware

    # -- broadcasting -----------------------------------------------------------------------

    def to(self, rooms: str | Iterable[str]) -> BroadcastOperator[Socket]:
        """Target the sockets in these rooms."""
        return BroadcastOperator(self).to(rooms)

    in_ = to

    def except_(self, rooms: str | Iterable[str]) -> BroadcastOperator[Socket]:
        """Target every socket but those in these rooms."""
        return BroadcastOperator(self).except_(rooms)

    @property
    def volatile(self) -> BroadcastOperator[Socket]:
        """Drop for clients not ready to receive."""
        return BroadcastOperator(self).volatile

    @property
    def local(self) -> BroadcastOperator[Socket]:
        """This server only."""
        return BroadcastOperator(self).local

    def compress(self, compress: bool) -> BroadcastOperator[Socket]:
        """Whether to compress."""
        return BroadcastOperator(self).compress(compress)

    def timeout(self, seconds: float) -> BroadcastOperator[Socket]:
        """Timeout of ``emit_with_ack``."""
        return BroadcastOperator(self).timeout(seconds)

    def emit(self, event: str, *args: Any) -> None:
        """Send ``event`` to every socket of the namespace."""
        BroadcastOperator(self).emit(event, *args)

    def send(self, *args: Any) -> None:
        """Emit a ``message`` event to every socket."""
        self.emit("message", *args)

    async def emit_with_ack(self, event: str, *args: Any) -> list[Any]:
        """Broadcast with acknowledgements (needs ``.timeout(...)`` first)."""
        return await BroadcastOperator(self).emit_with_ack(event, *args)

    async def fetch_sockets(self) -> list[Socket | RemoteSocket]:
        """Every socket of the namespace."""
        return await BroadcastOperator(self).fetch_sockets()

    def declare(
        self, event: str, *arg_types: Any, ack: Any = None, doc: str | None = None
    ) -> Declaration:
        """Declare that this namespace sends ``event`` with arguments of ``arg_types``, for
        the contract handed to clients (``tether typegen``, ``tether asyncapi``).

        ``ack``: the acknowledgement the server expects back when it emits with one:
        ``None`` (none), a type, or a tuple of types (one per argument; ``()`` for an
        acknowledgement without arguments). ``doc``: what the event means.

        Pure metadata: what is emitted is not checked against it and emitting is not slowed.
        Declaring an event again replaces its declaration.
        """
        declared = declaration(event, arg_types, ack, doc)
        self.declared[event] = declared
        return declared

    def sockets_join(self, rooms: str | Iterable[str]) -> None:
        """Make every socket join ``rooms``."""
        BroadcastOperator(self).sockets_join(rooms)

    def sockets_leave(self, rooms: str | Iterable[str]) -> None:
        """Make every socket leave ``rooms``."""
        BroadcastOperator(self).sockets_leave(rooms)

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect every socket."""
        BroadcastOperator(self).disconnect_sockets(close)

    def server_side_emit(self, event: str, *args: Any) -> None:
        """Send ``event`` to the :meth:`on_server_side` handlers of the other servers of the
        cluster (nobody without a cluster adapter)."""
        loop = self.loop
        if off_loop(loop):
            loop.call_soon_threadsafe(self.server_side_emit, event, *args)
            return
        self.adapter.server_side_emit([event, *args])

    async def server_side_emit_with_ack(
        self, event: str, *args: Any, timeout: float = 5.0
    ) -> list[Any]:
        """Like :meth:`server_side_emit`, and return every other server's answer. Raises
        :class:`~tether.errors.AckTimeoutError` (with the answers that came) after
        ``timeout`` seconds if some are missing."""
        return await self.adapter.server_side_emit_with_ack([event, *args], timeout)

    async def all_rooms(self) -> set[str]:
        """Every room with a member, on every server of the cluster."""
        return await self.adapter.all_rooms()

    async def server_count(self) -> int:
        """How many servers the cluster has, this one included."""
        return await self.adapter.server_count()

    # -- used by sockets and adapters -------------------------------------------------------

    @property
    def recovery_duration(self) -> float | None:
        """How long sessions are kept for recovery (seconds); ``None`` when it is off."""
        recovery = self.server.recovery
        return None if recovery is None else recovery.max_disconnection_duration

    def next_ack_id(self) -> int:
        """A fresh ack id."""
        self._ack_ids += 1
        return self._ack_ids

    def notify_outgoing(self, opts: BroadcastOptions, data: list[Any]) -> None:
        """Run the ``on_any_outgoing`` listeners of the sockets a broadcast reaches."""
        if not self.outgoing_listeners:
            return
        targets = self.adapter.sockets(opts.rooms) if opts.rooms else set(self.sockets)
        if opts.except_rooms:
            targets -= self.adapter.sockets(opts.except_rooms)
        for sid in targets:
            target = self.sockets.get(sid)
            if target is not None:
                target.notify_outgoing(data)

    def forget_ack(self, ack_id: int) -> None:
        """Drop the callbacks of a broadcast ack that timed out."""
        for socket in self.sockets.values():
            socket.forget_ack(ack_id)

    def dispatch_server_side(
        self, args: list[Any], ack: Callable[[list[Any]], None] | None
    ) -> None:
        """A ``server_side_emit`` from another server: run its handler, answer the ack."""
        if not args or not isinstance(args[0], str):
            return
        handler = self.server_side_handlers.get(args[0])
        if handler is None:
            return
        where = f"server-side handler of {args[0]!r} ({self.name})"
        if handler.is_async:

            async def run() -> None:
                result = await handler.func(*args[1:])
                if ack is not None:
                    ack(ack_args(result))

            spawn(run(), where)
            return
        try:
            result = handler.func(*args[1:])
        except Exception:
            log.exception("error in %s", where)
            return
        if ack is not None:
            ack(ack_args(result))

    def remove(self, socket: Socket) -> None:
        """Forget a disconnected socket."""
        if self.sockets.get(socket.id) is socket:
            del self.sockets[socket.id]
            server = self.server
            if (
                not self.sockets
                and self.parent is not None
                and server.cleanup_empty_child_namespaces
            ):
                server.forget(self)

    # -- connecting -------------------------------------------------------------------------

    def add(self, conn: SocketClient, handshake: Handshake) -> None:
        """A client asks to join: restore its session if it can, run the middlewares, connect."""
        if self.server.recovery is not None and conn.engine.protocol != 3:
            pid, offset = handshake.auth.get("pid"), handshake.auth.get("offset")
            if isinstance(pid, str) and isinstance(offset, str):
                spawn(self._restore(conn, handshake, pid, offset), f"recovery in {self.name}")
                return
        self._admit(conn, handshake, None)

    async def _restore(
        self, conn: SocketClient, handshake: Handshake, pid: str, offset: str
    ) -> None:
        try:
            restored = await self.adapter.restore_session(pid, offset)
        except Exception:
            log.exception("could not restore a session in %s", self.name)
            restored = None
        if not conn.engine.closed:
            self._admit(conn, handshake, restored)

    def _admit(
        self, conn: SocketClient, handshake: Handshake, restored: RestoredSession | None
    ) -> None:
        recovery = self.server.recovery
        if restored is not None:
            socket = Socket(self, conn, handshake, restored.sid)
            socket.pid = restored.pid
            socket.data = restored.data
            socket.recovered = True
            if recovery is not None and recovery.skip_middlewares:
                self._connect(socket, restored.rooms, restored.missed_packets)
                return
        elif conn.engine.protocol == 3:
            # A Socket.IO v2 client computes its socket's id from its session's (as Node).
            sid = conn.engine.sid
            socket = Socket(
                self, conn, handshake, sid if self.name == "/" else f"{self.name}#{sid}"
            )
        else:
            socket = Socket(self, conn, handshake)
            if recovery is not None:
                socket.pid = secrets.token_urlsafe(15)
        rooms = restored.rooms if restored else []
        missed = restored.missed_packets if restored else []
        middlewares = self.middlewares
        if not middlewares:  # the usual case: no generator for any() below
            self._connect(socket, rooms, missed)
            return
        if any(m.is_async for m in middlewares):
            spawn(self._run_middlewares(socket, rooms, missed), f"middleware of {self.name}")
            return
        for middleware in middlewares:
            try:
                middleware.func(socket)
            except Exception as exc:
                conn.refuse(self.name, exc)
                return
        self._connect(socket, rooms, missed)

    async def _run_middlewares(
        self, socket: Socket, rooms: list[str], missed: list[list[Any]]
    ) -> None:
        for middleware in self.middlewares:
            try:
                result = middleware.func(socket)
                if middleware.is_async:
                    await result
            except Exception as exc:
                socket.conn.refuse(self.name, exc)
                return
        if socket.conn.engine.closed:
            return
        self._connect(socket, rooms, missed)

    def _connect(self, socket: Socket, rooms: list[str], missed: list[list[Any]]) -> None:
        conn = socket.conn
        if conn.engine.closed:
            return
        self.sockets[socket.id] = socket
        handlers = self.connection_handlers
        if not handlers:
            socket.on_connect()
            if rooms:
                socket.join(rooms)
            for data in missed:
                conn.send_parts(self._event_parts(data))
            return
        socket.hold([self._event_parts(data) for data in missed])
        if rooms:
            socket.join(rooms)
        if any(handler.is_async for handler in handlers):
            spawn(self._run_connection_handlers(socket), f"connection handlers of {self.name}")
            return
        for handler in handlers:
            try:
                if handler.func(socket) is False:
                    raise ConnectionRefusedError()
            except ConnectionRefusedError as exc:
                socket.refuse(exc)
                return
            except Exception:
                log.exception("error in connection handler of %s (socket %s)", self.name, socket.id)
        socket.accept()

    def _event_parts(self, data: list[Any]) -> list[str | bytes]:
        return self.codec.encode_event(self.name, data[0], data[1:], None)

    async def _run_connection_handlers(self, socket: Socket) -> None:
        for handler in self.connection_handlers:
            if not socket.connected and not socket.holding:
                return  # the connection closed meanwhile
            try:
                result = handler.func(socket)
                if handler.is_async:
                    result = await result
                if result is False:
                    raise ConnectionRefusedError()
            except ConnectionRefusedError as exc:
                socket.refuse(exc)
                return
            except Exception:
                log.exception("error in connection handler of %s (socket %s)", self.name, socket.id)
        socket.accept()
