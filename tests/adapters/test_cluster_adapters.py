"""The adapters of the ClusterAdapter protocol: two tether servers and one Node server on one
real Redis, with ``@socket.io/redis-streams-adapter`` 0.3 (connection state recovery on: a
client that loses its connection comes back on *another* server and recovers) or with the
sharded adapter of ``@socket.io/redis-adapter`` 8 (sharded pub/sub)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import redis

import tether
from tests.adapters.support import NodeClients, NodePeer, tether_server, until_servers
from tests.support import RedisServer, until

pytestmark = [pytest.mark.interop, pytest.mark.cluster]


@dataclass
class StreamsCluster(NodeClients):
    a: tether.Server
    b: tether.Server
    urls: dict[str, str]
    node: NodePeer
    redis: RedisServer
    key: str


@pytest.fixture(params=["streams", "sharded"])
async def adapters(
    request: pytest.FixtureRequest, redis_server: RedisServer
) -> AsyncIterator[StreamsCluster]:
    async with _cluster(redis_server, request.param) as cluster:
        yield cluster


@pytest.fixture
async def streams(redis_server: RedisServer) -> AsyncIterator[StreamsCluster]:
    async with _cluster(redis_server, "streams") as cluster:
        yield cluster


@contextlib.asynccontextmanager
async def _cluster(redis_server: RedisServer, adapter: str) -> AsyncIterator[StreamsCluster]:
    key = "s" + secrets.token_hex(4)
    async with (
        tether_server(redis_server.url, key, "a", adapter=adapter) as (a, url_a),
        tether_server(redis_server.url, key, "b", adapter=adapter) as (b, url_b),
    ):
        node = await NodePeer.start(redis_server.url, key, adapter=adapter)
        try:
            await until_servers(a, 3)
            urls = {"a": url_a, "b": url_b, "n": node.url}
            yield StreamsCluster(a, b, urls, node, redis_server, key)
        finally:
            await node.stop()


async def test_broadcasts_and_requests_cross_every_server(adapters: StreamsCluster) -> None:
    streams = adapters
    recovery = adapters.a.recovery is not None
    ids = {
        name: await streams.node.call(
            "client.connect", name=name, url=url, transports=["websocket"]
        )
        for name, url in streams.urls.items()
    }
    streams.a.emit("from-a", b"\x01")
    await streams.node.call("server.emit", event="from-n", args=[{"k": 1}])
    for name in ids:
        got = await streams.wait_for(name, "from-a")
        assert got[:2] == ["from-a", {"$bin": "01"}]
        if recovery:  # each broadcast carries its stream offset as the last argument
            assert len(got) == 3 and got[2].count("-") == 1
        else:
            assert len(got) == 2
        assert (await streams.wait_for(name, "from-n"))[:2] == ["from-n", {"k": 1}]
    assert sorted(a["from"] for a in await streams.b.timeout(3).emit_with_ack("ask")) == [
        "a",
        "b",
        "n",
    ]
    answers = await streams.node.call("server.emitWithAck", event="ask")
    assert sorted(a["from"] for a in answers) == ["a", "b", "n"]
    sockets = {s.id: s for s in await streams.a.fetch_sockets()}
    assert set(sockets) == set(ids.values())
    assert sockets[ids["n"]].data == {"name": "n", "server": "node"}
    node_view = await streams.node.call("server.fetchSockets")
    assert {s["id"]: s["data"] for s in node_view}[ids["b"]] == {"name": "b", "server": "b"}
    assert sorted(await streams.a.server_side_emit_with_ack("ping-servers", 1)) == [
        "b:1",
        "node:1",
    ]
    assert sorted(
        await streams.node.call("server.serverSideEmitWithAck", event="ping-servers", args=[2])
    ) == ["a:2", "b:2"]
    streams.b.sockets_join("all")
    await until(lambda: "all" in streams.a.sockets.sockets[ids["a"]].rooms, "a joined")
    for _ in range(100):
        rooms = {s["id"]: s["rooms"] for s in await streams.node.call("server.fetchSockets")}
        if "all" in rooms[ids["n"]]:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the Node socket never joined")
    await streams.node.call("server.disconnectSockets", rooms=[ids["a"]])
    await streams.wait_for("a", "#disconnect")


@pytest.mark.parametrize(("first", "second"), [("a", "b"), ("n", "a"), ("b", "n")])
async def test_a_client_recovers_on_another_server(
    streams: StreamsCluster, first: str, second: str
) -> None:
    sid = await streams.node.call(
        "client.connect",
        name="m",
        url=streams.urls[first],
        transports=["websocket"],
        reconnectionDelay=1500,
    )
    await streams.node.call("client.emitWithAck", name="m", event="join", args=["room"])
    streams.a.to("room").emit("before", 1)
    await streams.wait_for("m", "before")
    await streams.node.call("client.moveTo", name="m", url=streams.urls[second])
    await streams.wait_for("m", "#disconnect")
    if first in ("a", "b"):
        server = streams.a if first == "a" else streams.b
        await until(lambda: sid not in server.sockets.sockets, "the server saw it go")
    else:
        await asyncio.sleep(0.2)
    # Sent while the client is away, from every server: it gets them when it comes back.
    streams.b.to("room").emit("missed", "from-b", b"\x02")
    await streams.node.call("server.emit", rooms=["room"], event="missed", args=["from-n"])
    streams.a.to("other-room").emit("not-for-m")
    streams.a.emit("missed", "from-a-to-all")
    connected = await streams.wait_for("m", "#connect", timeout=10)
    assert connected == ["#connect", sid, True]  # the same id, recovered
    state = await streams.node.call("client.state", name="m")
    assert state == {"id": sid, "connected": True, "recovered": True}
    missed = [e for e in await streams.received("m") if e[0] == "missed"]
    # In stream order (between senders that is the order Redis got them in).
    assert sorted(map(str, (e[1:-1] for e in missed))) == sorted(
        map(str, [["from-b", {"$bin": "02"}], ["from-n"], ["from-a-to-all"]])
    )
    offsets = [e[-1] for e in missed]
    assert offsets == sorted(offsets, key=lambda o: tuple(map(int, o.split("-"))))
    assert not [e for e in await streams.received("m") if e[0] == "not-for-m"]
    # It is in its room again, on the new server.
    streams.b.to("room").emit("after")
    await streams.wait_for("m", "after")


async def test_sharded_rooms_have_channels_of_their_own(redis_server: RedisServer) -> None:
    async with _cluster(redis_server, "sharded") as cluster:
        for name in ("a", "n", "b"):
            await cluster.node.call(
                "client.connect", name=name, url=cluster.urls[name], transports=["websocket"]
            )
        for name in ("a", "n"):
            await cluster.node.call("client.emitWithAck", name=name, event="join", args=["lobby"])
        channel = f"{cluster.key}#/#lobby#"

        def shard_subscribers() -> int:
            with redis.Redis(port=redis_server.port) as client:
                return int(client.pubsub_shardnumsub(channel)[0][1])

        await until(lambda: shard_subscribers() == 2, "a and Node subscribed to the room")
        cluster.b.to("lobby").emit("in-lobby")  # b has nobody in the room: not subscribed
        await cluster.wait_for("a", "in-lobby")
        await cluster.wait_for("n", "in-lobby")
        await cluster.node.call("client.emitWithAck", name="a", event="leave", args=["lobby"])
        await until(lambda: shard_subscribers() == 1, "a unsubscribed when the room emptied")
        cluster.b.emit("marker")
        await cluster.wait_for("b", "marker")
        assert not [e for e in await cluster.received("b") if e[0] == "in-lobby"]
