"""The cluster engine over Redis pub/sub (Node's ``RedisEngine`` of
``@socket.io/cluster-engine``): servers behind a load balancer that is not sticky serve each
other's sessions.

::

    io = tether.Server(
        adapter=tether.adapters.redis.create_adapter("redis://127.0.0.1:6379"),
        cluster_engine=tether.adapters.redis.create_engine("redis://127.0.0.1:6379"),
    )

The adapter carries broadcasts between servers; the engine carries the requests a server gets
for sessions it doesn't hold (see :mod:`tether.aio.cluster`). Messages go on the channels
``<channel_prefix>#`` (to every server) and ``<channel_prefix>#<node id>#`` (to one).
"""

from __future__ import annotations

from collections.abc import Callable

import redis.asyncio as aioredis

from tether.adapters.redis.link import RedisLink
from tether.eio.cluster import ClusterOptions

__all__ = ["ClusterOptions", "RedisEngine", "create_engine"]


class RedisEngine:
    """The bus of the cluster engine over Redis pub/sub (a
    :class:`~tether.eio.cluster.ClusterBus`): give it to ``tether.Server(cluster_engine=...)``.
    """

    def __init__(self, link: RedisLink, options: ClusterOptions | None = None) -> None:
        self.link = link
        self.options = options or ClusterOptions()
        self._channels: list[str] = []

    @property
    def available(self) -> bool:
        return self.link.connected

    def publish(self, channel: str, data: bytes) -> None:
        self.link.publish(channel, data)

    async def start(self, channels: list[str], on_data: Callable[[bytes], None]) -> None:
        self._channels = list(channels)
        self.link.add({}, dict.fromkeys(channels, lambda channel, data: on_data(data)))
        await self.link.wait_subscribed(self._channels)

    async def close(self) -> None:
        await self.link.close()


def create_engine(
    redis: str | aioredis.Redis = "redis://127.0.0.1:6379",
    *,
    channel_prefix: str = "engine.io",
    response_timeout: float = 1.0,
    noop_upgrade_interval: float = 0.2,
    delayed_connection_timeout: float = 0.3,
    max_pending: int = 10_000,
) -> RedisEngine:
    """A cluster engine over Redis, for ``tether.Server(cluster_engine=...)``.

    Args:
        redis: a URL (a client of its own is made, and closed with the server), or a
            ``redis.asyncio.Redis`` client (left open).
        channel_prefix: the prefix of its channels (Node's default, ``engine.io``).
        response_timeout: seconds to wait for the owner of a session (see
            :class:`~tether.eio.cluster.ClusterOptions`).
        noop_upgrade_interval: seconds before the owner frees the pending GET of a client
            upgrading on another server.
        delayed_connection_timeout: seconds a new polling session waits before it is handed
            to the Socket.IO layer (it moves whole to the server it upgrades on meanwhile).
        max_pending: messages kept while Redis is unreachable (the oldest are dropped).
    """
    options = ClusterOptions(
        response_timeout=response_timeout,
        noop_upgrade_interval=noop_upgrade_interval,
        delayed_connection_timeout=delayed_connection_timeout,
        channel_prefix=channel_prefix,
    )
    return RedisEngine(RedisLink.connect(redis, max_pending), options)
