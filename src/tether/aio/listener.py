"""The TCP listener: accepts connections for an HTTP app, with TLS and graceful shutdown.

:func:`serve` starts listening inside a running loop; :func:`run` owns the loop (uvloop
when installed) and stops on SIGTERM/SIGINT: it stops accepting, closes every session with
``server shutting down``, lets the writes drain, then exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import ssl as ssl_module
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeAlias

from tether._compiled import mypyc_attr
from tether.aio.heap import keep_heap
from tether.aio.http_protocol import HttpProtocol
from tether.http.exchange import HttpApp, Responder, Upgrade
from tether.http.messages import HttpLimits, Request

#: Where to listen, as asyncio's ``create_server`` takes it: a host, several, or ``None`` for
#: every interface. A union with a protocol type: compiled code checks none of it.
Host: TypeAlias = str | Sequence[str] | None
#: The port: a number, or a string of one (a service name works too), or ``None``.
Port: TypeAlias = int | str | None
#: A certificate or key file: a path string or a path object.
PathLike: TypeAlias = str | os.PathLike[str]

log = logging.getLogger("tether.listener")


class ShutdownAware(Protocol):
    """An app that closes its sessions when the server stops."""

    def shutdown(self) -> None:
        """Close every session."""


class Mounted(Protocol):
    """An app that answers for some paths."""

    def handles(self, path: str) -> bool:
        """Whether ``path`` belongs to this app."""

    def handle_request(self, request: Request, responder: Responder) -> None:
        """Answer a request."""

    def handle_upgrade(self, upgrade: Upgrade) -> None:
        """Accept or refuse a WebSocket."""


@mypyc_attr(allow_interpreted_subclasses=True)
class Router:
    """Several apps on one port, each answering for its own paths; 404 for the rest."""

    def __init__(self, *apps: Mounted) -> None:
        self.apps = list(apps)

    def mount(self, app: Mounted) -> None:
        """Add an app; apps mounted first win."""
        self.apps.append(app)

    def handles(self, path: str) -> bool:
        """Whether one of the apps answers for ``path``."""
        return any(app.handles(path) for app in self.apps)

    def handle_request(self, request: Request, responder: Responder) -> None:
        for app in self.apps:
            if app.handles(request.path):
                app.handle_request(request, responder)
                return
        responder.send(404, [("Content-Type", "text/plain")], b"Not Found")

    def handle_upgrade(self, upgrade: Upgrade) -> None:
        for app in self.apps:
            if app.handles(upgrade.request.path):
                app.handle_upgrade(upgrade)
                return
        upgrade.reject(404, [("Content-Type", "text/plain")], b"Not Found")

    def shutdown(self) -> None:
        for app in self.apps:
            stop = getattr(app, "shutdown", None)
            if stop is not None:
                stop()


@mypyc_attr(allow_interpreted_subclasses=True)
class Listener:
    """A listening socket serving one HTTP app."""

    def __init__(self, app: HttpApp, limits: HttpLimits | None = None) -> None:
        self.app = app
        self.limits = limits or HttpLimits()
        self.connections: set[HttpProtocol] = set()
        self.server: asyncio.Server | None = None

    async def start(
        self, host: Host, port: Port, *, ssl: ssl_module.SSLContext | None = None
    ) -> None:
        """Start accepting connections: ``host`` and ``port`` as :meth:`asyncio.loop.create_server`
        takes them (``None`` for every interface, several hosts, a port number as a string)."""
        loop = asyncio.get_running_loop()
        scheme = "https" if ssl is not None else "http"
        service: Any = port  # typeshed says int; getaddrinfo takes a string too
        self.server = await loop.create_server(
            lambda: HttpProtocol(self.app, self.limits, self.connections, scheme),
            host,
            service,
            ssl=ssl,
            backlog=4096,
        )

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        assert self.server is not None
        # Any: uvloop's server has a list of sockets where typeshed says a tuple, which
        # compiled code would check.
        server: Any = self.server
        return int(server.sockets[0].getsockname()[1])

    async def shutdown(self, grace: float = 5.0) -> None:
        """Stop accepting, close the sessions, wait up to ``grace`` seconds for the writes."""
        if self.server is not None:
            self.server.close()
        stop: Callable[[], None] | None = getattr(self.app, "shutdown", None)
        if stop is not None:
            stop()
        for connection in list(self.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self.connections and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.abort()
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1.0)


def make_ssl_context(certfile: PathLike, keyfile: PathLike | None = None) -> ssl_module.SSLContext:
    """A server TLS context from a certificate (and key) file."""
    context = ssl_module.create_default_context(ssl_module.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context


async def serve(
    app: HttpApp,
    host: Host = "127.0.0.1",
    port: Port = 3000,
    *,
    ssl: ssl_module.SSLContext | None = None,
    limits: HttpLimits | None = None,
) -> Listener:
    """Start serving ``app`` in the running loop and return the :class:`Listener`."""
    listener = Listener(app, limits)
    await listener.start(host, port, ssl=ssl)
    return listener


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's when it is installed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(
    app: HttpApp,
    host: Host = "127.0.0.1",
    port: Port = 3000,
    *,
    ssl: ssl_module.SSLContext | None = None,
    limits: HttpLimits | None = None,
    on_ready: Callable[[Listener], None] | None = None,
    on_startup: Callable[[], Awaitable[None]] | None = None,
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then shut down gracefully. ``on_startup`` is
    awaited before listening, ``on_shutdown`` after the connections are closed. The process's
    C heap keeps ``limits.heap_trim_threshold`` bytes of freed memory (:func:`keep_heap`)."""
    keep_heap((limits or HttpLimits()).heap_trim_threshold)
    loop = new_event_loop()
    asyncio.set_event_loop(loop)

    async def main() -> None:
        if on_startup is not None:
            await on_startup()
        listener = await serve(app, host, port, ssl=ssl, limits=limits)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if on_ready is not None:
            on_ready(listener)
        await stop.wait()
        log.info("shutting down")
        await listener.shutdown()
        if on_shutdown is not None:
            await on_shutdown()

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
