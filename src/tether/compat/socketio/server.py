"""python-socketio's ``AsyncServer`` on a :class:`tether.Server`.

Handlers take a ``sid`` (the socket's id in its namespace, as in python-socketio) where
tether's take a :class:`~tether.Socket`; every call goes to tether's namespaces, sockets,
broadcasts and adapters. The tether server underneath is :attr:`AsyncServer.tether_server`
(serve it natively with ``sio.tether_server.run(...)``, or under ASGI with :class:`ASGIApp`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import orjson

from tether.errors import AckTimeoutError, DisconnectedError
from tether.handlers import Handler, spawn
from tether.namespace import Namespace
from tether.server import Server
from tether.socket import Socket

from . import exceptions
from .calls import (
    RESERVED,
    NamespaceHandler,
    call,
    event_args,
    find_handler,
    positional_count,
)

if TYPE_CHECKING:
    from .redis_manager import AsyncRedisManager

log = logging.getLogger("tether.compat")

#: python-socketio's engine options tether has no use for (accepted, ignored).
_IGNORED = frozenset(
    {"compression_threshold", "monitor_clients", "max_decode_packets", "async_handlers"}
)
#: tether's reasons (Node's words) in python-socketio's words.
_REASONS = {
    "client namespace disconnect": "client disconnect",
    "server namespace disconnect": "server disconnect",
    "forced close": "server disconnect",
    "server shutting down": "server disconnect",
    "forced server close": "server disconnect",
}


class Reason:
    """Why a client disconnected: the ``reason`` of ``disconnect(sid, reason)``."""

    CLIENT_DISCONNECT = "client disconnect"
    SERVER_DISCONNECT = "server disconnect"
    PING_TIMEOUT = "ping timeout"
    TRANSPORT_CLOSE = "transport close"
    TRANSPORT_ERROR = "transport error"


class _Dispatch(dict[str, Handler]):
    """The event handlers of one tether namespace, looked up in the AsyncServer's tables
    at each event (so the ``'*'`` catch-alls work): tether's socket asks ``handlers.get``.

    ``name`` is ``None`` for the parent of every namespace (``namespaces='*'``): its
    children have names only known at each event.
    """

    def __init__(self, server: AsyncServer, name: str | None) -> None:
        super().__init__()
        self._server = server
        self._name = name
        self._made: dict[str, Handler] = {}

    def get(self, event: str, default: Any = None) -> Any:
        if event == "disconnecting":
            return default
        if self._name is not None and not self._server.handles(self._name, event):
            return default
        handler = self._made.get(event)
        if handler is None:
            if event == "disconnect":
                handler = Handler(self._server._on_disconnect)
            else:
                handler = Handler(partial(self._server._on_event, event))
            self._made[event] = handler
        return handler

    def __contains__(self, event: object) -> bool:
        return isinstance(event, str) and self.get(event) is not None


class AsyncServer:
    """python-socketio's ``AsyncServer``, on tether.

    Args:
        client_manager: ``AsyncRedisManager(url)`` for a cluster (python-socketio's Redis
            format); ``None`` keeps rooms in this process.
        logger: ``True`` logs at INFO, a :class:`logging.Logger` is used as is.
        serializer: ``"default"`` (JSON) or ``"msgpack"`` (tether's ``parser="msgpack"``,
            the wire of python-socketio's and of ``socket.io-msgpack-parser``).
        always_connect: answer CONNECT before the ``connect`` handler runs (a refusal then
            disconnects the client).
        namespaces: the namespaces clients may join besides those with handlers; ``"*"``
            for any.
        kwargs: the engine's options: ``cors_allowed_origins`` (``None``: same origin only;
            ``"*"``; a list), ``cors_credentials``, ``ping_interval`` (seconds, or
            ``(interval, grace)``), ``ping_timeout``, ``max_http_buffer_size``,
            ``transports``, ``allow_upgrades``, ``http_compression``, ``cookie``,
            ``engineio_logger``, ``async_mode`` (``"asgi"`` only); and tether's own
            :class:`tether.Server` options (``connection_state_recovery``...).
    """

    reason = Reason

    def __init__(
        self,
        client_manager: AsyncRedisManager | None = None,
        logger: bool | logging.Logger = False,
        serializer: str = "default",
        json: Any = None,
        async_handlers: bool = True,
        always_connect: bool = False,
        namespaces: str | Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if json is not None:
            raise ValueError(
                "tether encodes JSON with orjson: a custom json module is not supported"
            )
        async_mode = kwargs.pop("async_mode", None)
        if async_mode not in (None, "asgi"):
            raise ValueError(
                f"async_mode {async_mode!r} is not supported: tether runs on asyncio (ASGI or its own server)"
            )
        options: dict[str, Any] = {}
        origins = kwargs.pop("cors_allowed_origins", None)
        if origins is not None:
            options["cors_origins"] = (
                [origins] if isinstance(origins, str) and origins != "*" else origins
            )
        options["cors_credentials"] = kwargs.pop("cors_credentials", True)
        interval = kwargs.pop("ping_interval", None)
        if interval is not None:
            options["ping_interval"] = float(
                interval[0] if isinstance(interval, (tuple, list)) else interval
            )
        cookie = kwargs.pop("cookie", None)
        if cookie:
            options["cookie"] = cookie if isinstance(cookie, str) else cookie.get("name", "io")
        engine_logger = kwargs.pop("engineio_logger", False)
        if engine_logger is True:
            logging.getLogger("tether.engine").setLevel(logging.INFO)
        for name in (
            "ping_timeout",
            "max_http_buffer_size",
            "transports",
            "allow_upgrades",
            "http_compression",
        ):
            if name in kwargs:
                options[name] = kwargs.pop(name)
        if serializer == "msgpack":
            options["parser"] = "msgpack"
        elif serializer != "default":
            raise ValueError(f"unknown serializer {serializer!r}")
        for name in _IGNORED & kwargs.keys():
            kwargs.pop(name)
        options.update(kwargs)  # tether's own options; a wrong name raises TypeError
        if client_manager is not None:
            options["adapter"] = client_manager.adapter_factory()
        self.logger = logger if isinstance(logger, logging.Logger) else log
        if logger is True:
            log.setLevel(logging.INFO)
        self.manager = client_manager
        self.always_connect = always_connect
        self.async_handlers = async_handlers
        self.namespaces: str | list[str] = "*" if namespaces == "*" else list(namespaces or ["/"])
        # python-socketio leaves an ack unanswered when its handler raises.
        options.setdefault("ack_errors", False)
        #: The tether server doing the work.
        self.tether_server = Server(**options)
        self.handlers: dict[str, dict[str, Callable[..., Any]]] = {}
        self.namespace_handlers: dict[str, NamespaceHandler] = {}
        self._attached: set[str] = set()
        self._leaving: dict[tuple[str, str], Socket] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        if self.namespaces == "*":
            parent = self.tether_server.of(lambda name, auth: True)
            self._install(parent, None)
        else:
            for name in self.namespaces:
                self._attach(name)

    # -- registration -----------------------------------------------------------------------

    def _install(self, nsp: Namespace, name: str | None) -> None:
        nsp.handlers = _Dispatch(self, name)
        nsp.connection_handlers.append(Handler(self._on_connect))

    def _attach(self, name: str) -> None:
        if name == "*" or name in self._attached:
            return
        self._attached.add(name)
        self._install(self.tether_server.of(name), name)

    def on(
        self, event: str, handler: Callable[..., Any] | None = None, namespace: str | None = None
    ) -> Any:
        """Register ``handler`` for ``event`` in ``namespace`` (``"/"`` by default; ``"*"``
        for every namespace); ``event="*"`` catches the events without a handler of their
        own. Usable as ``@sio.on("event")``."""
        name = namespace or "/"

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            self.handlers.setdefault(name, {})[event] = func
            self._attach(name)
            return func

        return register if handler is None else register(handler)

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """``@sio.event``: register a function under its own name (``@sio.event(namespace=...)``
        for another namespace)."""
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.on(args[0].__name__, args[0])

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            return self.on(func.__name__, func, *args, **kwargs)  # type: ignore[no-any-return]

        return register

    def register_namespace(self, namespace_handler: Any) -> None:
        """Register a class-based namespace (an :class:`AsyncNamespace` instance)."""
        namespace_handler._set_server(self)
        self.namespace_handlers[namespace_handler.namespace] = namespace_handler
        self._attach(namespace_handler.namespace)

    def handles(self, namespace: str, event: str) -> bool:
        """Whether an event of ``namespace`` has a handler here."""
        for name in (namespace, "*"):
            table = self.handlers.get(name, {})
            if event in table or (event not in RESERVED and "*" in table):
                return True
        return namespace in self.namespace_handlers or "*" in self.namespace_handlers

    def _handler(
        self, event: str, namespace: str, args: tuple[Any, ...]
    ) -> tuple[Any, tuple[Any, ...]]:
        """The handler of ``event`` and its arguments (:func:`.calls.find_handler`)."""
        return find_handler(self.handlers, self.namespace_handlers, event, namespace, args)

    # -- what tether calls ------------------------------------------------------------------

    async def _on_connect(self, socket: Socket) -> None:
        namespace = socket.nsp.name
        if self.always_connect:
            socket.on_connect()
        handler, args = self._handler("connect", namespace, (socket.id, self._environ(socket)))
        if handler is None:
            return
        auth = socket.handshake.auth or None
        if isinstance(handler, partial) or positional_count(handler) > len(args):
            args = (*args, auth)
        try:
            result = await call(handler, *args)
        except exceptions.ConnectionRefusedError:
            raise
        except ConnectionRefusedError as exc:  # the builtin one
            raise exceptions.ConnectionRefusedError("Connection refused by server") from exc
        if result is False:
            raise exceptions.ConnectionRefusedError()

    async def _on_disconnect(self, socket: Socket, reason: str) -> None:
        namespace = socket.nsp.name
        handler, args = self._handler("disconnect", namespace, (socket.id,))
        if handler is None:
            return
        key = (namespace, socket.id)
        self._leaving[key] = socket  # get_session works in the disconnect handler
        try:
            if isinstance(handler, partial) or positional_count(handler) > len(args):
                args = (*args, _REASONS.get(reason, reason))
            await call(handler, *args)
        finally:
            self._leaving.pop(key, None)

    async def _on_event(self, event: str, socket: Socket, *data: Any) -> Any:
        handler, args = self._handler(event, socket.nsp.name, (socket.id, *data))
        if handler is None:
            return None
        return await call(handler, *args)

    # -- sockets ----------------------------------------------------------------------------

    def _socket(self, sid: str, namespace: str | None) -> Socket | None:
        name = namespace or "/"
        nsp = self.tether_server.namespaces.get(name)
        socket = nsp.sockets.get(sid) if nsp is not None else None
        return socket or self._leaving.get((name, sid))

    def _local(self, sid: str, namespace: str | None) -> Socket:
        socket = self._socket(sid, namespace)
        if socket is None:
            raise KeyError(f"no client {sid!r} in namespace {namespace or '/'} on this server")
        return socket

    def _environ(self, socket: Socket) -> dict[str, Any]:
        handshake = socket.handshake
        target = urlsplit(handshake.url)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": target.path,
            "QUERY_STRING": target.query or urlencode(handshake.query),
            "REMOTE_ADDR": handshake.address,
            "wsgi.url_scheme": "https" if handshake.secure else "http",
            "tether.handshake": handshake,
        }
        for name, value in handshake.headers.items():
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            environ[key] = value
        return environ

    def get_environ(self, sid: str, namespace: str | None = None) -> dict[str, Any] | None:
        """A WSGI-style environ of the client's handshake (headers as ``HTTP_*``)."""
        socket = self._socket(sid, namespace)
        return None if socket is None else self._environ(socket)

    def transport(self, sid: str, namespace: str | None = None) -> str:
        """``"polling"`` or ``"websocket"``."""
        return self._local(sid, namespace).transport

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        """The rooms of a client of this server (its own sid included)."""
        return sorted(self._local(sid, namespace).rooms)

    # -- sending ----------------------------------------------------------------------------

    async def emit(
        self,
        event: str,
        data: Any = None,
        to: str | Iterable[str] | None = None,
        room: str | Iterable[str] | None = None,
        skip_sid: str | Iterable[str] | None = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
        ignore_queue: bool = False,
    ) -> None:
        """Send ``event`` to one client (``to=sid``), rooms, or the whole namespace, on every
        server of the cluster; ``data``: a tuple for several arguments. ``callback`` (with
        ``to`` a client of this server) gets the client's acknowledgement."""
        target = to if to is not None else room
        args = event_args(data)
        name = namespace or "/"
        if callback is not None:
            if not isinstance(target, str):
                raise ValueError("Cannot use callback without a room set.")
            socket = self._socket(target, name)
            if socket is None:
                raise ValueError(
                    f"a callback needs the sid of a client of this server ({target!r})"
                )
            socket.emit(event, *args, callback=_sync_callback(callback))
            return
        nsp = self.tether_server.namespaces.get(name)
        if nsp is None:
            return
        operator = nsp.to(target) if target is not None else nsp.except_(())
        if skip_sid is not None:
            operator = operator.except_(skip_sid)
        if ignore_queue:
            operator = operator.local
        operator.emit(event, *args)

    async def send(
        self,
        data: Any,
        to: str | Iterable[str] | None = None,
        room: str | Iterable[str] | None = None,
        skip_sid: str | Iterable[str] | None = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
        ignore_queue: bool = False,
    ) -> None:
        """Emit ``message``."""
        await self.emit("message", data, to, room, skip_sid, namespace, callback, ignore_queue)

    async def call(
        self,
        event: str,
        data: Any = None,
        to: str | None = None,
        sid: str | None = None,
        namespace: str | None = None,
        timeout: float = 60,
        ignore_queue: bool = False,
    ) -> Any:
        """Emit to one client and return its acknowledgement (a tuple for several
        arguments); :class:`~.exceptions.TimeoutError` after ``timeout`` seconds."""
        target = to or sid
        if target is None:
            raise ValueError("call() needs the sid of a client")
        args = event_args(data)
        socket = self._socket(target, namespace)
        try:
            if socket is not None:
                return await socket.emit_with_ack(event, *args, timeout=timeout)
            nsp = self.tether_server.of(namespace or "/")
            answers = await nsp.to(target).timeout(timeout).emit_with_ack(event, *args)
        except (AckTimeoutError, DisconnectedError) as exc:
            raise exceptions.TimeoutError() from exc
        if not answers:
            raise exceptions.TimeoutError()
        return answers[0]

    # -- rooms ------------------------------------------------------------------------------

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """Put a client in ``room`` (on whichever server it is)."""
        socket = self._socket(sid, namespace)
        if socket is not None:
            socket.join(room)
        else:
            self.tether_server.of(namespace or "/").in_(sid).sockets_join(room)

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """Take a client out of ``room``."""
        socket = self._socket(sid, namespace)
        if socket is not None:
            socket.leave(room)
        else:
            self.tether_server.of(namespace or "/").in_(sid).sockets_leave(room)

    async def close_room(self, room: str, namespace: str | None = None) -> None:
        """Every client leaves ``room``."""
        self.tether_server.of(namespace or "/").in_(room).sockets_leave(room)

    # -- sessions ---------------------------------------------------------------------------

    async def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        """The user session of a client of this server (tether's ``socket.data``)."""
        data = self._local(sid, namespace).data
        return data if isinstance(data, dict) else {}

    async def save_session(
        self, sid: str, session: dict[str, Any], namespace: str | None = None
    ) -> None:
        """Replace the user session of a client."""
        self._local(sid, namespace).data = session

    @contextlib.asynccontextmanager
    async def session(
        self, sid: str, namespace: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """``async with sio.session(sid) as session:``: changes are saved at the end."""
        session = await self.get_session(sid, namespace)
        yield session
        await self.save_session(sid, session, namespace)

    # -- the rest ---------------------------------------------------------------------------

    async def disconnect(
        self, sid: str, namespace: str | None = None, ignore_queue: bool = False
    ) -> None:
        """Disconnect a client from a namespace (on whichever server it is)."""
        socket = self._socket(sid, namespace)
        if socket is not None:
            socket.disconnect()
        elif not ignore_queue:
            self.tether_server.of(namespace or "/").in_(sid).disconnect_sockets()

    async def shutdown(self) -> None:
        """Disconnect every client and stop serving."""
        await self.tether_server.close()

    def start_background_task(
        self, target: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> asyncio.Task[Any]:
        """Run ``target(*args, **kwargs)`` (a coroutine function) as a task."""
        task = spawn(
            target(*args, **kwargs), f"background task {getattr(target, '__name__', target)}"
        )
        return task

    async def sleep(self, seconds: float = 0) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(seconds)

    def attach(self, app: Any, socketio_path: str = "socket.io") -> None:
        """Not supported: wrap the server in :class:`ASGIApp` instead."""
        raise NotImplementedError("tether.compat.socketio serves through ASGIApp(sio, ...) only")

    def instrument(
        self,
        auth: Any = None,
        mode: str = "development",
        read_only: bool = False,
        server_id: str | None = None,
        namespace: str = "/admin",
        server_stats_interval: float = 2,
    ) -> Any:
        """Let the official Socket.IO admin UI watch this server (:func:`tether.admin.instrument`).

        ``auth``: a dict of the expected credentials (``{"username": ..., "password": ...}``,
        compared whole and in constant time, as python-socketio does), a list of such dicts,
        a function (sync or async) of the client's auth dict, or ``False`` for none.
        ``server_stats_interval`` is tether's own (ignored). Call it before serving.
        """
        from tether.admin import instrument

        if auth is None:
            raise ValueError("auth must be specified")
        return instrument(
            self.tether_server,
            auth if auth is False else self._admin_check(auth),
            mode="production" if mode == "production" else "development",
            read_only=read_only,
            namespace_name=namespace,
            server_id=server_id,
        )

    def _admin_check(self, auth: Any) -> Callable[[dict[str, Any]], bool]:
        """python-socketio's admin credentials as the check tether's admin runs (in a
        worker thread)."""
        if callable(auth):
            if not inspect.iscoroutinefunction(auth):
                return lambda client: bool(auth(client))

            def run_async(client: dict[str, Any]) -> bool:
                loop = self.tether_server.serving_loop
                assert loop is not None
                return bool(asyncio.run_coroutine_threadsafe(auth(client), loop).result(30))

            return run_async
        allowed = [auth] if isinstance(auth, dict) else list(auth)
        expected = [orjson.dumps(entry, option=orjson.OPT_SORT_KEYS) for entry in allowed]

        def check(client: dict[str, Any]) -> bool:
            given = {key: value for key, value in client.items() if key != "sessionId"}
            try:
                sent = orjson.dumps(given, option=orjson.OPT_SORT_KEYS)
            except TypeError:
                return False
            return any(hmac.compare_digest(sent, entry) for entry in expected)

        return check

    def set_path(self, socketio_path: str) -> None:
        """Serve at ``/<socketio_path>/`` (what :class:`ASGIApp` does with its argument)."""
        from tether.aio.static import ClientBundle

        path = "/" + socketio_path.strip("/") + "/"
        io = self.tether_server
        if io.engine.options.path == path:
            return
        io.engine.options = dataclasses.replace(io.engine.options, path=path)
        apps = io.router.apps
        if any(isinstance(app, ClientBundle) for app in apps):
            apps[:] = [app for app in apps if not isinstance(app, ClientBundle)]
            apps.insert(0, ClientBundle(path))


def _sync_callback(callback: Callable[..., Any]) -> Callable[..., Any]:
    """An ack callback for tether (which calls it in the loop): a coroutine runs as a task."""
    if not inspect.iscoroutinefunction(callback):
        return callback

    def run(*args: Any) -> None:
        spawn(callback(*args), "emit callback")

    return run
