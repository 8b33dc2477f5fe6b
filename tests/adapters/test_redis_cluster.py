"""Two tether servers and one Node socket.io server (``@socket.io/redis-adapter`` 8) on one
real Redis, with an official ``socket.io-client`` on each: every cluster operation, started
from tether and from Node."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import tether
from tests.adapters.conftest import Cluster
from tests.support import until
from tether.adapters.redis.emitter import Emitter

pytestmark = [pytest.mark.interop, pytest.mark.cluster]


async def events(cluster: Cluster, name: str, event: str) -> list[list[Any]]:
    return [e for e in await cluster.received(name) if e[0] == event]


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
async def test_a_broadcast_from_each_server_reaches_the_clients_of_all(
    cluster: Cluster, transports: list[str]
) -> None:
    await cluster.connect_clients(transports)
    cluster.a.emit("from-a", 1, b"\x01\x02", {"nested": [b"\xff"]})
    await cluster.node.call("server.emit", event="from-n", args=[2, {"$bin": "0304"}])
    cluster.b.emit("from-b", "three")
    for name in ("a", "b", "n"):
        assert await cluster.wait_for(name, "from-a") == [
            "from-a",
            1,
            {"$bin": "0102"},
            {"nested": [{"$bin": "ff"}]},
        ]
        assert await cluster.wait_for(name, "from-n") == ["from-n", 2, {"$bin": "0304"}]
        assert await cluster.wait_for(name, "from-b") == ["from-b", "three"]


async def test_rooms_and_exceptions_hold_across_servers(cluster: Cluster) -> None:
    await cluster.connect_clients(["websocket"])
    for name, rooms in {"a": ["red"], "b": ["red", "blue"], "n": ["blue"]}.items():
        for room in rooms:
            await cluster.node.call("client.emitWithAck", name=name, event="join", args=[room])
    cluster.a.to("red").emit("red-only")
    cluster.b.to("blue").except_("red").emit("blue-not-red")
    await cluster.node.call("server.emit", rooms=["red"], event="red-from-node")
    await cluster.node.call(
        "server.emit", rooms=["blue"], event="n-blue-not-red", **{"except": ["red"]}
    )
    # Markers sent last to everyone by both senders: once they are in, the rest is in (the
    # order from one sender is kept; between senders it is not defined).
    cluster.a.emit("marker-a")
    await cluster.node.call("server.emit", event="marker-n")
    for name in ("a", "b", "n"):
        await cluster.wait_for(name, "marker-a")
        await cluster.wait_for(name, "marker-n")
    got = {
        name: {e[0] for e in await cluster.received(name)} - {"marker-a", "marker-n"}
        for name in "abn"
    }
    assert got == {
        "a": {"red-only", "red-from-node"},
        "b": {"red-only", "red-from-node"},
        "n": {"blue-not-red", "n-blue-not-red"},
    }


async def test_acks_come_back_from_clients_on_every_server(cluster: Cluster) -> None:
    await cluster.connect_clients(["websocket"])
    answers = await cluster.a.timeout(3).emit_with_ack("ask", 1)
    assert sorted(a["from"] for a in answers) == ["a", "b", "n"]
    answers = await cluster.node.call("server.emitWithAck", event="ask", args=[2])
    assert sorted(a["from"] for a in answers) == ["a", "b", "n"]
    await cluster.node.call("client.emitWithAck", name="b", event="join", args=["x"])
    answers = await cluster.b.to("x").timeout(3).emit_with_ack("ask")
    assert answers == [{"from": "b", "event": "ask"}]


async def test_fetch_sockets_sees_every_server(cluster: Cluster) -> None:
    ids = await cluster.connect_clients(["websocket"])
    await cluster.node.call("client.emitWithAck", name="n", event="join", args=["room-n"])
    sockets = await cluster.a.fetch_sockets()
    by_id = {s.id: s for s in sockets}
    assert set(by_id) == set(ids.values())
    local = by_id[ids["a"]]
    assert isinstance(local, tether.Socket)
    remote = by_id[ids["n"]]
    assert isinstance(remote, tether.RemoteSocket)
    assert remote.data == {"name": "n", "server": "node"}
    assert remote.handshake.auth == {"name": "n"}
    assert remote.rooms == {ids["n"], "room-n"}
    assert by_id[ids["b"]].data == {"name": "b", "server": "b"}
    only_room = await cluster.a.to("room-n").fetch_sockets()
    assert [s.id for s in only_room] == [ids["n"]]

    from_node = await cluster.node.call("server.fetchSockets")
    assert sorted(s["id"] for s in from_node) == sorted(ids.values())
    seen = {s["id"]: s for s in from_node}
    assert seen[ids["a"]]["data"] == {"name": "a", "server": "a"}
    assert seen[ids["a"]]["auth"] == {"name": "a"}
    assert seen[ids["b"]]["rooms"] == [ids["b"]]


async def test_remote_sockets_act_on_the_real_socket(cluster: Cluster) -> None:
    ids = await cluster.connect_clients(["websocket"])
    remote = next(s for s in await cluster.a.fetch_sockets() if s.id == ids["n"])
    remote.emit("direct", "to-n")
    assert await cluster.wait_for("n", "direct") == ["direct", "to-n"]
    assert await remote.timeout(3).emit_with_ack("ask") == {"from": "n", "event": "ask"}
    remote.join("joined-remotely")
    await until_rooms(cluster, ids["n"], "joined-remotely", present=True)
    remote.leave("joined-remotely")
    await until_rooms(cluster, ids["n"], "joined-remotely", present=False)
    remote.disconnect()
    assert await cluster.wait_for("n", "#disconnect") == [
        "#disconnect",
        "io server disconnect",
    ]
    # From Node, on a socket of tether b.
    await cluster.node.call("server.remoteSocket", sid=ids["b"], action="join", room="r")
    await until(lambda: "r" in cluster.b.sockets.sockets[ids["b"]].rooms, "b joined r")
    answer = await cluster.node.call(
        "server.remoteSocket", sid=ids["b"], action="emitWithAck", event="ask"
    )
    assert answer == {"from": "b", "event": "ask"}
    await cluster.node.call("server.remoteSocket", sid=ids["b"], action="disconnect")
    await cluster.wait_for("b", "#disconnect")


async def until_rooms(cluster: Cluster, sid: str, room: str, present: bool) -> None:
    for _ in range(250):
        sockets = await cluster.node.call("server.fetchSockets")
        rooms = next(s["rooms"] for s in sockets if s["id"] == sid)
        if (room in rooms) == present:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{sid} rooms never {'had' if present else 'lost'} {room}")


async def test_sockets_join_leave_and_disconnect_across_servers(cluster: Cluster) -> None:
    ids = await cluster.connect_clients(["websocket"])
    cluster.a.sockets_join("everyone")
    await until_rooms(cluster, ids["n"], "everyone", present=True)
    await until(lambda: "everyone" in cluster.b.sockets.sockets[ids["b"]].rooms, "b joined")
    assert "everyone" in cluster.a.sockets.sockets[ids["a"]].rooms
    await cluster.node.call("server.socketsLeave", rooms=[ids["a"]], leave="everyone")
    await until(lambda: "everyone" not in cluster.a.sockets.sockets[ids["a"]].rooms, "a left")
    cluster.b.to(ids["n"]).disconnect_sockets()
    await cluster.wait_for("n", "#disconnect")
    await cluster.node.call("server.disconnectSockets", rooms=["everyone"])
    await cluster.wait_for("b", "#disconnect")
    assert await cluster.node.call("client.connected", name="a") is True


async def test_server_side_emit_with_and_without_acks(cluster: Cluster) -> None:
    answers = await cluster.a.server_side_emit_with_ack("ping-servers", 1, "x")
    assert sorted(answers) == ["b:1,x", "node:1,x"]
    answers = await cluster.node.call(
        "server.serverSideEmitWithAck", event="ping-servers", args=[2]
    )
    assert sorted(answers) == ["a:2", "b:2"]
    cluster.b.server_side_emit("note", {"k": [1, 2]})
    await until(lambda: cluster.a.server_side_events[-1:] == [[{"k": [1, 2]}]], "note at a")  # type: ignore[attr-defined]
    for_node = await cluster.node.call("server.serverSideEvents")
    assert [2] not in for_node  # Node does not deliver its own
    for _ in range(250):
        if [{"k": [1, 2]}] in await cluster.node.call("server.serverSideEvents"):
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("Node never got the note")


async def test_all_rooms_and_server_count(cluster: Cluster) -> None:
    ids = await cluster.connect_clients(["websocket"])
    await cluster.node.call("client.emitWithAck", name="a", event="join", args=["ra"])
    await cluster.node.call("client.emitWithAck", name="n", event="join", args=["rn"])
    assert await cluster.b.server_count() == 3
    assert await cluster.node.call("server.serverCount") == 3
    expected = {"ra", "rn", *ids.values()}
    assert await cluster.b.all_rooms() == expected
    assert set(await cluster.node.call("server.allRooms")) == expected


async def test_emitters_reach_every_server(cluster: Cluster) -> None:
    ids = await cluster.connect_clients(["websocket"])
    await cluster.node.call("emitter.emit", event="from-node-emitter", args=[{"$bin": "aa"}])
    emitter = Emitter(cluster.redis.url, key=cluster.key)
    try:
        await emitter.emit("from-py-emitter", b"\xbb", 7)
        for name in ("a", "b", "n"):
            assert await cluster.wait_for(name, "from-node-emitter") == [
                "from-node-emitter",
                {"$bin": "aa"},
            ]
            assert await cluster.wait_for(name, "from-py-emitter") == [
                "from-py-emitter",
                {"$bin": "bb"},
                7,
            ]
        await emitter.to(ids["n"]).sockets_join("by-emitter")
        await until_rooms(cluster, ids["n"], "by-emitter", present=True)
        await emitter.to("by-emitter").emit("only-n")
        await cluster.node.call("emitter.socketsJoin", rooms=[ids["a"]], join="node-emitted")
        await until(lambda: "node-emitted" in cluster.a.sockets.sockets[ids["a"]].rooms, "joined")
        await emitter.server_side_emit("note", "from-emitter")
        await until(
            lambda: ["from-emitter"] in cluster.b.server_side_events,  # type: ignore[attr-defined]
            "server-side emit from the emitter",
        )
        await cluster.wait_for("n", "only-n")
        assert await events(cluster, "a", "only-n") == []
    finally:
        await emitter.close()
