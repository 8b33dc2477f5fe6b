"""python-socketio 5.x's asyncio API on tether: change ``import socketio`` to
``from tether.compat import socketio`` and the application runs on tether.

::

    from tether.compat import socketio

    sio = socketio.AsyncServer(cors_allowed_origins="*")
    app = socketio.ASGIApp(sio)

    @sio.event
    async def chat(sid, data):
        await sio.emit("chat", data, skip_sid=sid)

Covered: ``AsyncServer``, ``AsyncNamespace``, ``ASGIApp``, ``AsyncClient``,
``AsyncClientNamespace``, ``AsyncSimpleClient``, ``AsyncRedisManager`` (python-socketio's
Redis format, to share a cluster with python-socketio servers) and ``exceptions``. Not
covered: the sync ``Server``/``Client``, the eventlet, gevent, aiohttp, sanic and tornado
modes, the other client managers (Kafka, RabbitMQ/Kombu, ZeroMQ) and a custom ``json``
module (``serializer="msgpack"`` is tether's ``parser="msgpack"``). Everything is built on
tether's :class:`~tether.Server` and :class:`~tether.Client`
(``sio.tether_server``, ``client.tether_client``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import exceptions
from .asgi import ASGIApp
from .client import AsyncClient, AsyncSimpleClient
from .namespace import AsyncClientNamespace, AsyncNamespace
from .server import AsyncServer

if TYPE_CHECKING:
    from .redis_manager import AsyncRedisManager

__all__ = [
    "ASGIApp",
    "AsyncClient",
    "AsyncClientNamespace",
    "AsyncNamespace",
    "AsyncRedisManager",
    "AsyncServer",
    "AsyncSimpleClient",
    "exceptions",
]


def __getattr__(name: str) -> Any:
    # The Redis manager needs the ``redis`` extra: imported on first use only.
    if name == "AsyncRedisManager":
        from .redis_manager import AsyncRedisManager

        return AsyncRedisManager
    raise AttributeError(f"module 'tether.compat.socketio' has no attribute {name!r}")
