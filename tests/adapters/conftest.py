"""Fixtures of the cluster tests: a cluster of two tether servers and one Node socket.io
server on a real redis-server (``redis_server``, in tests/conftest.py), with official clients
on each."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

import tether
from tests.adapters.support import NodeClients, NodePeer, tether_server, until_servers
from tests.support import RedisServer


@dataclass
class Cluster(NodeClients):
    redis: RedisServer
    key: str
    a: tether.Server
    b: tether.Server
    url_a: str
    url_b: str
    node: NodePeer

    @property
    def urls(self) -> dict[str, str]:
        return {"a": self.url_a, "b": self.url_b, "n": self.node.url}

    async def connect_clients(self, transports: list[str] | None = None) -> dict[str, str]:
        """One official client per server, named a, b (tether) and n (Node); their ids."""
        ids = {}
        for name, url in self.urls.items():
            ids[name] = await self.node.call(
                "client.connect", name=name, url=url, transports=transports
            )
        return ids


@pytest.fixture
async def cluster(redis_server: RedisServer) -> AsyncIterator[Cluster]:
    key = "t" + secrets.token_hex(4)
    async with (
        tether_server(redis_server.url, key, "a") as (a, url_a),
        tether_server(redis_server.url, key, "b") as (b, url_b),
    ):
        node = await NodePeer.start(redis_server.url, key)
        try:
            await until_servers(a, 3)  # Node's subscriptions are confirmed
            yield Cluster(redis_server, key, a, b, url_a, url_b, node)
        finally:
            await node.stop()
