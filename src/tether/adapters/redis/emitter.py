"""Emit to a Socket.IO cluster from a process that is not a server (a worker, a cron job),
through Redis, as Node's ``@socket.io/redis-emitter`` does.

    from tether.adapters.redis.emitter import Emitter

    emitter = Emitter("redis://127.0.0.1:6379/0")
    await emitter.to("room").emit("news", {"title": "hello"})
    await emitter.of("/admin").sockets_join("audit")
    await emitter.close()

Every server of the cluster (tether or Node, with a Redis adapter on the same ``key``)
delivers to its own clients. Nothing comes back: no acks, no ``fetch_sockets``.

:class:`BlockingEmitter` is the same for code without an event loop (a script, a Flask or
Django view, a Celery task): every call publishes at once through a blocking
``redis.Redis`` client, which is thread-safe (one emitter may serve every thread)::

    emitter = BlockingEmitter("redis://127.0.0.1:6379/0")
    emitter.to("room").emit("news", {"title": "hello"})
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

import redis.asyncio as aioredis
from redis import Redis as BlockingRedis

from tether.adapters.base import BroadcastFlags, BroadcastOptions, room_set
from tether.adapters.cluster.wire import (
    EMITTER_UID,
    Channels,
    RequestType,
    encode_broadcast,
    encode_json,
)
from tether.sio import RESERVED_EVENTS, Packet, PacketType

__all__ = ["BlockingEmitter", "BlockingEmitterOperator", "Emitter", "EmitterOperator"]


def _broadcast(
    channels: Channels, opts: BroadcastOptions, event: str, args: Any
) -> tuple[str, bytes]:
    """The channel and message of an emit."""
    if event in RESERVED_EVENTS:
        raise ValueError(f'"{event}" is a reserved event name')
    packet = Packet(PacketType.EVENT, channels.nsp, [event, *args])
    return channels.for_rooms(opts.rooms), encode_broadcast(EMITTER_UID, packet, opts)


def _request(opts: BroadcastOptions, message: dict[str, Any]) -> bytes:
    targets = {"rooms": sorted(opts.rooms), "except": sorted(opts.except_rooms)}
    return encode_json({**message, "opts": targets})


def _room_request(kind: RequestType, rooms: str | Iterable[str]) -> dict[str, Any]:
    return {"type": int(kind), "rooms": sorted(room_set(rooms))}


def _server_side(event: str, args: Any) -> bytes:
    return encode_json(
        {"uid": EMITTER_UID, "type": int(RequestType.SERVER_SIDE_EMIT), "data": [event, *args]}
    )


_Client = TypeVar("_Client", aioredis.Redis, BlockingRedis)
_Operator = TypeVar("_Operator", bound="_Targets[Any, Any]")


class _Targets(Generic[_Client, _Operator]):
    """The targets and flags of one emit, for either kind of Redis client: every method
    returns a new operator of the emitter's family (:meth:`_new`)."""

    __slots__ = ("_channels", "_client", "_opts")

    def __init__(self, client: _Client, channels: Channels, opts: BroadcastOptions) -> None:
        self._client: _Client = client
        self._channels = channels
        self._opts = opts

    def _new(self, opts: BroadcastOptions) -> _Operator:
        raise NotImplementedError

    def _with(self, **changes: Any) -> _Operator:
        opts = self._opts
        return self._new(
            BroadcastOptions(
                rooms=opts.rooms | changes.get("rooms", frozenset()),
                except_rooms=opts.except_rooms | changes.get("except_rooms", frozenset()),
                flags=changes.get("flags", opts.flags),
            )
        )

    def to(self, rooms: str | Iterable[str]) -> _Operator:
        """Only the sockets in these rooms."""
        return self._with(rooms=room_set(rooms))

    def in_(self, rooms: str | Iterable[str]) -> _Operator:
        """Only the sockets in these rooms (as :meth:`to`)."""
        return self._with(rooms=room_set(rooms))

    def except_(self, rooms: str | Iterable[str]) -> _Operator:
        """Not the sockets in these rooms."""
        return self._with(except_rooms=room_set(rooms))

    @property
    def volatile(self) -> _Operator:
        """Dropped for clients that cannot receive it now."""
        return self._with(flags=BroadcastFlags(True, self._opts.flags.compress))

    def compress(self, compress: bool) -> _Operator:
        """Whether the servers compress the packet (with permessage-deflate on)."""
        return self._with(flags=BroadcastFlags(self._opts.flags.volatile, compress))


