"""The ``/admin`` namespace (tether.admin.instrument) as the official admin UI uses it: the
official ``socket.io-client`` (Node) on both sides, the UI's and the application's."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator

import bcrypt
import pytest

import tether
from tests.admin.support import NodeClient
from tests.support import RedisServer, serving
from tether.admin import instrument

pytestmark = pytest.mark.interop

# Cheapest cost: the tests check the protocol, not bcrypt's strength.
HASH = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
ACTIONS = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"]


def app_server(**options: object) -> tether.Server:
    io = tether.Server(**options)  # type: ignore[arg-type]

    @io.on("join")
    def join(socket: tether.Socket, room: str) -> str:
        socket.join(room)
        return room

    @io.on("echo")
    def echo(socket: tether.Socket, *args: object) -> None:
        socket.emit("echoed", *args)

    return io


@pytest.fixture
async def clients() -> AsyncIterator[list[NodeClient]]:
    started: list[NodeClient] = []
    yield started
    for client in started:
        await client.close()


async def start(clients: list[NodeClient], *args: object, **kwargs: object) -> NodeClient:
    client = await NodeClient.start(*args, **kwargs)  # type: ignore[arg-type]
    clients.append(client)
    return client


async def test_development_mode_shows_sockets_rooms_and_events(clients: list[NodeClient]) -> None:
    io = app_server()
    admin = instrument(io, auth=False, server_id="one")
    async with serving(io) as port:
        await io.start()
        url = f"http://127.0.0.1:{port}"
        app = await start(clients, url, "/", transports=("polling", "websocket"))
        sid = await app.connected()
        ui = await start(clients, url, "/admin")
        await ui.connected()
        config = await ui.event("config")
        assert config == [{"supportedFeatures": [*ACTIONS, "AGGREGATED_EVENTS", "ALL_EVENTS"]}]
        [listed] = await ui.event("all_sockets")
        [mine] = [s for s in listed if s["id"] == sid]
        assert mine["nsp"] == "/" and mine["rooms"] == [sid]
        assert mine["transport"] in ("polling", "websocket")
        assert mine["handshake"]["address"] == "127.0.0.1"
        assert mine["handshake"]["url"].startswith("/socket.io/")
        assert "auth" not in mine["handshake"] and mine["data"] == {}
        [stats] = await ui.event("server_stats", lambda a: a[0]["clientsCount"] == 2)
        assert stats["serverId"] == "one"
        assert {"name": "/", "socketsCount": 1} in stats["namespaces"]

        # A socket connecting, joining a room, sending and receiving: all seen.
        other = await start(clients, url, "/")
        other_sid = await other.connected()
        [connected, _] = await ui.event("socket_connected", lambda a: a[0]["id"] == other_sid)
        assert connected["transport"] == "websocket" and connected["rooms"] == [other_sid]
        other.emit("join", "lobby")
        joined = await ui.event("room_joined", lambda a: a[1] == "lobby")
        assert joined[:3] == ["/", "lobby", other_sid]
        assert joined[3].endswith("Z")  # a JavaScript Date as JSON
        other.emit("echo", 1, "two")
        received = await ui.event("event_received", lambda a: a[2][0] == "echo")
        assert received[:3] == ["/", other_sid, ["echo", 1, "two"]]
        sent = await ui.event("event_sent", lambda a: a[2][0] == "echoed")
        assert sent[:3] == ["/", other_sid, ["echoed", 1, "two"]]

        # The UI's actions: emit to a room, make sockets join and leave, disconnect one.
        ui.emit("emit", "/", "lobby", "hello", {"from": "ui"})
        assert await other.event("hello") == [{"from": "ui"}]
        ui.emit("join", "/", "vip", other_sid)
        await ui.event("room_joined", lambda a: a[1:3] == ["vip", other_sid])
        ui.emit("leave", "/", "vip", other_sid)
        await ui.event("room_left", lambda a: a[1:3] == ["vip", other_sid])
        ui.emit("_disconnect", "/", False, other_sid)
        await other.expect(lambda line: line.get("disconnect") == "io server disconnect", "kick")
        gone = await ui.event("socket_disconnected", lambda a: a[1] == other_sid)
        assert gone[:3] == ["/", other_sid, "server namespace disconnect"]
        await ui.event("room_left", lambda a: a[1:3] == ["lobby", other_sid])
        assert sid in io.sockets.sockets and other_sid not in io.sockets.sockets

        # A client that upgrades from long-polling: its transport is updated.
        late = await start(clients, url, "/", transports=("polling", "websocket"))
        late_sid = await late.connected()
        updated = await ui.event(
            "socket_updated", lambda a: a[0]["id"] == late_sid and "transport" in a[0]
        )
        assert updated[0] == {"id": late_sid, "nsp": "/", "transport": "websocket"}

        # The aggregated events of the charts: connections and packets.
        def counted(args: list[dict[str, object]]) -> bool:
            kinds = {e["type"] for e in args[0]["aggregatedEvents"]}  # type: ignore[union-attr]
            return {"rawConnection", "packetsIn", "bytesIn", "packetsOut"} <= kinds

        await ui.event("server_stats", counted)
        admin.stop()


async def test_basic_auth_with_a_bcrypt_hash_and_the_session_it_gives(
    clients: list[NodeClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "tether")
    io = app_server()
    admin = instrument(io, auth={"type": "basic", "username": "admin", "password": HASH})
    async with serving(io) as port:
        url = f"http://127.0.0.1:{port}"
        wrong = await start(clients, url, "/admin", auth={"username": "admin", "password": "x"})
        refused = await wrong.expect(lambda line: "connect_error" in line, "refusal")
        assert refused == {"connect_error": "invalid credentials"}
        assert "admin UI login refused: invalid credentials" in caplog.text
        nobody = await start(
            clients, url, "/admin", auth={"username": "root", "password": "s3cret"}
        )
        await nobody.expect(lambda line: "connect_error" in line, "refusal")

        ui = await start(clients, url, "/admin", auth={"username": "admin", "password": "s3cret"})
        await ui.connected()
        [session] = await ui.event("session")
        assert isinstance(session, str) and len(session) == 16
        await ui.event("config")
        # The UI comes back with its session id alone.
        again = await start(clients, url, "/admin", auth={"sessionId": session})
        await again.connected()
        forged = await start(clients, url, "/admin", auth={"sessionId": "0" * 16})
        await forged.expect(lambda line: "connect_error" in line, "refusal")
    admin.stop()


def test_auth_must_be_explicit_and_a_password_a_bcrypt_hash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(TypeError):
        instrument(tether.Server())  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="bcrypt hash"):
        instrument(tether.Server(), auth={"username": "admin", "password": "s3cret"})
    with pytest.raises(ValueError):
        instrument(tether.Server(), auth=True)
    # Without bcrypt installed a hash cannot be checked: refused at once (fails closed).
    monkeypatch.setitem(sys.modules, "bcrypt", None)
    with pytest.raises(RuntimeError, match="tether\\[admin\\]"):
        instrument(tether.Server(), auth={"username": "admin", "password": HASH})


async def test_read_only_offers_no_action_and_ignores_them(clients: list[NodeClient]) -> None:
    io = app_server()
    admin = instrument(io, auth=False, read_only=True)
    async with serving(io) as port:
        url = f"http://127.0.0.1:{port}"
        app = await start(clients, url, "/")
        sid = await app.connected()
        ui = await start(clients, url, "/admin")
        await ui.connected()
        assert await ui.event("config") == [
            {"supportedFeatures": ["AGGREGATED_EVENTS", "ALL_EVENTS"]}
        ]
        ui.emit("_disconnect", "/", False, sid)
        ui.emit("emit", "/", None, "hello")
        app.emit("echo", "still here")
        assert await app.event("echoed") == ["still here"]
        assert not any(line.get("event") == "hello" for line in app.seen)
        assert sid in io.sockets.sockets
    admin.stop()


async def test_production_mode_sends_stats_only(clients: list[NodeClient]) -> None:
    io = app_server()
    admin = instrument(io, auth=False, mode="production", server_id="prod")
    assert io.monitor is None and io.sockets.monitor is None
    async with serving(io) as port:
        await io.start()
        url = f"http://127.0.0.1:{port}"
        ui = await start(clients, url, "/admin")
        await ui.connected()
        assert await ui.event("config") == [{"supportedFeatures": [*ACTIONS, "AGGREGATED_EVENTS"]}]
        app = await start(clients, url, "/")
        await app.connected()
        app.emit("echo", 1)
        await app.event("echoed")
        [stats] = await ui.event(
            "server_stats", lambda a: {"name": "/", "socketsCount": 1} in a[0]["namespaces"]
        )
        assert stats["serverId"] == "prod" and stats["clientsCount"] == 2
        assert not any(
            line.get("event") in ("all_sockets", "socket_connected", "event_received")
            for line in ui.seen
        )
    admin.stop()


async def test_a_cluster_on_redis_every_server_seen_and_acted_on(
    clients: list[NodeClient], redis_server: RedisServer
) -> None:
    from tether.adapters.redis import create_adapter

    servers = [app_server(adapter=create_adapter(redis_server.url)) for _ in range(2)]
    admins = [
        instrument(io, auth=False, server_id=name) for io, name in zip(servers, "AB", strict=True)
    ]
    async with serving(servers[0]) as port_a, serving(servers[1]) as port_b:
        for io in servers:
            await io.start()
        on_b = await start(clients, f"http://127.0.0.1:{port_b}", "/")
        sid_b = await on_b.connected()
        on_b.emit("join", "lobby")
        ui = await start(clients, f"http://127.0.0.1:{port_a}", "/admin")
        await ui.connected()
        await ui.event("server_stats", lambda a: a[0]["serverId"] == "A")
        await ui.event("server_stats", lambda a: a[0]["serverId"] == "B")
        [listed] = await ui.event("all_sockets")
        [remote] = [s for s in listed if s["id"] == sid_b]
        assert remote["transport"] == "websocket" and "lobby" in remote["rooms"]
        # What happens on B reaches the UI connected to A; its actions reach B's sockets.
        on_b.emit("echo", "x")
        await ui.event("event_received", lambda a: a[1] == sid_b and a[2] == ["echo", "x"])
        ui.emit("_disconnect", "/", False, sid_b)
        await on_b.expect(lambda line: line.get("disconnect") == "io server disconnect", "kick")
        await ui.event("socket_disconnected", lambda a: a[1] == sid_b)
    for admin in admins:
        admin.stop()
    for io in servers:
        await io.close_adapters()


async def test_the_ui_with_the_msgpack_parser(clients: list[NodeClient]) -> None:
    # The admin UI has a "MessagePack parser" option, for a server with parser="msgpack".
    io = app_server(parser="msgpack")
    instrument(io, auth=False, server_id="mp")
    async with serving(io) as port:
        await io.start()
        url = f"http://127.0.0.1:{port}"
        app = await start(clients, url, "/", parser="msgpack")
        sid = await app.connected()
        ui = await start(clients, url, "/admin", parser="msgpack")
        await ui.connected()
        assert (await ui.event("config"))[0]["supportedFeatures"][:2] == ["EMIT", "JOIN"]
        [listed] = await ui.event("all_sockets")
        assert sid in [s["id"] for s in listed]
        [stats] = await ui.event("server_stats", lambda a: a[0]["clientsCount"] == 2)
        assert stats["serverId"] == "mp"
        app.emit("echo", "hi")
        assert await app.event("echoed") == ["hi"]
