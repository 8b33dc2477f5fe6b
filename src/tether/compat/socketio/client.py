"""python-socketio's ``AsyncClient`` and ``AsyncSimpleClient`` on :class:`tether.Client`."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from tether.client import Client, ConnectError
from tether.errors import AckTimeoutError
from tether.errors import DisconnectedError as TetherDisconnected
from tether.handlers import spawn

from . import exceptions
from .calls import (
    RESERVED,
    NamespaceHandler,
    call,
    event_args,
    find_handler,
    positional_count,
)

log = logging.getLogger("tether.compat")

_REASONS = {
    "io server disconnect": "server disconnect",
    "io client disconnect": "client disconnect",
}


class ClientReason:
    """Why the client disconnected: the ``reason`` of ``disconnect(reason)``."""

    CLIENT_DISCONNECT = "client disconnect"
    SERVER_DISCONNECT = "server disconnect"
    TRANSPORT_ERROR = "transport error"


def _ack_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, tuple) else [value]


class AsyncClient:
    """python-socketio's ``AsyncClient``: handlers with ``@client.event`` /
    ``@client.on(event, namespace=)``, ``'*'`` catch-alls (without acks), class-based
    namespaces; ``connect``, ``emit`` (with ``callback``), ``call``, ``wait``,
    ``disconnect``. ``reconnection_attempts=0`` means no limit, as in python-socketio;
    ``ssl_verify=False`` accepts any certificate. The tether client underneath is
    :attr:`tether_client`.
    """

    reason = ClientReason

    def __init__(
        self,
        reconnection: bool = True,
        reconnection_attempts: int = 0,
        reconnection_delay: float = 1,
        reconnection_delay_max: float = 5,
        randomization_factor: float = 0.5,
        logger: bool | logging.Logger = False,
        serializer: str = "default",
        json: Any = None,
        handle_sigint: bool = True,
        **kwargs: Any,
    ) -> None:
        if serializer not in ("default", "msgpack") or json is not None:
            raise ValueError(
                'tether.compat.socketio clients speak the "default" (JSON) and "msgpack" '
                "serializers only, JSON with orjson"
            )
        ssl_verify = kwargs.pop("ssl_verify", True)
        #: The tether client doing the work.
        self.tether_client = Client(
            reconnection=reconnection,
            reconnection_attempts=reconnection_attempts or math.inf,
            reconnection_delay=reconnection_delay,
            reconnection_delay_max=reconnection_delay_max,
            randomization_factor=randomization_factor,
            ssl=None if ssl_verify else False,
            ack_errors=False,  # python-socketio leaves an ack unanswered when its handler raises
            parser="msgpack" if serializer == "msgpack" else "json",
        )
        self.logger = logger if isinstance(logger, logging.Logger) else log
        self.handlers: dict[str, dict[str, Callable[..., Any]]] = {}
        self.namespace_handlers: dict[str, NamespaceHandler] = {}
        self._wired: set[tuple[str, str]] = set()
        self._any_wired: set[str] = set()
        self._names: list[str] = []

    # -- handlers ---------------------------------------------------------------------------

    def on(
        self, event: str, handler: Callable[..., Any] | None = None, namespace: str | None = None
    ) -> Any:
        """Register ``handler`` for ``event`` (``"*"``: every event without its own
        handler, called ``(event, *args)``). Usable as a decorator."""
        name = namespace or "/"

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            self.handlers.setdefault(name, {})[event] = func
            self._wire_all()
            return func

        return register if handler is None else register(handler)

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """``@client.event``: register a function under its own name."""
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.on(args[0].__name__, args[0])

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            return self.on(func.__name__, func, *args, **kwargs)  # type: ignore[no-any-return]

        return register

    def register_namespace(self, namespace_handler: Any) -> None:
        """Register a class-based namespace (an ``AsyncClientNamespace`` instance)."""
        namespace_handler._set_client(self)
        self.namespace_handlers[namespace_handler.namespace] = namespace_handler
        self._wire_all()

    def _events(self, namespace: str) -> set[str]:
        events = set(self.handlers.get(namespace, {})) | set(self.handlers.get("*", {}))
        for name in (namespace, "*"):
            handler = self.namespace_handlers.get(name)
            if handler is not None:
                events |= {attr[3:] for attr in dir(handler) if attr.startswith("on_")}
        return events | RESERVED

    def _wire_all(self) -> None:
        for namespace in self._names:
            self._wire(namespace)

    def _wire(self, namespace: str) -> None:
        """Give the tether client a dispatcher for every event with a handler here."""
        client = self.tether_client
        for event in self._events(namespace) - {"*"}:
            if (namespace, event) not in self._wired:
                self._wired.add((namespace, event))
                client.on(event, partial(self._dispatch, namespace, event), namespace=namespace)
        if namespace not in self._any_wired:
            self._any_wired.add(namespace)
            client.on_any(partial(self._catch_all, namespace), namespace=namespace)

    def _handler(
        self, event: str, namespace: str, args: tuple[Any, ...]
    ) -> tuple[Any, tuple[Any, ...]]:
        """The handler of ``event`` and its arguments (:func:`.calls.find_handler`)."""
        return find_handler(self.handlers, self.namespace_handlers, event, namespace, args)

    async def _dispatch(self, namespace: str, event: str, *args: Any) -> Any:
        if event == "disconnect" and args:
            args = (_REASONS.get(args[0], "transport error"),)
        handler, full = self._handler(event, namespace, args)
        if handler is None:
            return None
        if event == "disconnect" and not isinstance(handler, partial):
            full = full[: positional_count(handler)]
        return await call(handler, *full)

    async def _catch_all(self, namespace: str, event: str, *args: Any) -> None:
        if event in self._events(namespace):
            return  # it has a dispatcher of its own
        handler, full = self._handler(event, namespace, args)
        if handler is not None:
            await call(handler, *full)

    # -- connecting -------------------------------------------------------------------------

    async def connect(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        transports: str | Iterable[str] | None = None,
        namespaces: str | Iterable[str] | None = None,
        socketio_path: str = "socket.io",
        wait: bool = True,
        wait_timeout: float = 1,
        retry: bool = False,
    ) -> None:
        """Connect to ``url`` and join ``namespaces`` (by default every namespace with a
        handler, else ``"/"``); raises :class:`~.exceptions.ConnectionError`."""
        if namespaces is None:
            names = [n for n in {*self.handlers, *self.namespace_handlers} if n != "*"] or ["/"]
        else:
            names = [namespaces] if isinstance(namespaces, str) else list(namespaces)
        self._names = names
        self._wire_all()
        chosen = (
            ("polling", "websocket")
            if transports is None
            else (transports,)
            if isinstance(transports, str)
            else tuple(transports)
        )
        try:
            await self.tether_client.connect(
                url,
                namespaces=names,
                auth=auth,
                headers=dict(headers or {}),
                transports=chosen,
                path="/" + socketio_path.strip("/") + "/",
                wait_timeout=max(wait_timeout, 1.0),
            )
        except ConnectError as exc:
            raise exceptions.ConnectionError(exc.message) from exc

    @property
    def connected(self) -> bool:
        """Whether every namespace is connected."""
        return self.tether_client.connected

    @property
    def sid(self) -> str | None:
        """The client's id in ``"/"``."""
        return self.tether_client.sid

    @property
    def namespaces(self) -> dict[str, str | None]:
        """The connected namespaces and their sids."""
        client = self.tether_client
        return {n: client.get_sid(n) for n in self._names if client.get_sid(n) is not None}

    def get_sid(self, namespace: str | None = None) -> str | None:
        """The client's id in ``namespace``."""
        return self.tether_client.get_sid(namespace or "/")

    def transport(self) -> str | None:
        """``"polling"`` or ``"websocket"``."""
        return self.tether_client.transport

    # -- sending ----------------------------------------------------------------------------

    def _check(self, namespace: str) -> None:
        if self.tether_client.get_sid(namespace) is None:
            raise exceptions.BadNamespaceError(f"{namespace} is not a connected namespace.")

    async def emit(
        self,
        event: str,
        data: Any = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> None:
        """Send ``event`` (``data``: a tuple for several arguments); ``callback`` gets the
        server's acknowledgement."""
        name = namespace or "/"
        self._check(name)
        args = event_args(data)
        if callback is None:
            self.tether_client.emit(event, *args, namespace=name)
            return
        answer = self.tether_client.emit_with_ack(event, *args, namespace=name)

        async def relay() -> None:
            try:
                value = await answer
            except TetherDisconnected:
                return
            await call(callback, *_ack_list(value))

        spawn(relay(), f"callback of {event!r}")

    async def send(
        self, data: Any, namespace: str | None = None, callback: Callable[..., Any] | None = None
    ) -> None:
        """Emit ``message``."""
        await self.emit("message", data, namespace, callback)

    async def call(
        self, event: str, data: Any = None, namespace: str | None = None, timeout: float | None = 60
    ) -> Any:
        """Emit and return the server's acknowledgement (a tuple for several arguments);
        :class:`~.exceptions.TimeoutError` after ``timeout`` seconds."""
        name = namespace or "/"
        self._check(name)
        try:
            return await self.tether_client.emit_with_ack(
                event, *event_args(data), namespace=name, timeout=timeout
            )
        except AckTimeoutError as exc:
            raise exceptions.TimeoutError() from exc
        except TetherDisconnected as exc:
            raise exceptions.DisconnectedError(str(exc)) from exc

    async def disconnect(self) -> None:
        """Disconnect (no reconnection)."""
        await self.tether_client.disconnect()

    shutdown = disconnect

    async def wait(self) -> None:
        """Wait until the client is disconnected for good."""
        await self.tether_client.wait()

    def start_background_task(
        self, target: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> asyncio.Task[Any]:
        """Run ``target(*args, **kwargs)`` as a task."""
        return spawn(
            target(*args, **kwargs), f"background task {getattr(target, '__name__', target)}"
        )

    async def sleep(self, seconds: float = 0) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(seconds)


class AsyncSimpleClient:
    """python-socketio's ``AsyncSimpleClient``: connect, ``emit``, ``call``, ``receive``
    (the next event as ``[event, *args]``), ``disconnect``; an async context manager."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.client_args = args
        self.client_kwargs = kwargs
        self.client: AsyncClient | None = None
        self.namespace = "/"
        self._events: asyncio.Queue[list[Any]] = asyncio.Queue()
        self._gone = asyncio.Event()

    async def connect(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        transports: str | Iterable[str] | None = None,
        namespace: str = "/",
        socketio_path: str = "socket.io",
        wait_timeout: float = 5,
    ) -> None:
        """Connect to ``url`` in ``namespace``."""
        if self.client is not None and self.client.connected:
            raise RuntimeError("Already connected")
        self.namespace = namespace
        self._gone.clear()
        client = self.client = AsyncClient(*self.client_args, **self.client_kwargs)
        client.on("*", lambda event, *args: self._events.put_nowait([event, *args]), namespace)
        client.on(
            "disconnect",
            lambda *reason: self._gone.set() if not client.connected else None,
            namespace,
        )
        await client.connect(
            url, headers, auth, transports, [namespace], socketio_path, wait_timeout=wait_timeout
        )

    @property
    def sid(self) -> str | None:
        """The client's id in its namespace."""
        return self.client.get_sid(self.namespace) if self.client else None

    @property
    def transport(self) -> str:
        """``"polling"`` or ``"websocket"``."""
        return (self.client.transport() if self.client else None) or ""

    def _connected(self) -> AsyncClient:
        if self.client is None or not self.client.connected:
            raise exceptions.DisconnectedError()
        return self.client

    async def emit(self, event: str, data: Any = None) -> None:
        """Send ``event``."""
        await self._connected().emit(event, data, self.namespace)

    async def call(self, event: str, data: Any = None, timeout: float = 60) -> Any:
        """Send ``event`` and return the server's acknowledgement."""
        return await self._connected().call(event, data, self.namespace, timeout)

    async def receive(self, timeout: float | None = None) -> list[Any]:
        """The next event from the server, ``[event, *args]``;
        :class:`~.exceptions.TimeoutError` after ``timeout`` seconds,
        :class:`~.exceptions.DisconnectedError` once disconnected."""
        if not self._events.empty():
            return self._events.get_nowait()
        self._connected()
        getting = asyncio.ensure_future(self._events.get())
        gone = asyncio.ensure_future(self._gone.wait())
        try:
            done, _ = await asyncio.wait(
                {getting, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            gone.cancel()
            if not getting.done():
                getting.cancel()
        if getting in done:
            return getting.result()
        if gone in done:
            raise exceptions.DisconnectedError()
        raise exceptions.TimeoutError()

    async def disconnect(self) -> None:
        """Disconnect."""
        if self.client is not None:
            await self.client.disconnect()
            self.client = None

    async def __aenter__(self) -> AsyncSimpleClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()
