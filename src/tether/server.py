"""The Socket.IO server: namespaces on an Engine.IO server, served natively or under ASGI."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, overload

from tether.adapters.base import Adapter
from tether.adapters.memory import MemoryAdapter, SessionAwareAdapter
from tether.aio.cluster import ClusterEngine
from tether.aio.engine import EngineServer, EngineSocket
from tether.aio.listener import (
    Host,
    Listener,
    PathLike,
    Port,
    Router,
    make_ssl_context,
    run,
    serve,
)
from tether.broadcast import BroadcastOperator, RemoteSocket
from tether.client_session import ClientSession
from tether.eio.cluster import ClusterBus
from tether.eio.options import AllowRequest, CorsOptions, EngineOptions
from tether.handlers import F, spawn
from tether.http.messages import HttpLimits
from tether.namespace import Namespace
from tether.recovery import RecoveryOptions
from tether.sio.parsers import Parser, resolve
from tether.socket import Socket
from tether.typed.declaration import Declaration

NamespaceMatcher = re.Pattern[str] | Callable[[str, dict[str, Any]], bool]


class Server:
    """A Socket.IO v4 server.

    ::

        io = tether.Server(cors_origins=["https://example.com"])

        @io.on("connection")
        def connected(socket): socket.join("lobby")

        @io.on("echo")
        def echo(socket, *args): return args       # the acknowledgement

        io.run(host="127.0.0.1", port=3000)

    Settings are Node's, in snake case (seconds for durations). ``cors_origins``: ``"*"``
    or a list of allowed origins; by default no cross-origin access. ``adapter``: a factory
    ``adapter(namespace)`` (in-memory by default; a Redis adapter for a cluster).
    ``serve_client``: serve the browser bundle at ``<path>socket.io.js`` (see
    :mod:`tether.aio.static`). ``cleanup_empty_child_namespaces``: forget a child of a dynamic
    namespace (and close its adapter) when its last socket leaves.

    Limits of one connection (one Engine.IO session), which Node doesn't have:
    ``max_namespaces_per_connection`` (100): a CONNECT to one namespace more is answered with
    CONNECT_ERROR ``"Too many namespaces on this connection (limit N)"`` (the client's
    ``connect_error``); the connection and its other namespaces go on, and a namespace left
    frees its slot. ``attachment_timeout`` (60 s): a binary packet whose attachments have not
    all arrived this long after its header closes the connection with ``"parse error"`` and
    drops them. What a packet holds meanwhile is bounded by ``max_attachments`` (10) times
    ``max_http_buffer_size`` (each attachment is one Engine.IO message): 10 MB by default.

    Args:
        path: where the server answers (and serves the client bundle).
        cors_origins: origins allowed cross-origin access, or ``"*"`` for any; by default
            only same-origin pages (and clients that send no ``Origin``).
        cors_credentials: let cross-origin pages send cookies
            (``Access-Control-Allow-Credentials``).
        ping_interval: seconds between the server's pings to each client.
        ping_timeout: seconds a pong may be late before the connection closes with
            ``ping timeout``.
        upgrade_timeout: seconds an upgrade from polling to WebSocket may take.
        max_http_buffer_size: the largest message or POST body, in bytes.
        transports: the transports clients may use (``"polling"``, ``"websocket"``).
        allow_upgrades: whether polling connections may upgrade to WebSocket.
        allow_request: ``fn(request) -> None | str`` (sync or async): a string refuses the
            handshake with 403.
        cookie: name of a cookie set to the session id on the handshake, or ``None``.
        http_compression: gzip/deflate long-polling answers above 1024 bytes.
        per_message_deflate: WebSocket permessage-deflate (RFC 7692).
        max_write_buffer: bytes queued for one slow reader before its connection is closed.
        connect_timeout: seconds a new connection has to join a namespace.
        max_attachments: binary attachments one packet may have.
        max_namespaces_per_connection: namespaces one connection may join.
        attachment_timeout: seconds the attachments of a binary packet may take to arrive.
        adapter: ``factory(namespace) -> Adapter``: where rooms live (in memory by default;
            a Redis adapter for a cluster).
        connection_state_recovery: ``True`` or a :class:`~tether.recovery.RecoveryOptions`
            to restore the sessions of clients that reconnect in time.
        http_limits: limits on each HTTP request (:class:`~tether.http.messages.HttpLimits`;
            ``max_body`` follows ``max_http_buffer_size``).
        serve_client: serve the socket.io-client browser bundle at ``<path>socket.io.js``.
        cleanup_empty_child_namespaces: forget a child of a dynamic namespace when its last
            socket leaves.
        parser: how Socket.IO packets are encoded: ``"json"`` (the default,
            ``socket.io-parser``'s wire), ``"msgpack"`` (``socket.io-msgpack-parser`` 3.x:
            each packet one binary MessagePack message; clients need that parser too), or
            an object with ``encode(packet)`` and ``decoder()``
            (:class:`tether.sio.parsers.Parser`, as Node's ``parser`` option). Every
            server of a cluster must use the same one.
        cluster_engine: serve the sessions of the other servers of a cluster behind a load
            balancer that is not sticky (``tether.adapters.redis.create_engine(url)``, whose
            arguments are its settings; see :mod:`tether.aio.cluster`). ``None``: a request
            for a session this server doesn't hold gets 400 "Session ID unknown".
        ack_errors: answer a requested ack with an error object when the payload is invalid
            (``{"error": "invalid_payload", "event": ..., "details": [...]}``, see
            :mod:`tether.typed.validation`) or the handler raises (``{"error":
            "handler_error", "event": ...}``); ``False``: the client gets no answer, as
            before.
        allow_eio3: also accept Socket.IO v2 clients (Engine.IO v3, ``EIO=3``), as Node's
            ``allowEIO3``: they are connected to ``/`` on open, may join other namespaces
            (with a query string in the namespace, which is their ``handshake.auth``), and a
            refusal reaches them as an ``error`` event with the message (or the
            ``ConnectionRefusedError`` data). Off by default: they get 400 "Unsupported
            protocol version". Not with ``cluster_engine``, nor JSONP polling; no connection
            state recovery for them.
    """

    def __init__(
        self,
        *,
        path: str = "/socket.io/",
        cors_origins: str | Sequence[str] = (),
        cors_credentials: bool = False,
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        upgrade_timeout: float = 10.0,
        max_http_buffer_size: int = 1_000_000,
        transports: Sequence[str] = ("polling", "websocket"),
        allow_upgrades: bool = True,
        allow_request: AllowRequest | None = None,
        cookie: str | None = None,
        http_compression: bool = True,
        per_message_deflate: bool = False,
        max_write_buffer: int = 8 * 1024 * 1024,
        connect_timeout: float = 45.0,
        max_attachments: int = 10,
        max_namespaces_per_connection: int = 100,
        attachment_timeout: float = 60.0,
        adapter: Callable[[Namespace], Adapter] | None = None,
        connection_state_recovery: bool | RecoveryOptions = False,
        http_limits: HttpLimits | None = None,
        serve_client: bool = True,
        cleanup_empty_child_namespaces: bool = False,
        cluster_engine: ClusterBus | None = None,
        ack_errors: bool = True,
        allow_eio3: bool = False,
        parser: str | Parser = "json",
    ) -> None:
        if max_namespaces_per_connection < 1:
            raise ValueError("max_namespaces_per_connection must be >= 1")
        if attachment_timeout <= 0:
            raise ValueError("attachment_timeout must be > 0")
        if allow_eio3 and cluster_engine is not None:
            raise ValueError("allow_eio3 cannot be combined with a cluster engine")
        self.cleanup_empty_child_namespaces = cleanup_empty_child_namespaces
        self.ack_errors = ack_errors
        #: The parser, resolved once (see :mod:`tether.sio.parsers`).
        self.codec = resolve(parser)
        self.engine = EngineServer(
            EngineOptions(
                path=path,
                ping_interval=ping_interval,
                ping_timeout=ping_timeout,
                upgrade_timeout=upgrade_timeout,
                max_http_buffer_size=max_http_buffer_size,
                transports=tuple(transports),
                allow_upgrades=allow_upgrades,
                cors=CorsOptions(origins=cors_origins, credentials=cors_credentials),
                allow_request=allow_request,
                cookie=cookie,
                http_compression=http_compression,
                per_message_deflate=per_message_deflate,
                max_write_buffer=max_write_buffer,
                allow_eio3=allow_eio3,
            ),
            self,
        )
        if cluster_engine is not None:
            self.engine.attach_cluster(ClusterEngine(cluster_engine))
        self.connect_timeout = connect_timeout
        self.max_attachments = max_attachments
        self.max_namespaces_per_connection = max_namespaces_per_connection
        self.attachment_timeout = attachment_timeout
        if connection_state_recovery is True:
            connection_state_recovery = RecoveryOptions()
        self.recovery: RecoveryOptions | None = connection_state_recovery or None
        self._adapter_factory = adapter
        self.http_limits = http_limits or HttpLimits(max_body=max(max_http_buffer_size, 1024))
        self.namespaces: dict[str, Namespace] = {}
        self._parents: list[tuple[NamespaceMatcher, Namespace]] = []
        self.router = Router(self.engine)
        if serve_client:
            self._mount_client_bundle(path)
        self.listener: Listener | None = None
        #: The admin UI's hooks (set by :func:`tether.admin.instrument`); ``None`` otherwise.
        self.monitor: Any = None
        #: The class of the Socket.IO side of each Engine.IO session (instrumenting may
        #: substitute a subclass that counts what goes through).
        self.session_class: type[ClientSession] = ClientSession
        #: Awaited by :meth:`start` after the adapters are ready (the admin UI's stats), and
        #: by :meth:`close_adapters` before they close.
        self.startup_hooks: list[Callable[[], Awaitable[None]]] = []
        self.shutdown_hooks: list[Callable[[], Awaitable[None]]] = []
        #: What :func:`tether.metrics.enable` counts into; ``None`` otherwise.
        self.metrics: Any = None
        self.sockets = self.of("/")

    # -- namespaces -------------------------------------------------------------------------

    def of(self, name: str | NamespaceMatcher) -> Namespace:
        """The namespace ``name``, created on first use.

        A compiled regex or a function ``(name, auth) -> bool`` declares dynamic namespaces:
        a client may join any name it matches; they share the handlers registered here.
        """
        if isinstance(name, str):
            if not name.startswith("/"):
                name = "/" + name
            namespace = self.namespaces.get(name)
            if namespace is None:
                namespace = self.namespaces[name] = Namespace(self, name)
            return namespace
        parent = Namespace(self, f"<dynamic {name!r}>")
        self._parents.append((name, parent))
        return parent

    def lookup(self, name: str, auth: dict[str, Any]) -> Namespace | None:
        """The namespace a CONNECT asks for: an existing one or a new child of a dynamic one."""
        namespace = self.namespaces.get(name)
        if namespace is not None:
            return namespace
        for matcher, parent in self._parents:
            if isinstance(matcher, re.Pattern):
                matched = matcher.fullmatch(name) is not None
            else:
                try:
                    matched = bool(matcher(name, auth))
                except Exception:
                    matched = False
            if matched:
                child = self.namespaces[name] = Namespace(self, name, parent)
                return child
        return None

    @property
    def serving_loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the server runs in (``None`` before it started): what the
        server-side API called from another thread is handed to."""
        return self.engine.serving_loop

    @property
    def uses_default_adapter(self) -> bool:
        """Whether no adapter factory was given (rooms live in this process only)."""
        return self._adapter_factory is None

    def replace_adapters(self, factory: Callable[[Namespace], Adapter]) -> None:
        """Use ``factory`` for every namespace, the existing ones included (before serving:
        their rooms are not carried over)."""
        self._adapter_factory = factory
        for namespace in self.namespaces.values():
            namespace.adapter = factory(namespace)
        for _, parent in self._parents:
            parent.adapter = factory(parent)

    def forget(self, namespace: Namespace) -> None:
        """Drop an empty child of a dynamic namespace (``cleanup_empty_child_namespaces``)."""
        if self.namespaces.get(namespace.name) is namespace:
            del self.namespaces[namespace.name]
            spawn(namespace.adapter.close(), f"closing the adapter of {namespace.name}")

    def make_adapter(self, namespace: Namespace) -> Adapter:
        """The adapter of a new namespace."""
        if self._adapter_factory is not None:
            return self._adapter_factory(namespace)
        if self.recovery is not None:
            return SessionAwareAdapter(namespace, self.recovery.max_disconnection_duration)
        return MemoryAdapter(namespace)

    def _mount_client_bundle(self, path: str) -> None:
        """Serve the socket.io-client bundle at ``<path>socket.io.js`` (Node's ``serveClient``),
        in front of the engine, which answers every other path under ``path``."""
        from tether.aio.static import ClientBundle

        self.router.apps.insert(0, ClientBundle(path))

    def open_session(self, socket: EngineSocket) -> ClientSession:
        """A new Engine.IO session (the engine's :class:`~tether.aio.engine.EngineIoHandler`
        side): it carries the Socket.IO sockets of one client."""
        if self.sockets.loop is None:
            self._adopt_loop()  # served without start() (an ASGI server without lifespan)
        session = self.session_class(self, socket)
        if session.eio3:
            session.connect_implicitly()
        return session

    def _adopt_loop(self) -> None:
        """The loop the server runs in is known from now on (called in it): the server-side
        API called from other threads is handed to it."""
        loop = self.engine.loop
        for nsp in [*self.namespaces.values(), *(parent for _, parent in self._parents)]:
            nsp.loop = loop

    # -- the main namespace -----------------------------------------------------------------

    @overload
    def on(self, event: str, handler: None = None) -> Callable[[F], F]: ...
    @overload
    def on(self, event: str, handler: F) -> F: ...

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """Register a handler on ``/`` (see :meth:`Namespace.on`)."""
        return self.sockets.on(event, handler)

    def use(self, middleware: F) -> F:
        """A connection middleware on ``/`` (see :meth:`Namespace.use`)."""
        return self.sockets.use(middleware)

    def emit(self, event: str, *args: Any) -> None:
        """Send ``event`` to every socket of ``/``."""
        self.sockets.emit(event, *args)

    def send(self, *args: Any) -> None:
        """Emit ``message`` to every socket of ``/``."""
        self.sockets.send(*args)

    def declare(
        self, event: str, *arg_types: Any, ack: Any = None, doc: str | None = None
    ) -> Declaration:
        """Declare an event ``/`` sends, with its argument types (see :meth:`Namespace.declare`)."""
        return self.sockets.declare(event, *arg_types, ack=ack, doc=doc)

    def to(self, rooms: str | Iterable[str]) -> BroadcastOperator[Socket]:
        """Target rooms of ``/``."""
        return self.sockets.to(rooms)

    in_ = to

    def except_(self, rooms: str | Iterable[str]) -> BroadcastOperator[Socket]:
        """Every socket of ``/`` but those in these rooms."""
        return self.sockets.except_(rooms)

    @property
    def volatile(self) -> BroadcastOperator[Socket]:
        """Volatile broadcast on ``/``."""
        return self.sockets.volatile

    @property
    def local(self) -> BroadcastOperator[Socket]:
        """This server only."""
        return self.sockets.local

    def compress(self, compress: bool) -> BroadcastOperator[Socket]:
        """Whether to compress."""
        return self.sockets.compress(compress)

    def timeout(self, seconds: float) -> BroadcastOperator[Socket]:
        """Timeout for ``emit_with_ack``."""
        return self.sockets.timeout(seconds)

    async def emit_with_ack(self, event: str, *args: Any) -> list[Any]:
        """Broadcast with acknowledgements on ``/`` (after ``.timeout(...)``)."""
        return await self.sockets.emit_with_ack(event, *args)

    async def fetch_sockets(self) -> list[Socket | RemoteSocket]:
        """Every socket of ``/``."""
        return await self.sockets.fetch_sockets()

    def sockets_join(self, rooms: str | Iterable[str]) -> None:
        """Every socket of ``/`` joins ``rooms``."""
        self.sockets.sockets_join(rooms)

    def sockets_leave(self, rooms: str | Iterable[str]) -> None:
        """Every socket of ``/`` leaves ``rooms``."""
        self.sockets.sockets_leave(rooms)

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect every socket of ``/``."""
        self.sockets.disconnect_sockets(close)

    @overload
    def on_server_side(self, event: str, handler: None = None) -> Callable[[F], F]: ...
    @overload
    def on_server_side(self, event: str, handler: F) -> F: ...

    def on_server_side(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """Handle a ``server_side_emit`` from another server (see :meth:`Namespace.on_server_side`)."""
        return self.sockets.on_server_side(event, handler)

    def server_side_emit(self, event: str, *args: Any) -> None:
        """Emit to the other servers of the cluster (see :meth:`Namespace.server_side_emit`)."""
        self.sockets.server_side_emit(event, *args)

    async def server_side_emit_with_ack(
        self, event: str, *args: Any, timeout: float = 5.0
    ) -> list[Any]:
        """The other servers' answers (see :meth:`Namespace.server_side_emit_with_ack`)."""
        return await self.sockets.server_side_emit_with_ack(event, *args, timeout=timeout)

    async def all_rooms(self) -> set[str]:
        """Every room of the main namespace with a member, on every server of the cluster."""
        return await self.sockets.all_rooms()

    async def server_count(self) -> int:
        """How many servers the cluster has, this one included."""
        return await self.sockets.server_count()

    # -- serving ----------------------------------------------------------------------------

    async def serve(
        self,
        host: Host = "127.0.0.1",
        port: Port = 3000,
        *,
        certfile: PathLike | None = None,
        keyfile: PathLike | None = None,
    ) -> Listener:
        """Start the native server in the running loop; returns its :class:`Listener`."""
        ssl = make_ssl_context(certfile, keyfile) if certfile else None
        await self.start()
        self.listener = await serve(self.router, host, port, ssl=ssl, limits=self.http_limits)
        return self.listener

    async def start(self) -> None:
        """Get the adapters ready (a cluster adapter subscribes to its channels).

        :meth:`serve`, :meth:`run` and the ASGI app's startup call it; call it yourself only
        when you drive the server some other way.
        """
        self._adopt_loop()
        await asyncio.gather(*(nsp.adapter.init() for nsp in list(self.namespaces.values())))
        if self.engine.cluster is not None:
            await self.engine.cluster.start()
        for hook in self.startup_hooks:
            await hook()

    def run(
        self,
        host: Host = "127.0.0.1",
        port: Port = 3000,
        *,
        certfile: PathLike | None = None,
        keyfile: PathLike | None = None,
        on_ready: Callable[[Listener], None] | None = None,
    ) -> None:
        """Run the native server (uvloop) until SIGTERM/SIGINT, then shut down gracefully."""
        ssl = make_ssl_context(certfile, keyfile) if certfile else None
        run(
            self.router,
            host,
            port,
            ssl=ssl,
            limits=self.http_limits,
            on_ready=on_ready,
            on_startup=self.start,
            on_shutdown=self.close_adapters,
        )

    async def close(self) -> None:
        """Close every session, stop listening, close the adapters."""
        if self.listener is not None:
            await self.listener.shutdown()
        else:
            self.engine.shutdown()
        await asyncio.sleep(0)
        await self.close_adapters()

    async def close_adapters(self) -> None:
        """Close the adapters of every namespace (and the factory's shared resources)."""
        for hook in self.shutdown_hooks:
            await hook()
        for nsp in list(self.namespaces.values()):
            await nsp.adapter.close()
        close = getattr(self._adapter_factory, "close", None)
        if close is not None:
            await close()
        if self.engine.cluster is not None:
            await self.engine.cluster.close()
