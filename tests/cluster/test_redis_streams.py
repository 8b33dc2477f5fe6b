"""The Redis Streams adapter: two tether servers and one Node server with
``@socket.io/redis-streams-adapter`` 0.3 on one real Redis, connection state recovery on.
A client that loses its connection comes back on *another* server and recovers."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

import tether
from tests.cluster.support import NodePeer, RedisServer, tether_server, until

pytestmark = [pytest.mark.interop, pytest.mark.cluster]


@dataclass
class StreamsCluster:
    a: tether.Server
    b: tether.Server
    urls: dict[str, str]
    node: NodePeer

    async def received(self, name: str) -> list[list[Any]]:
        result: list[list[Any]] = await self.node.call("client.received", name=name)
        return result

    async def wait_for(self, name: str, event: str, timeout: float = 5.0) -> list[Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for entry in await self.received(name):
                if entry[0] == event:
                    return entry
            await asyncio.sleep(0.02)
        raise AssertionError(f"{name} never received {event}: {await self.received(name)}")


@pytest.fixture
async def streams(redis_server: RedisServer) -> AsyncIterator[StreamsCluster]:
    key = "s" + secrets.token_hex(4)
    async with (
        tether_server(redis_server.url, key, "a", adapter="streams") as (a, url_a),
        tether_server(redis_server.url, key, "b", adapter="streams") as (b, url_b),
    ):
        node = await NodePeer.start(redis_server.url, key, adapter="streams")
        try:
            yield StreamsCluster(a, b, {"a": url_a, "b": url_b, "n": node.url}, node)
        finally:
            await node.stop()


async def test_broadcasts_and_requests_cross_every_server(streams: StreamsCluster) -> None:
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
        # With recovery on, each broadcast carries its stream offset as the last argument.
        assert got[:2] == ["from-a", {"$bin": "01"}] and got[2].count("-") == 1
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
