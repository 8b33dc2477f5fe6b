"""python-socketio's ``AsyncRedisManager``: a cluster through Redis in python-socketio's own
format, so that tether servers and python-socketio servers share one cluster (a running
python-socketio deployment moves to tether one server at a time).

The format: one pub/sub channel (``"socketio"``), one message per operation, a dict with a
``method`` (``emit``, ``enter_room``, ``leave_room``, ``close_room``, ``disconnect``,
``callback``) and the ``host_id`` of its sender. python-socketio 5.14 and later write JSON;
earlier versions wrote pickles. This manager writes JSON (which every 5.x reads) and reads
both, pickles through a restricted unpickler that builds nothing but builtin containers,
strings, bytes, numbers, booleans and ``None``: any other pickle is refused (and logged),
never executed.

What python-socketio's format carries is less than tether's own adapters: no
``fetch_sockets``, ``all_rooms``, ``server_side_emit`` or acknowledgements across servers
(they answer for this server alone), and ``skip_sid`` names clients, not rooms (tether's
``except_("room")`` excludes the room's clients here only). tether's native adapters
(:mod:`tether.adapters.redis`) speak Node's format and have all of it.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import pickle
import uuid
from typing import Any

import orjson

from tether.adapters.base import BroadcastOptions, NamespaceLike
from tether.adapters.memory import MemoryAdapter
from tether.adapters.redis.link import RedisLink
from tether.sio import Packet, PacketType

__all__ = ["AsyncRedisManager", "RestrictedUnpickler", "loads"]

log = logging.getLogger("tether.compat")

#: The only classes a pickle may name (protocols below 4 name these; 2 as ``__builtin__``).
_ALLOWED_CLASSES = frozenset(
    (module, name)
    for module in ("builtins", "__builtin__")
    for name in ("set", "frozenset", "bytearray")
)


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles builtin data only: a pickle naming any other class or function fails."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_CLASSES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused: the pickle names {module}.{name}")


def loads(data: bytes) -> Any:
    """A message of python-socketio's channel: JSON, or a pickle (older python-socketio)
    unpickled by :class:`RestrictedUnpickler`. Raises ``ValueError`` for anything else."""
    if data[:1] == b"\x80":  # every pickle protocol since 2 starts with PROTO
        try:
            return RestrictedUnpickler(io.BytesIO(data)).load()
        except Exception as exc:
            raise ValueError(f"unsafe or invalid pickle: {exc}") from None
    return orjson.loads(data)


def _deconstruct(data: Any, attachments: list[bytes]) -> Any:
    if isinstance(data, bytes | bytearray):
        attachments.append(bytes(data))
        return {"_placeholder": True, "num": len(attachments) - 1}
    if isinstance(data, list | tuple):
        return [_deconstruct(item, attachments) for item in data]
    if isinstance(data, dict):
        return {key: _deconstruct(value, attachments) for key, value in data.items()}
    return data


def _reconstruct(data: Any, attachments: list[bytes]) -> Any:
    if isinstance(data, dict):
        if data.get("_placeholder") is True and isinstance(data.get("num"), int):
            return attachments[data["num"]]
        return {key: _reconstruct(value, attachments) for key, value in data.items()}
    if isinstance(data, list):
        return [_reconstruct(item, attachments) for item in data]
    return data


def _has_binary(data: Any) -> bool:
    if isinstance(data, bytes | bytearray):
        return True
    if isinstance(data, list | tuple):
        return any(_has_binary(item) for item in data)
    if isinstance(data, dict):
        return any(_has_binary(value) for value in data.values())
    return False


def _emit_message(event: str, args: list[Any], room: Any, skip_sid: Any) -> dict[str, Any]:
    """python-socketio's ``emit`` message (without ``namespace`` and ``host_id``): binary
    arguments as placeholders followed by their base64 attachments."""
    binary = _has_binary(args)
    data: list[Any] = args
    if binary:
        attachments: list[bytes] = []
        data = [
            _deconstruct(args, attachments),
            *(base64.b64encode(a).decode() for a in attachments),
        ]
    return {
        "method": "emit",
        "event": event,
        "data": data,
        "binary": binary,
        "room": room,
        "skip_sid": skip_sid,
        "callback": None,
    }


def _names(value: Any) -> list[str]:
    """A ``room``/``skip_sid`` field: one name, a list of them, or none."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


