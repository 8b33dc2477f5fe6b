"""The Socket.IO server's features, over loopback WebSocket with a minimal client."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import pytest

import tether
from tests.server.helpers import GATE_REFUSAL, SioClient, add_gates
from tests.support import serving
from tether.sio import PacketType


async def test_connect_emit_and_ack_both_ways() -> None:
    io = tether.Server()
    seen: list[Any] = []

    @io.on("connection")
    def connected(socket: tether.Socket) -> None:
        seen.append(("auth", socket.handshake.auth, socket.handshake.query.get("x")))
        socket.emit("welcome", socket.id)

    @io.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    @io.on("note")
    async def note(socket: tether.Socket, text: str) -> None:
        seen.append(("note", text))
        answer = await socket.emit_with_ack("question", "ready?", timeout=2)
        seen.append(("answer", answer))

    async with serving(io) as port:
        client = await SioClient.open(port, "&x=1")
        connected_packet = await client.connect(auth={"token": "t"})
        assert connected_packet.type is PacketType.CONNECT
        sid = connected_packet.data["sid"]
        # The CONNECT answer comes before what the connection handler emits.
        assert await client.event() == ["welcome", sid]
        assert await client.call("echo", 1, "two", {"three": [3]}) == [1, "two", {"three": [3]}]
        assert await client.call("echo") == []
        client.emit("note", "hi")
        question = await client.next()
        assert question.data == ["question", "ready?"]
        client.ack(question.id, "yes")
        await asyncio.sleep(0.05)
        assert seen == [("auth", {"token": "t"}, "1"), ("note", "hi"), ("answer", "yes")]
        await client.close()


async def test_binary_arguments_both_ways() -> None:
    io = tether.Server()

    @io.on("file")
    def file(socket: tether.Socket, meta: dict[str, Any], data: bytes) -> Any:
        return {"name": meta["name"], "size": len(data), "echo": data, "nested": [data[:1]]}

    async with serving(io) as port:
        client = await SioClient.open(port)
        await client.connect()
        (answer,) = await client.call("file", {"name": "a"}, b"\x00\x01\x02")
        assert answer == {"name": "a", "size": 3, "echo": b"\x00\x01\x02", "nested": [b"\x00"]}
        await client.close()


async def test_handler_errors_are_logged_and_the_connection_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    io = tether.Server()

    @io.on("boom")
    def boom(socket: tether.Socket) -> None:
        raise RuntimeError("kaput")

    @io.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    async with serving(io) as port:
        client = await SioClient.open(port)
        await client.connect()
        with caplog.at_level(logging.ERROR, logger="tether"):
            client.emit("boom")
            assert await client.call("echo", "still") == ["still"]
        assert "'boom'" in caplog.text and "kaput" in caplog.text
        await client.close()


async def test_namespaces_middlewares_and_connect_errors() -> None:
    io = tether.Server()
    admin = io.of("/admin")

    @admin.use
    def check(socket: tether.Socket) -> None:
        if socket.handshake.auth.get("token") != "secret":
            raise tether.ConnectionRefusedError("not authorized", {"code": 401})

    @admin.on("whoami")
    def whoami(socket: tether.Socket) -> str:
        return socket.nsp.name

    async with serving(io) as port:
        client = await SioClient.open(port)
        refused = await client.connect("/admin", {"token": "wrong"})
        assert refused.type is PacketType.CONNECT_ERROR
        assert refused.data == {"message": "not authorized", "data": {"code": 401}}
        unknown = await client.connect("/nope")
        assert unknown.data == {"message": "Invalid namespace"}
        accepted = await client.connect("/admin", {"token": "secret"})
        assert accepted.type is PacketType.CONNECT
        assert await client.call("whoami", nsp="/admin") == ["/admin"]
        await client.close()


async def test_async_middleware_and_dynamic_namespaces() -> None:
    io = tether.Server()
    workspaces = io.of(re.compile(r"/workspace-\d+"))
    joined: list[str] = []

    @workspaces.use
    async def slow_check(socket: tether.Socket) -> None:
        await asyncio.sleep(0.01)
        socket.data["checked"] = True

    @workspaces.on("connection")
    def connected(socket: tether.Socket) -> None:
        joined.append(socket.nsp.name)

    @workspaces.on("where")
    def where(socket: tether.Socket) -> Any:
        return socket.nsp.name, socket.data["checked"]

    async with serving(io) as port:
        client = await SioClient.open(port)
        assert (await client.connect("/workspace-1")).type is PacketType.CONNECT
        assert (await client.connect("/workspace-x")).type is PacketType.CONNECT_ERROR
        assert await client.call("where", nsp="/workspace-1") == ["/workspace-1", True]
        assert joined == ["/workspace-1"]
        await client.close()


@pytest.mark.parametrize("cleanup", [False, True])
async def test_empty_child_namespaces_are_forgotten_when_asked(cleanup: bool) -> None:
    io = tether.Server(cleanup_empty_child_namespaces=cleanup)
    io.of(re.compile(r"/room-\d+"))
    async with serving(io) as port:
        client = await SioClient.open(port)
        assert (await client.connect("/room-1")).type is PacketType.CONNECT
        assert "/room-1" in io.namespaces
        await client.close()
        for _ in range(100):
            if ("/room-1" in io.namespaces) != cleanup:
                break
            await asyncio.sleep(0.01)
        assert ("/room-1" in io.namespaces) is not cleanup  # Node keeps them by default
        # A new client gets a fresh child, which works.
        again = await SioClient.open(port)
        assert (await again.connect("/room-1")).type is PacketType.CONNECT
        await again.close()


async def test_rooms_broadcast_and_except() -> None:
    io = tether.Server()

    @io.on("join")
    def join(socket: tether.Socket, *rooms: str) -> None:
        socket.join(list(rooms))

    @io.on("leave")
    def leave(socket: tether.Socket, room: str) -> None:
        socket.leave(room)

    @io.on("shout")
    def shout(socket: tether.Socket, room: str, text: str) -> None:
        socket.to(room).emit("said", text)

    async with serving(io) as port:
        a, b, c = [await SioClient.open(port) for _ in range(3)]
        for client in (a, b, c):
            await client.connect()
        await a.call("join", "red", "blue")
        await b.call("join", "red")
        await c.call("join", "blue")
        a.emit("shout", "red", "hello red")
        assert await b.event() == ["said", "hello red"]
        await a.nothing()
        await c.nothing()
        io.to("red").except_("blue").emit("news", 1)
        assert await b.event() == ["news", 1]
        await a.nothing()
        io.to(["red", "blue"]).emit("news", 2)  # each socket once, even in both rooms
        for client in (a, b, c):
            assert await client.event() == ["news", 2]
        await a.nothing()
        io.except_(a.sids["/"]).emit("news", 3)
        assert await b.event() == ["news", 3]
        assert await c.event() == ["news", 3]
        await a.nothing()
        await b.call("leave", "red")
        io.to("red").emit("news", 4)
        assert await a.event() == ["news", 4]
        await b.nothing()
        sockets = await io.in_("blue").fetch_sockets()
        assert sorted(s.id for s in sockets) == sorted([a.sids["/"], c.sids["/"]])
        io.in_("blue").sockets_join("green")
        io.to("green").emit("news", 5)
        assert await a.event() == ["news", 5]
        assert await c.event() == ["news", 5]
        io.in_("green").sockets_leave("green")
        io.to("green").emit("news", 6)
        await a.nothing()
        io.emit("all", True)
        for client in (a, b, c):
            assert await client.event() == ["all", True]
        io.in_(c.sids["/"]).disconnect_sockets()
        assert (await c.next()).type is PacketType.DISCONNECT
        for client in (a, b, c):
            await client.close()


async def test_broadcast_with_acks_and_timeout() -> None:
    io = tether.Server()
    async with serving(io) as port:
        a, b = await SioClient.open(port), await SioClient.open(port)
        await a.connect()
        await b.connect()

        async def answer(client: SioClient, value: Any) -> None:
            packet = await client.next()
            client.ack(packet.id, value)

        task = asyncio.ensure_future(io.timeout(2).emit_with_ack("poll", "q"))
        await asyncio.gather(answer(a, "A"), answer(b, "B"))
        assert sorted(await task) == ["A", "B"]
        task = asyncio.ensure_future(io.timeout(0.2).emit_with_ack("poll", "q"))
        await answer(a, "only A")
        with pytest.raises(tether.AckTimeoutError) as info:
            await task
        assert info.value.responses == ["only A"]
        await b.next()
        with pytest.raises(ValueError):
            await io.emit_with_ack("poll")
        await a.close()
        await b.close()


async def test_socket_ack_timeout() -> None:
    io = tether.Server()
    result: list[Any] = []

    @io.on("connection")
    async def connected(socket: tether.Socket) -> None:
        try:
            await socket.timeout(0.1).emit_with_ack("never answered")
        except tether.AckTimeoutError:
            result.append("timeout")

    async with serving(io) as port:
        client = await SioClient.open(port)
        await client.connect()
        await client.next()
        await asyncio.sleep(0.2)
        assert result == ["timeout"]
        await client.close()


async def test_disconnect_reasons() -> None:
    io = tether.Server()
    reasons: list[str] = []

    @io.on("disconnect")
    def disconnected(socket: tether.Socket, reason: str) -> None:
        reasons.append(reason)

    @io.on("kick")
    def kick(socket: tether.Socket) -> None:
        socket.disconnect()

    async with serving(io) as port:
        client = await SioClient.open(port)
        await client.connect()
        client.send_packet(tether.sio.Packet(PacketType.DISCONNECT, "/"))
        await asyncio.sleep(0.05)
        await client.connect()
        client.emit("kick")
        assert (await client.next()).type is PacketType.DISCONNECT
        await client.connect()
        await client.ws.close()
        await asyncio.sleep(0.05)
        assert reasons == [
            "client namespace disconnect",
            "server namespace disconnect",
            "transport close",
        ]


async def test_connect_timeout_closes_an_idle_connection() -> None:
    io = tether.Server(connect_timeout=0.1)
    async with serving(io) as port:
        client = await SioClient.open(port)
        await asyncio.wait_for(client.closed.wait(), 2)
        await client.close()


async def test_invalid_packet_closes_the_connection() -> None:
    io = tether.Server()
    async with serving(io) as port:
        client = await SioClient.open(port)
        await client.connect()
        client.ws.send("42garbage")
        await asyncio.wait_for(client.closed.wait(), 2)
        await client.close()


async def test_on_any_socket_listeners_and_socket_middlewares() -> None:
    io = tether.Server()
    incoming: list[Any] = []
    outgoing: list[Any] = []
    errors: list[str] = []

    @io.on("connection")
    def connected(socket: tether.Socket) -> None:
        socket.on_any(lambda event, *args: incoming.append((event, *args)))
        socket.on_any_outgoing(lambda event, *args: outgoing.append((event, *args)))

        @socket.use
        def refuse_secret(event: str, args: list[Any]) -> None:
            if event == "secret":
                raise PermissionError("no secrets")

        socket.on("error", lambda exc: errors.append(str(exc)))
        socket.on("ping-me", lambda n: n + 1)

    async with serving(io) as port:
        client = await SioClient.open(port)
        await client.connect()
        assert await client.call("ping-me", 41) == [42]
        client.emit("secret", 1)
        await asyncio.sleep(0.05)
        io.emit("hello", "all")
        assert await client.event() == ["hello", "all"]
        assert incoming == [("ping-me", 41)]
        assert errors == ["no secrets"]
        assert outgoing == [("hello", "all")]
        await client.close()


async def test_connection_state_recovery() -> None:
    io = tether.Server(connection_state_recovery=True)
    recovered: list[bool] = []

    @io.on("connection")
    def connected(socket: tether.Socket) -> None:
        recovered.append(socket.recovered)
        if not socket.recovered:
            socket.join("news")
            socket.data["name"] = "ann"

    async with serving(io) as port:
        client = await SioClient.open(port)
        first = await client.connect()
        sid, pid = first.data["sid"], first.data["pid"]
        io.to("news").emit("item", 1)
        event = await client.event()
        assert event[:2] == ["item", 1]
        offset = event[2]
        await client.ws.close()  # the transport drops
        await asyncio.sleep(0.05)
        io.to("news").emit("item", 2)
        io.to("news").emit("item", 3)
        io.to("elsewhere").emit("item", "not for us")
        again = await SioClient.open(port)
        back = await again.connect(auth={"pid": pid, "offset": offset})
        assert back.data["sid"] == sid
        assert [e[:2] for e in [await again.event(), await again.event()]] == [
            ["item", 2],
            ["item", 3],
        ]
        assert recovered == [False, True]
        sockets = await io.fetch_sockets()
        assert sockets[0].data == {"name": "ann"} and "news" in sockets[0].rooms
        # An unknown offset cannot be recovered: a fresh session.
        third = await SioClient.open(port)
        fresh = await third.connect(auth={"pid": "nope", "offset": "nope"})
        assert fresh.data["sid"] != sid
        await client.close()
        await again.close()
        await third.close()


async def test_reserved_event_names_are_refused() -> None:
    io = tether.Server()
    with pytest.raises(ValueError):
        io.emit("disconnect")


async def test_a_repeated_connect_during_async_middlewares_makes_one_socket() -> None:
    io = tether.Server()

    @io.use
    async def slow(socket: tether.Socket) -> None:
        await asyncio.sleep(0.05)

    async with serving(io) as port:
        client = await SioClient.open(port)
        client.send_packet(tether.sio.Packet(PacketType.CONNECT, "/"))
        client.send_packet(tether.sio.Packet(PacketType.CONNECT, "/"))
        assert (await client.next()).type is PacketType.CONNECT
        await client.nothing(0.2)
        assert len(io.sockets.sockets) == 1
        await client.close()
        await asyncio.sleep(0.1)
        assert len(io.sockets.sockets) == 0
        assert io.sockets.adapter.rooms == {}


async def test_user_errors_in_acks_do_not_break_the_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    io = tether.Server()

    @io.on("ask")
    def ask(socket: tether.Socket) -> None:
        socket.emit("q", callback=lambda *args: 1 / 0)

    @io.on("unserializable")
    def unserializable(socket: tether.Socket) -> Any:
        return {1, 2}

    @io.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    async with serving(io) as port:
        client = await SioClient.open(port)
        await client.connect()
        with caplog.at_level(logging.ERROR, logger="tether"):
            client.emit("ask")
            question = await client.next()
            client.ack(question.id, "answer")
            client.emit("unserializable", ack=True)
            await client.nothing(0.1)
            assert await client.call("echo", "alive") == ["alive"]
        assert "ZeroDivisionError" in caplog.text
        assert "cannot send the ack" in caplog.text
        await client.close()


@pytest.mark.parametrize("name", ["/sync", "/async"])
async def test_a_connection_handler_refuses_before_the_client_is_connected(name: str) -> None:
    io = tether.Server()
    later = add_gates(io)
    nsp = io.of(name)
    async with serving(io) as port:
        client = await SioClient.open(port)
        refused = await client.connect(name)
        assert refused.type is PacketType.CONNECT_ERROR
        assert refused.data == GATE_REFUSAL
        await client.nothing(0.1)  # neither CONNECT nor what the handler emitted
        assert nsp.sockets == {}
        assert await nsp.in_("vip").fetch_sockets() == []
        assert nsp.adapter.rooms == {}
        assert later[name] == []  # the handlers after the refusing one did not run
        # The same connection may ask again; accepted, the CONNECT answer comes first.
        accepted = await client.connect(name, {"ok": True})
        assert accepted.type is PacketType.CONNECT
        sid = accepted.data["sid"]
        assert await client.event() == ["welcome", 1]
        if name == "/async":
            assert await client.event() == ["welcome", 2]
        assert [s.id for s in await nsp.in_("vip").fetch_sockets()] == [sid]
        assert later[name] == [sid]
        await client.close()


async def test_a_connection_handler_may_wait_for_an_ack_or_fail_and_stay_connected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    io = tether.Server()
    answers: list[Any] = []

    @io.on("connection")
    async def ask(socket: tether.Socket) -> None:
        # An ack needs a connected client: asking for one connects it.
        answers.append(await socket.emit_with_ack("ready?", timeout=2))
        socket.emit("thanks")
        raise RuntimeError("kaput")  # logged; the socket stays connected

    @io.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    async with serving(io) as port:
        client = await SioClient.open(port)
        with caplog.at_level(logging.ERROR, logger="tether"):
            assert (await client.connect()).type is PacketType.CONNECT
            question = await client.next()
            assert question.data == ["ready?"]
            client.ack(question.id, "yes")
            assert await client.event() == ["thanks"]
            assert await client.call("echo", "still") == ["still"]
        assert answers == ["yes"]
        assert "kaput" in caplog.text
        await client.close()


async def test_a_client_gone_while_a_connection_handler_runs_leaves_nothing_behind() -> None:
    io = tether.Server()
    release = asyncio.Event()
    done: list[bool] = []

    @io.on("connection")
    async def slow(socket: tether.Socket) -> None:
        socket.join("vip")
        await release.wait()
        socket.emit("late")
        done.append(socket.connected)

    async with serving(io) as port:
        client = await SioClient.open(port)
        client.send_packet(tether.sio.Packet(PacketType.CONNECT, "/"))
        async with asyncio.timeout(3):
            while not io.sockets.sockets:  # held while its handler runs
                await asyncio.sleep(0.01)
        assert not next(iter(io.sockets.sockets.values())).connected
        await client.close()
        async with asyncio.timeout(3):
            while io.sockets.sockets:
                await asyncio.sleep(0.01)
        assert io.sockets.adapter.rooms == {}
        release.set()
        async with asyncio.timeout(3):
            while not done:
                await asyncio.sleep(0.01)
        assert done == [False]
        assert io.sockets.sockets == {}
        assert io.sockets.adapter.rooms == {}


async def test_with_recovery_what_a_connection_handler_emits_follows_the_missed_packets() -> None:
    io = tether.Server(connection_state_recovery=True)

    @io.on("connection")
    async def connected(socket: tether.Socket) -> None:
        # With recovery on, socket.emit goes through the adapter (it gets an offset).
        socket.emit("hello", socket.recovered)
        await asyncio.sleep(0)
        if socket.handshake.auth.get("deny"):
            raise tether.ConnectionRefusedError("denied")
        socket.join("news")

    async with serving(io) as port:
        client = await SioClient.open(port)
        assert (await client.connect(auth={"deny": True})).data == {"message": "denied"}
        await client.nothing(0.1)
        first = await client.connect()
        sid, pid = first.data["sid"], first.data["pid"]
        hello = await client.event()
        assert hello[:2] == ["hello", False]
        await client.close()  # the transport drops
        async with asyncio.timeout(3):
            while io.sockets.sockets:
                await asyncio.sleep(0.01)
        io.to("news").emit("item", 1)
        again = await SioClient.open(port)
        back = await again.connect(auth={"pid": pid, "offset": hello[2]})
        assert back.data["sid"] == sid
        # CONNECT, then what the session missed, then what the handler emitted.
        assert (await again.event())[:2] == ["item", 1]
        assert (await again.event())[:2] == ["hello", True]
        await again.close()
