"""Emit to a Socket.IO cluster from a process that is not a server (a worker, a cron job),
through Redis, as Node's ``@socket.io/redis-emitter`` does.

    from tether.adapters.redis.emitter import Emitter

    emitter = Emitter("redis://127.0.0.1:6379/0")
    await emitter.to("room").emit("news", {"title": "hello"})
    await emitter.of("/admin").sockets_join("audit")
    await emitter.close()

Every server of the cluster (tether or Node, with a Redis adapter on the same ``key``)
delivers to its own clients. Nothing comes back: no acks, no ``fetch_sockets``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis

from tether.adapters.base import BroadcastFlags, BroadcastOptions, room_set
from tether.adapters.cluster.wire import (
    EMITTER_UID,
    Channels,
    RequestType,
    encode_broadcast,
    encode_json,
)
from tether.sio import RESERVED_EVENTS, Packet, PacketType

__all__ = ["Emitter", "EmitterOperator"]


class EmitterOperator:
    """The targets and flags of one emit (each call returns a new operator)."""

    __slots__ = ("_channels", "_client", "_opts")

    def __init__(self, client: aioredis.Redis, channels: Channels, opts: BroadcastOptions) -> None:
        self._client = client
        self._channels = channels
        self._opts = opts

    def _with(self, **changes: Any) -> EmitterOperator:
        opts = self._opts
        return EmitterOperator(
            self._client,
            self._channels,
            BroadcastOptions(
                rooms=opts.rooms | changes.get("rooms", frozenset()),
                except_rooms=opts.except_rooms | changes.get("except_rooms", frozenset()),
                flags=changes.get("flags", opts.flags),
            ),
        )

    def to(self, rooms: str | Iterable[str]) -> EmitterOperator:
        """Only the sockets in these rooms."""
        return self._with(rooms=room_set(rooms))

    in_ = to

    def except_(self, rooms: str | Iterable[str]) -> EmitterOperator:
        """Not the sockets in these rooms."""
        return self._with(except_rooms=room_set(rooms))

    @property
    def volatile(self) -> EmitterOperator:
        """Dropped for clients that cannot receive it now."""
        flags = self._opts.flags
        return self._with(flags=BroadcastFlags(True, flags.compress))

    def compress(self, compress: bool) -> EmitterOperator:
        """Whether the servers compress the packet (with permessage-deflate on)."""
        return self._with(flags=BroadcastFlags(self._opts.flags.volatile, compress))

    async def emit(self, event: str, *args: Any) -> None:
        """Send ``event`` to the targeted sockets of every server."""
        if event in RESERVED_EVENTS:
            raise ValueError(f'"{event}" is a reserved event name')
        packet = Packet(PacketType.EVENT, self._channels.nsp, [event, *args])
        message = encode_broadcast(EMITTER_UID, packet, self._opts)
        await self._client.publish(self._channels.for_rooms(self._opts.rooms), message)

    async def _request(self, message: dict[str, Any]) -> None:
        opts = {"rooms": sorted(self._opts.rooms), "except": sorted(self._opts.except_rooms)}
        await self._client.publish(self._channels.request, encode_json({**message, "opts": opts}))

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
        message = {
            "uid": EMITTER_UID,
            "type": int(RequestType.SERVER_SIDE_EMIT),
            "data": [event, *args],
        }
        await self._client.publish(self._channels.request, encode_json(message))

    async def close(self) -> None:
        """Close the Redis client if the emitter made it."""
        if self._owns_client:
            await self._client.aclose()