class EmitterOperator(_Targets[aioredis.Redis, "EmitterOperator"]):
    """The targets and flags of one emit (each call returns a new operator)."""

    __slots__ = ()

    def _new(self, opts: BroadcastOptions) -> EmitterOperator:
        return EmitterOperator(self._client, self._channels, opts)

    async def emit(self, event: str, *args: Any) -> None:
        """Send ``event`` to the targeted sockets of every server."""
        await self._client.publish(*_broadcast(self._channels, self._opts, event, args))

    async def _request(self, message: dict[str, Any]) -> None:
        await self._client.publish(self._channels.request, _request(self._opts, message))

    async def sockets_join(self, rooms: str | Iterable[str]) -> None:
        """The targeted sockets of every server join ``rooms``."""
        await self._request(
            {"type": int(RequestType.REMOTE_JOIN), "rooms": sorted(room_set(rooms))}
        )

    async def sockets_leave(self, rooms: str | Iterable[str]) -> None:
        """The targeted sockets of every server leave ``rooms``."""
        await self._request(
            {"type": int(RequestType.REMOTE_LEAVE), "rooms": sorted(room_set(rooms))}
        )

    async def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect the targeted sockets of every server."""
        await self._request({"type": int(RequestType.REMOTE_DISCONNECT), "close": close})


class Emitter(EmitterOperator):
    """An emitter for the namespace ``nsp`` of the cluster under ``key``.

    ``redis``: a URL or a ``redis.asyncio.Redis`` client (closed by :meth:`close` only when
    the emitter made it).
    """

    __slots__ = ("_key", "_owns_client")

    def __init__(
        self,
        redis: str | aioredis.Redis = "redis://127.0.0.1:6379/0",
        *,
        key: str = "socket.io",
        nsp: str = "/",
    ) -> None:
        if isinstance(redis, str):
            client = aioredis.Redis.from_url(redis)
            self._owns_client = True
        else:
            client = redis
            self._owns_client = False
        if not nsp.startswith("/"):
            nsp = "/" + nsp
        self._key = key
        super().__init__(client, Channels(key, nsp), BroadcastOptions())

    def of(self, nsp: str) -> Emitter:
        """The emitter of another namespace (sharing the Redis client)."""
        return Emitter(self._client, key=self._key, nsp=nsp)

    async def server_side_emit(self, event: str, *args: Any) -> None:
        """Send ``event`` to the server-side handlers of every server (no acks)."""
        await self._client.publish(self._channels.request, _server_side(event, args))

    async def close(self) -> None:
        """Close the Redis client if the emitter made it."""
        if self._owns_client:
            await self._client.aclose()


class BlockingEmitterOperator(_Targets[BlockingRedis, "BlockingEmitterOperator"]):
    """The targets and flags of one emit of a :class:`BlockingEmitter` (each call returns a
    new operator); what it sends is published before the call returns."""

    __slots__ = ()

    def _new(self, opts: BroadcastOptions) -> BlockingEmitterOperator:
        return BlockingEmitterOperator(self._client, self._channels, opts)

    def emit(self, event: str, *args: Any) -> None:
        """Send ``event`` to the targeted sockets of every server."""
        self._client.publish(*_broadcast(self._channels, self._opts, event, args))

    def sockets_join(self, rooms: str | Iterable[str]) -> None:
        """The targeted sockets of every server join ``rooms``."""
        message = _room_request(RequestType.REMOTE_JOIN, rooms)
        self._client.publish(self._channels.request, _request(self._opts, message))

    def sockets_leave(self, rooms: str | Iterable[str]) -> None:
        """The targeted sockets of every server leave ``rooms``."""
        message = _room_request(RequestType.REMOTE_LEAVE, rooms)
        self._client.publish(self._channels.request, _request(self._opts, message))

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect the targeted sockets of every server."""
        message = {"type": int(RequestType.REMOTE_DISCONNECT), "close": close}
        self._client.publish(self._channels.request, _request(self._opts, message))


class BlockingEmitter(BlockingEmitterOperator):
    """:class:`Emitter` for code without an event loop: a blocking emitter for the
    namespace ``nsp`` of the cluster under ``key``.

    ``redis``: a URL or a ``redis.Redis`` client (closed by :meth:`close` only when the
    emitter made it). Safe to share between threads.
    """

    __slots__ = ("_key", "_owns_client")

    def __init__(
        self,
        redis: str | BlockingRedis = "redis://127.0.0.1:6379/0",
        *,
        key: str = "socket.io",
        nsp: str = "/",
    ) -> None:
        if isinstance(redis, str):
            client = BlockingRedis.from_url(redis)
            self._owns_client = True
        else:
            client = redis
            self._owns_client = False
        if not nsp.startswith("/"):
            nsp = "/" + nsp
        self._key = key
        super().__init__(client, Channels(key, nsp), BroadcastOptions())

    def of(self, nsp: str) -> BlockingEmitter:
        """The emitter of another namespace (sharing the Redis client)."""
        return BlockingEmitter(self._client, key=self._key, nsp=nsp)

    def server_side_emit(self, event: str, *args: Any) -> None:
        """Send ``event`` to the server-side handlers of every server (no acks)."""
        self._client.publish(self._channels.request, _server_side(event, args))

    def close(self) -> None:
        """Close the Redis client if the emitter made it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> BlockingEmitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
