"""Finding the application a command names (``module:attribute``), and what serves it."""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.aio.asgi_host import AsgiHost
    from tether.http.exchange import HttpApp
    from tether.server import Server


def load_app(target: str) -> Any:
    """The object named by ``module:attribute`` (the module imported from the current
    directory too)."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise SystemExit(f"tether: expected module:attribute, got {target!r}")
    sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    value = module
    for part in attr.split("."):
        value = getattr(value, part)
    return value


@dataclass
class Served:
    """What ``tether serve`` runs for a target: the Socket.IO server, and the HTTP app the
    listener serves (its router, or an :class:`AsgiHost` of the ASGI app beside it)."""

    io: Server
    http_app: HttpApp
    host: AsgiHost | None = None

    async def startup(self) -> None:
        """Start the adapters, then the ASGI app's lifespan (raises ``LifespanFailed``)."""
        await self.io.start()
        if self.host is not None:
            await self.host.startup()

    async def close(self) -> None:
        """End the ASGI app's lifespan, then close the adapters."""
        if self.host is not None:
            await self.host.close()
        await self.io.close_adapters()


def load_served(target: str, root_path: str = "") -> Served:
    """Load ``target``: a :class:`tether.Server`, or a :class:`tether.ASGIApp` of one (its other
    app hosted by the native server, the Socket.IO path natively)."""
    from tether.aio.asgi import ASGIApp
    from tether.aio.asgi_host import AsgiHost, HostOptions
    from tether.server import Server

    app = load_app(target)
    if isinstance(app, ASGIApp) and isinstance(app.io, Server):
        host = AsgiHost(app.io.router, app.other, HostOptions(root_path=root_path))
        return Served(app.io, host, host)
    if isinstance(app, Server):
        return Served(app, app.router)
    raise SystemExit(f"tether: {target} is not a tether.Server nor a tether.ASGIApp of one")