class PythonSocketioAdapter(MemoryAdapter):
    """The rooms of one namespace in memory; broadcasts and room changes go to the other
    servers in python-socketio's format (see the module)."""

    def __init__(self, nsp: NamespaceLike, manager: AsyncRedisManager) -> None:
        super().__init__(nsp)
        self.manager = manager

    async def init(self) -> None:
        """Wait until Redis confirms the channel's subscription."""
        await self.manager.subscribed()

    async def close(self) -> None:
        """Forget this namespace (the manager closes the link)."""
        self.manager.adapters.pop(self.nsp.name, None)

    def _publish(self, method: str, **fields: Any) -> None:
        self.manager.publish({"method": method, **fields, "namespace": self.nsp.name})

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        """Deliver here, and publish an ``emit`` for the other servers."""
        if not opts.flags.local:
            event, *args = packet.data
            rooms = sorted(opts.rooms)
            room = None if not rooms else rooms[0] if len(rooms) == 1 else rooms
            message = _emit_message(event, args, room, sorted(opts.except_rooms) or None)
            self.manager.publish({**message, "namespace": self.nsp.name})
        super().broadcast(packet, opts)

    def add_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        """Join here; for the other servers, each targeted room is taken for a sid."""
        super().add_sockets(opts, rooms)
        if not opts.flags.local:
            for sid in sorted(opts.rooms):
                for room in rooms:
                    self._publish("enter_room", sid=sid, room=room)

    def del_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        """Leave here; ``in_(room).sockets_leave(room)`` is python-socketio's ``close_room``."""
        super().del_sockets(opts, rooms)
        if opts.flags.local:
            return
        if len(opts.rooms) == 1 and list(opts.rooms) == rooms and not opts.except_rooms:
            self._publish("close_room", room=rooms[0])
            return
        for sid in sorted(opts.rooms):
            for room in rooms:
                self._publish("leave_room", sid=sid, room=room)

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        """Disconnect here; for the other servers, each targeted room is taken for a sid."""
        super().disconnect_sockets(opts, close)
        if not opts.flags.local:
            for sid in sorted(opts.rooms):
                self._publish("disconnect", sid=sid)

    # -- from the other servers -------------------------------------------------------------

    def on_message(self, message: dict[str, Any]) -> None:
        """A message of another server for this namespace."""
        method = message.get("method")
        if method == "emit":
            self._on_emit(message)
        elif method in ("enter_room", "leave_room", "disconnect"):
            sid = message.get("sid")
            socket = self.nsp.sockets.get(sid) if isinstance(sid, str) else None
            if socket is None:
                return
            room = message.get("room")
            if method == "disconnect":
                socket.disconnect()
            elif isinstance(room, str):
                if method == "enter_room":
                    socket.join(room)
                else:
                    socket.leave(room)
        elif method == "close_room":
            room = message.get("room")
            if isinstance(room, str):
                for sid in list(self.rooms.get(room, ())):
                    self.delete(sid, room)

    def _on_emit(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        data = message.get("data")
        if not isinstance(event, str) or not isinstance(data, list):
            return
        if message.get("binary"):
            if not data:
                return
            attachments = [base64.b64decode(a) for a in data[1:] if isinstance(a, str)]
            data = _reconstruct(data[0], attachments)
            if not isinstance(data, list):
                data = [data]
        options = BroadcastOptions(
            frozenset(_names(message.get("room"))), frozenset(_names(message.get("skip_sid")))
        )
        # python-socketio may ask for the clients' acks ("callback"): not carried here.
        super().broadcast(Packet(PacketType.EVENT, self.nsp.name, [event, *data]), options)


class _Factory:
    """``adapter(namespace)`` for :class:`tether.Server`; closes the manager's link."""

    def __init__(self, manager: AsyncRedisManager) -> None:
        self.manager = manager

    def __call__(self, nsp: NamespaceLike) -> PythonSocketioAdapter:
        adapter = PythonSocketioAdapter(nsp, self.manager)
        self.manager.adapters[nsp.name] = adapter
        return adapter

    async def close(self) -> None:
        await self.manager.close()


class AsyncRedisManager:
    """``AsyncServer(client_manager=AsyncRedisManager(url))``: the server joins a cluster of
    python-socketio servers (and other tether servers with this manager) on one Redis.

    Args:
        url: the Redis URL (``redis://``, ``rediss://``, ``unix://``).
        channel: the pub/sub channel, the same on every server.
        write_only: publish only (an emitter in a process that is not a server: call
            :meth:`emit`, then :meth:`close`).
        logger: where refused or broken messages are logged (``tether.compat`` by default).
        json: not supported (tether writes JSON with orjson).
        redis_options: keyword arguments of ``redis.asyncio.Redis.from_url``.
        max_pending: messages kept for Redis while it is unreachable (the oldest are dropped
            first).
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        channel: str = "socketio",
        write_only: bool = False,
        logger: logging.Logger | None = None,
        json: Any = None,
        redis_options: dict[str, Any] | None = None,
        max_pending: int = 10_000,
    ) -> None:
        if json is not None:
            raise ValueError("a custom json module is not supported")
        self.url = url
        self.channel = channel
        self.write_only = write_only
        self.logger = logger or log
        self.redis_options = redis_options or {}
        self.max_pending = max_pending
        self.host_id = uuid.uuid4().hex
        self.adapters: dict[str, PythonSocketioAdapter] = {}
        self.refused = 0
        self._link: RedisLink | None = None

    @property
    def link(self) -> RedisLink:
        """The connection to Redis (made on first use, in the server's loop)."""
        if self._link is None:
            import redis.asyncio as aioredis

            client = aioredis.Redis.from_url(self.url, **self.redis_options)
            link = RedisLink(client, owns_client=True, max_pending=self.max_pending)
            if not self.write_only:
                link.add({}, {self.channel: self._on_message})
            self._link = link
        return self._link

    def adapter_factory(self) -> _Factory:
        """The adapter factory for ``tether.Server(adapter=...)``."""
        return _Factory(self)

    async def subscribed(self) -> None:
        """Wait until Redis confirms the subscription."""
        await self.link.wait_subscribed([self.channel])

    def publish(self, message: dict[str, Any]) -> None:
        """Publish a message of this server (JSON)."""
        self.link.publish(self.channel, orjson.dumps({**message, "host_id": self.host_id}))

    async def emit(
        self,
        event: str,
        data: Any = None,
        namespace: str | None = None,
        room: str | list[str] | None = None,
        skip_sid: str | list[str] | None = None,
        callback: Any = None,
        to: str | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Emit to the clients of every server, as python-socketio's manager does: a
        ``write_only`` manager in a process that is not a server (a worker, a script)."""
        if callback is not None:
            raise ValueError("callbacks cannot go through the Redis manager")
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        message = _emit_message(event, args, to if to is not None else room, skip_sid)
        message.update(namespace=namespace or "/", host_id=self.host_id)
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.link.send(("PUBLISH", self.channel, orjson.dumps(message)), done.set_result)
        reply = await done
        if isinstance(reply, Exception):
            raise reply

    def _on_message(self, channel: str, data: bytes) -> None:
        try:
            message = loads(data)
        except ValueError as exc:
            self.refused += 1
            self.logger.warning("python-socketio channel %r: message refused: %s", channel, exc)
            return
        if not isinstance(message, dict) or message.get("host_id") == self.host_id:
            return
        namespace = message.get("namespace") or "/"
        adapter = self.adapters.get(namespace) if isinstance(namespace, str) else None
        if adapter is not None:
            adapter.on_message(message)

    async def close(self) -> None:
        """Close the connection to Redis."""
        link, self._link = self._link, None
        if link is not None:
            await link.close()
