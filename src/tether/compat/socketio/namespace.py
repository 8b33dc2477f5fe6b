"""python-socketio's class-based namespaces: ``on_<event>`` methods."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from .calls import call, positional_count

if TYPE_CHECKING:
    from .client import AsyncClient
    from .server import AsyncServer


async def _trigger(target: object, event: str, args: tuple[Any, ...]) -> Any:
    handler: Callable[..., Any] | None = getattr(target, "on_" + (event or ""), None)
    if handler is None:
        return None
    if event in ("connect", "disconnect") and len(args) > positional_count(handler):
        args = args[: positional_count(handler)]  # without auth / reason: the older forms
    return await call(handler, *args)


class AsyncNamespace:
    """A server namespace as a class: ``async def on_chat(self, sid, data)`` handles
    ``chat``; ``on_connect(self, sid, environ, auth)``, ``on_disconnect(self, sid,
    reason)``. Register it with ``sio.register_namespace(Chat("/chat"))``. Its methods act
    on its own namespace unless told otherwise."""

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace or "/"
        self.server: AsyncServer | None = None

    def _set_server(self, server: AsyncServer) -> None:
        self.server = server

    def is_asyncio_based(self) -> bool:
        """Always true."""
        return True

    @property
    def _sio(self) -> AsyncServer:
        if self.server is None:
            raise RuntimeError("the namespace is not registered with a server")
        return self.server

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Call ``on_<event>`` (override to dispatch otherwise)."""
        return await _trigger(self, event, args)

    async def emit(
        self,
        event: str,
        data: Any = None,
        to: Any = None,
        room: Any = None,
        skip_sid: Any = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
        ignore_queue: bool = False,
    ) -> None:
        """:meth:`AsyncServer.emit` in this namespace."""
        await self._sio.emit(
            event, data, to, room, skip_sid, namespace or self.namespace, callback, ignore_queue
        )

    async def send(
        self,
        data: Any,
        to: Any = None,
        room: Any = None,
        skip_sid: Any = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
        ignore_queue: bool = False,
    ) -> None:
        """:meth:`AsyncServer.send` in this namespace."""
        await self._sio.send(
            data, to, room, skip_sid, namespace or self.namespace, callback, ignore_queue
        )

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
        """:meth:`AsyncServer.call` in this namespace."""
        return await self._sio.call(
            event, data, to, sid, namespace or self.namespace, timeout, ignore_queue
        )

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """:meth:`AsyncServer.enter_room` in this namespace."""
        await self._sio.enter_room(sid, room, namespace or self.namespace)

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """:meth:`AsyncServer.leave_room` in this namespace."""
        await self._sio.leave_room(sid, room, namespace or self.namespace)

    async def close_room(self, room: str, namespace: str | None = None) -> None:
        """:meth:`AsyncServer.close_room` in this namespace."""
        await self._sio.close_room(room, namespace or self.namespace)

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        """:meth:`AsyncServer.rooms` in this namespace."""
        return self._sio.rooms(sid, namespace or self.namespace)

    async def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        """:meth:`AsyncServer.get_session` in this namespace."""
        return await self._sio.get_session(sid, namespace or self.namespace)

    async def save_session(
        self, sid: str, session: dict[str, Any], namespace: str | None = None
    ) -> None:
        """:meth:`AsyncServer.save_session` in this namespace."""
        await self._sio.save_session(sid, session, namespace or self.namespace)

    def session(
        self, sid: str, namespace: str | None = None
    ) -> AbstractAsyncContextManager[dict[str, Any]]:
        """:meth:`AsyncServer.session` in this namespace."""
        return self._sio.session(sid, namespace or self.namespace)

    async def disconnect(self, sid: str, namespace: str | None = None) -> None:
        """:meth:`AsyncServer.disconnect` in this namespace."""
        await self._sio.disconnect(sid, namespace or self.namespace)


class AsyncClientNamespace:
    """A client namespace as a class (``on_<event>`` methods); register it with
    ``client.register_namespace(...)``."""

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace or "/"
        self.client: AsyncClient | None = None

    def _set_client(self, client: AsyncClient) -> None:
        self.client = client

    def is_asyncio_based(self) -> bool:
        """Always true."""
        return True

    @property
    def _client(self) -> AsyncClient:
        if self.client is None:
            raise RuntimeError("the namespace is not registered with a client")
        return self.client

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Call ``on_<event>``."""
        return await _trigger(self, event, args)

    async def emit(
        self,
        event: str,
        data: Any = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> None:
        """:meth:`AsyncClient.emit` in this namespace."""
        await self._client.emit(event, data, namespace or self.namespace, callback)

    async def send(
        self, data: Any, namespace: str | None = None, callback: Callable[..., Any] | None = None
    ) -> None:
        """:meth:`AsyncClient.send` in this namespace."""
        await self._client.send(data, namespace or self.namespace, callback)

    async def call(
        self,
        event: str,
        data: Any = None,
        namespace: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """:meth:`AsyncClient.call` in this namespace."""
        return await self._client.call(event, data, namespace or self.namespace, timeout)

    async def disconnect(self) -> None:
        """Disconnect the client."""
        await self._client.disconnect()
