"""The sharded Redis adapter, on the wire of Node's ``createShardedAdapter`` (from
``@socket.io/redis-adapter`` 8): sharded pub/sub (``SPUBLISH``/``SSUBSCRIBE``, Redis 7), so
that a Redis Cluster spreads the channels over its nodes.

    from tether.adapters.redis.sharded import create_adapter

    io = tether.Server(adapter=create_adapter("redis://127.0.0.1:6379/0"))

Channels: ``<prefix>#<nsp>#`` for every server, ``<prefix>#<nsp>#<uid>#`` for one server's
answers and, in the ``"dynamic"`` subscription mode (the default), ``<prefix>#<nsp>#<room>#``
for a broadcast to one public room: only the servers with a member in that room subscribe
to it. Messages are JSON, MessagePack when they carry binary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Literal

import orjson
import redis.asyncio as aioredis

from tether.adapters import notepack
from tether.adapters.base import NamespaceLike
from tether.adapters.cluster.adapter import (
    MAY_CONTAIN_BINARY,
    ClusterAdapter,
    MessageType,
    has_binary,
)
from tether.adapters.cluster.wire import encode_json
from tether.adapters.redis.link import Handler, RedisLink

__all__ = ["ShardedAdapterFactory", "ShardedRedisAdapter", "create_adapter"]

log = logging.getLogger("tether.redis")

SubscriptionMode = Literal["static", "dynamic", "dynamic-private"]

#: Socket ids are 20 characters: a one-room broadcast to such a room uses the main channel
#: in the "dynamic" mode (Node tells them apart the same way).
_SOCKET_ID_LENGTH = 20


def encode(message: dict[str, Any]) -> bytes:
    """A message as Node's sharded adapter sends it."""
    if message["type"] in MAY_CONTAIN_BINARY and has_binary(message.get("data")):
        return notepack.pack(message)
    return encode_json(message)


def decode(data: bytes) -> Any:
    """A message from the channels: JSON when it starts with ``{``, else MessagePack."""
    return orjson.loads(data) if data[:1] == b"{" else notepack.unpack(data)


class ShardedRedisAdapter(ClusterAdapter):
    """Rooms of one namespace in memory, the rest of the cluster through sharded pub/sub."""

    def __init__(
        self,
        nsp: NamespaceLike,
        link: RedisLink,
        *,
        channel_prefix: str = "socket.io",
        subscription_mode: SubscriptionMode = "dynamic",
        requests_timeout: float = 5.0,
    ) -> None:
        super().__init__(nsp, requests_timeout=requests_timeout)
        self.link = link
        self.subscription_mode = subscription_mode
        self.channel = f"{channel_prefix}#{nsp.name}#"
        self.response_channel = f"{self.channel}{self.uid}#"
        self._room_channels: set[str] = set()
        link.add({}, {}, {self.channel: self._on_raw, self.response_channel: self._on_raw})

    async def init(self) -> None:
        """Wait until Redis confirms the subscriptions."""
        await self.link.wait_subscribed([self.channel, self.response_channel])

    async def close(self) -> None:
        """Unsubscribe this namespace."""
        channels = [self.channel, self.response_channel, *self._room_channels]
        self._room_channels.clear()
        self.link.remove([], [], channels)

    # -- rooms with a channel of their own --------------------------------------------------

    def _own_channel(self, room: str) -> bool:
        if self.subscription_mode == "dynamic-private":
            return True
        return self.subscription_mode == "dynamic" and room not in self.sids

    def add_all(self, sid: str, rooms: Iterable[str]) -> None:
        rooms = list(rooms)
        created = [r for r in rooms if r not in self.rooms]
        super().add_all(sid, rooms)
        self._subscribe_rooms(created)

    def delete(self, sid: str, room: str) -> None:
        super().delete(sid, room)
        if room not in self.rooms:
            self._unsubscribe_rooms([room])

    def delete_all(self, sid: str) -> None:
        rooms = self.sids.get(sid, set()).copy()
        super().delete_all(sid)
        self._unsubscribe_rooms([r for r in rooms if r not in self.rooms])

    def _subscribe_rooms(self, rooms: list[str]) -> None:
        if self.subscription_mode == "static":
            return
        channels: dict[str, Handler] = {
            f"{self.channel}{room}#": self._on_raw
            for room in rooms
            if self._own_channel(room) and f"{self.channel}{room}#" not in self._room_channels
        }
        if channels:
            self._room_channels.update(channels)
            self.link.add({}, {}, channels)

    def _unsubscribe_rooms(self, rooms: list[str]) -> None:
        channels = [
            c for c in (f"{self.channel}{room}#" for room in rooms) if c in self._room_channels
        ]
        if channels:
            self._room_channels.difference_update(channels)
            self.link.remove([], [], channels)

    # -- transport --------------------------------------------------------------------------

    def _channel_for(self, message: dict[str, Any]) -> str:
        # A broadcast with acks uses the main channel: every server must report its count.
        if message["type"] == MessageType.BROADCAST and self.subscription_mode != "static":
            data = message["data"]
            rooms = data["opts"]["rooms"]
            if "requestId" not in data and len(rooms) == 1:
                room = rooms[0]
                private_like = len(room) == _SOCKET_ID_LENGTH
                if self.subscription_mode == "dynamic-private" or not private_like:
                    return f"{self.channel}{room}#"
        return self.channel

    def _publish(self, message: dict[str, Any], done: Callable[[str | None], None] | None) -> None:
        self.link.send(("SPUBLISH", self._channel_for(message), encode(message)))
        if done is not None:
            done(None)

    def _publish_response(self, uid: str, response: dict[str, Any]) -> None:
        self.link.send(("SPUBLISH", f"{self.channel}{uid}#", encode(response)))

    def _on_raw(self, channel: str, data: bytes) -> None:
        try:
            message = decode(data)
        except (orjson.JSONDecodeError, notepack.NotepackError) as exc:
            log.warning("ignoring a message on %s: %s", channel, exc)
            return
        if channel == self.response_channel:
            if isinstance(message, dict):
                self.on_response(message)
        else:
            self.on_message(message)

    async def server_count(self) -> int:
        """Servers subscribed to this namespace's channel (1 when Redis is away)."""
        count = await self.link.numsub(self.channel, shard=True)
        return max(count or 1, 1)


class ShardedAdapterFactory:
    """Makes the adapter of each namespace of one server (one shared Redis link)."""

    def __init__(self, link: RedisLink, **options: Any) -> None:
        self.link = link
        self.options = options

    def __call__(self, nsp: NamespaceLike) -> ShardedRedisAdapter:
        return ShardedRedisAdapter(nsp, self.link, **self.options)

    async def close(self) -> None:
        """Close the link to Redis."""
        await self.link.close()


def create_adapter(
    redis: str | aioredis.Redis = "redis://127.0.0.1:6379/0",
    *,
    channel_prefix: str = "socket.io",
    subscription_mode: SubscriptionMode = "dynamic",
    requests_timeout: float = 5.0,
    max_pending: int = 10_000,
    stall_after: float = 5.0,
) -> ShardedAdapterFactory:
    """The sharded Redis adapter for ``tether.Server(adapter=...)``, like Node's
    ``createShardedAdapter``.

    ``subscription_mode``: ``"static"`` (two channels per namespace), ``"dynamic"`` (also
    one per public room: a broadcast to one room reaches only the servers that have it) or
    ``"dynamic-private"`` (socket rooms too). ``requests_timeout``: how long
    ``fetch_sockets`` waits for the other servers (seconds). ``max_pending``: commands kept
    while Redis is unreachable. ``stall_after``: seconds a command may wait for Redis's reply
    before a WARNING says (once) that Redis is not answering; an INFO says when it answers
    again.
    """
    return ShardedAdapterFactory(
        RedisLink.connect(redis, max_pending, stall_after),
        channel_prefix=channel_prefix,
        subscription_mode=subscription_mode,
        requests_timeout=requests_timeout,
    )
