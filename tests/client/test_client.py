"""tether.client.Client against tether's own server over loopback."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Any

import pytest

import tether
from tests.server.helpers import GATE_REFUSAL, add_gates
from tests.support import serving, until
from tether.client import Client, ConnectError, SyncClient

TRANSPORTS = [("websocket",), ("polling",), ("polling", "websocket")]


def echo_server(**options: Any) -> tether.Server:
    io = tether.Server(**options)

    @io.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    return io


@pytest.mark.parametrize("transports", TRANSPORTS)
async def test_connect_emit_ack_and_disconnect(transports: tuple[str, ...]) -> None:
    io = echo_server()
    seen: list[Any] = []

    @io.on("connection")
    def connected(socket: tether.Socket) -> None:
        seen.append(("auth", socket.handshake.auth, socket.handshake.headers.get("x-test")))
        socket.emit("welcome", socket.id)

    @io.on("note")
    def note(socket: tether.Socket, text: str) -> None:
        seen.append(("note", text))

    @io.on("disconnect")
    def gone(socket: tether.Socket, reason: str) -> None:
        seen.append(("gone", reason))

    async with serving(io) as port:
        client = Client()
        welcomed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        events: list[Any] = []
        client.on("welcome", welcomed.set_result)
        client.on("connect", lambda: events.append("connect"))
        client.on("disconnect", lambda reason: events.append(("disconnect", reason)))
        await client.connect(
            f"http://127.0.0.1:{port}",
            auth={"token": "t"},
            headers={"X-Test": "yes"},
            transports=transports,
        )
        assert client.connected
        assert await welcomed == client.sid
        assert client.get_sid("/") == client.sid
        assert await client.emit_with_ack("echo", 1, "two", timeout=2) == (1, "two")
        assert await client.emit_with_ack("echo", {"a": [1]}, timeout=2) == {"a": [1]}
        assert await client.emit_with_ack("echo", timeout=2) is None
        client.emit("note", "hi")
        if transports == ("polling", "websocket"):
            await until(lambda: client.transport == "websocket")
        else:
            assert client.transport == transports[0]
        # Still working after the upgrade.
        assert await client.emit_with_ack("echo", "after", timeout=2) == "after"
        await client.disconnect()
        assert not client.connected
        assert client.sid is None
        await until(lambda: ("gone", "client namespace disconnect") in seen)
        assert seen[:2] == [("auth", {"token": "t"}, "yes"), ("note", "hi")]
        assert events == ["connect", ("disconnect", "io client disconnect")]


@pytest.mark.parametrize("transports", TRANSPORTS)
async def test_server_initiated_ack_and_binary(transports: tuple[str, ...]) -> None:
    io = echo_server()
    answers: list[Any] = []

    @io.on("go")
    async def go(socket: tether.Socket) -> None:
        answers.append(await socket.emit_with_ack("sync-q", 1, timeout=2))
        answers.append(await socket.emit_with_ack("async-q", b"\x00\x01", timeout=2))
        answers.append(await socket.emit_with_ack("none-q", timeout=2))

    async with serving(io) as port:
        client = Client()
        client.on("sync-q", lambda n: (n + 1, "two"))

        @client.on("async-q")
        async def async_q(data: bytes) -> dict[str, Any]:
            await asyncio.sleep(0)
            return {"got": data, "len": len(data)}

        client.on("none-q", lambda: None)
        await client.connect(f"http://127.0.0.1:{port}", transports=transports)
        client.emit("go")
        await until(lambda: len(answers) == 3)
        assert answers == [(2, "two"), {"got": b"\x00\x01", "len": 2}, None]
        blob = bytes(range(256)) * 10
        assert await client.emit_with_ack("echo", {"x": blob}, [b"a", b"b"], timeout=2) == (
            {"x": blob},
            [b"a", b"b"],
        )
        await client.disconnect()


async def test_namespaces_on_one_connection_and_on_any() -> None:
    io = echo_server()
    admin = io.of("/admin")

    @admin.on("connection")
    def admin_connected(socket: tether.Socket) -> None:
        socket.emit("hello-admin", socket.nsp.name)

    @admin.on("whoami")
    def whoami(socket: tether.Socket) -> str:
        return socket.id

    async with serving(io) as port:
        client = Client()
        got: list[Any] = []
        client.on_any(lambda event, *args: got.append((event, args)), namespace="/admin")
        client.on("hello-admin", lambda name: got.append(("handler", name)), namespace="/admin")
        await client.connect(f"ws://127.0.0.1:{port}", namespaces=["/", "/admin"])
        assert client.connected
        assert client.get_sid("/admin") not in (None, client.sid)
        assert await client.emit_with_ack("whoami", namespace="/admin", timeout=2) == (
            client.get_sid("/admin")
        )
        assert await client.emit_with_ack("echo", 5, timeout=2) == 5
        await until(lambda: len(got) == 2)
        assert got == [("hello-admin", ("/admin",)), ("handler", "/admin")]
        sockets = await io.fetch_sockets()
        assert len(sockets) == 1
        assert len({s.conn for s in [*sockets, *(await admin.fetch_sockets())]}) == 1
        with pytest.raises(ValueError):
            client.emit("x", namespace="/other")
        with pytest.raises(ValueError):
            client.emit("disconnect")
        await client.disconnect()


async def test_connect_error_with_data() -> None:
    io = tether.Server()

    def refuse(socket: tether.Socket) -> None:
        if socket.handshake.auth.get("token") != "good":
            raise tether.ConnectionRefusedError("not authorized", {"code": 42})

    io.sockets.use(refuse)
    async with serving(io) as port:
        client = Client()
        errors: list[Any] = []
        client.on("connect_error", errors.append)
        with pytest.raises(ConnectError) as info:
            await client.connect(f"http://127.0.0.1:{port}", auth=lambda: {"t": 1})
        assert info.value.message == "not authorized"
        assert info.value.data == {"code": 42}
        assert errors == [{"message": "not authorized", "data": {"code": 42}}]
        assert not client.connected

        async def good_auth() -> dict[str, str]:
            return {"token": "good"}

        await client.connect(f"http://127.0.0.1:{port}", auth=good_auth)
        assert client.connected
        await client.disconnect()


async def test_unreachable_server_and_bad_url() -> None:
    client = Client()
    with pytest.raises(ConnectError):
        await client.connect("http://127.0.0.1:1", wait_timeout=2)
    with pytest.raises(ValueError):
        await client.connect("ftp://127.0.0.1:1")


async def test_server_side_disconnect_does_not_reconnect() -> None:
    io = echo_server()
    async with serving(io) as port:
        client = Client(reconnection_delay=0.05)
        reasons: list[str] = []
        client.on("disconnect", reasons.append)
        attempts: list[int] = []
        client.on("reconnect_attempt", attempts.append)
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        (await io.fetch_sockets())[0].disconnect()
        await asyncio.wait_for(client.wait(), 2)
        await asyncio.sleep(0.2)
        assert reasons == ["io server disconnect"]
        assert attempts == []
        assert not client.connected


@pytest.mark.parametrize("transports", [("websocket",), ("polling",)])
async def test_reconnects_after_restart_and_flushes_buffer(transports: tuple[str, ...]) -> None:
    io = echo_server()
    notes: list[str] = []

    @io.on("note")
    def note(socket: tether.Socket, text: str) -> None:
        notes.append(text)

    listener = await io.serve("127.0.0.1", 0)
    port = listener.port
    client = Client(reconnection_delay=0.05, reconnection_delay_max=0.2)
    log: list[Any] = []
    client.on("disconnect", lambda reason: log.append(("disconnect", reason)))
    client.on("connect", lambda: log.append("connect"))
    client.on("reconnect_attempt", lambda n: log.append(("attempt", n)))
    client.on("reconnect", lambda n: log.append(("reconnect", n)))
    await client.connect(f"http://127.0.0.1:{port}", transports=transports)
    first_sid = client.sid
    await listener.shutdown(grace=0.5)
    await until(lambda: not client.connected)
    assert log[:2] == ["connect", ("disconnect", "transport close")]
    client.emit("note", "while away")
    client.emit("note", "volatile", volatile=True)
    answer = asyncio.ensure_future(client.emit_with_ack("echo", "buffered", timeout=5))
    await asyncio.sleep(0.3)  # a few attempts fail
    listener = await io.serve("127.0.0.1", port)
    try:
        assert await answer == "buffered"
        assert client.connected
        assert client.sid != first_sid
        assert not client.recovered
        await until(lambda: notes == ["while away"])
        assert log[-2:] == ["connect", ("reconnect", log[-1][1])]
        assert ("attempt", 1) in log
        await client.disconnect()
    finally:
        await listener.shutdown(grace=0.5)


async def test_reconnect_failed_after_the_attempts() -> None:
    io = echo_server()
    listener = await io.serve("127.0.0.1", 0)
    client = Client(reconnection_attempts=2, reconnection_delay=0.01, randomization_factor=0)
    log: list[Any] = []
    client.on("reconnect_attempt", lambda n: log.append(("attempt", n)))
    client.on("reconnect_error", lambda exc: log.append("error"))
    client.on("reconnect_failed", lambda: log.append("failed"))
    await client.connect(f"http://127.0.0.1:{listener.port}", transports=["websocket"])
    await listener.shutdown(grace=0.5)
    await until(lambda: not client.connected)
    pending = asyncio.ensure_future(client.emit_with_ack("echo", 1))  # buffered
    await asyncio.wait_for(client.wait(), 3)
    assert log == [("attempt", 1), "error", ("attempt", 2), "error", "failed"]
    with pytest.raises(tether.DisconnectedError):
        await pending


def test_backoff_like_socket_io_client() -> None:
    client = Client(reconnection_delay=1, reconnection_delay_max=5, randomization_factor=0)
    assert [client._backoff(n) for n in range(5)] == [1, 2, 4, 5, 5]
    client.randomization_factor = 0.5
    for n in range(4):
        assert 0.5 * 2**n <= client._backoff(n) <= min(1.5 * 2**n, 5)


@pytest.mark.parametrize("transports", [("websocket",), ("polling",)])
async def test_connection_state_recovery(transports: tuple[str, ...]) -> None:
    io = echo_server(connection_state_recovery=True)
    async with serving(io) as port:
        client = Client(reconnection_delay=0.05, randomization_factor=0)
        got: list[Any] = []
        client.on("tick", lambda n, *offset: got.append(n))
        await client.connect(f"http://127.0.0.1:{port}", transports=transports)
        sid = client.sid
        assert not client.recovered
        io.emit("tick", 1)
        await until(lambda: got == [1])
        socket = (await io.fetch_sockets())[0]
        socket.join("room")
        socket.conn.engine.close_now("transport close")
        await until(lambda: not client.connected)
        io.emit("tick", 2)  # missed, replayed on recovery
        io.to("room").emit("tick", 3)
        await until(lambda: client.connected)
        assert client.recovered
        assert client.sid == sid
        await until(lambda: got == [1, 2, 3])
        assert "room" in (await io.fetch_sockets())[0].rooms
        await client.disconnect()


async def test_recovery_offsets_are_kept_by_the_client_not_passed_to_handlers() -> None:
    io = echo_server(connection_state_recovery=True)

    @io.on("ask")
    async def ask(socket: tether.Socket, text: str) -> Any:
        # An emit with an ack carries no offset: its last argument is the event's own.
        return await socket.emit_with_ack("question", text, timeout=2)

    async with serving(io) as port:
        client = Client(reconnection_delay=0.05, randomization_factor=0)
        got: list[Any] = []
        anys: list[Any] = []

        @client.on("tick")
        def tick(n: int) -> None:
            got.append(("tick", n))

        @client.on("pair")
        async def pair(a: str, b: str) -> None:
            got.append(("pair", a, b))

        @client.on("question")
        def question(text: str) -> str:
            return text.upper()

        client.on_any(lambda event, *args: anys.append((event, *args)))
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        io.emit("tick", 1)
        io.emit("pair", "a", "b")
        await until(lambda: len(got) == 2)
        assert got == [("tick", 1), ("pair", "a", "b")]
        assert await client.emit_with_ack("ask", "hi", timeout=2) == "HI"
        assert anys == [("tick", 1), ("pair", "a", "b"), ("question", "hi")]
        # The client kept the last offset (not "hi"): the session recovers what it missed.
        socket = (await io.fetch_sockets())[0]
        socket.conn.engine.close_now("transport close")
        await until(lambda: not client.connected)
        io.emit("tick", 2)
        await until(lambda: client.connected)
        assert client.recovered
        await until(lambda: len(got) == 3)
        assert got[-1] == ("tick", 2)
        await client.disconnect()


@pytest.mark.parametrize("name", ["/sync", "/async"])
async def test_a_refusal_from_a_connection_handler_is_a_connect_error(name: str) -> None:
    io = tether.Server()
    later = add_gates(io)
    nsp = io.of(name)
    async with serving(io) as port:
        url = f"http://127.0.0.1:{port}{name}"
        client = Client(reconnection=False)
        seen: list[Any] = []
        client.on("connect", lambda: seen.append("connect"), namespace=name)
        client.on("connect_error", lambda data: seen.append(("error", data)), namespace=name)
        client.on("welcome", lambda n: seen.append(("welcome", n)), namespace=name)
        with pytest.raises(ConnectError) as info:
            await client.connect(url, transports=["websocket"])
        assert (info.value.message, info.value.data) == ("not authorized", {"code": 401})
        assert seen == [("error", GATE_REFUSAL)]
        assert nsp.sockets == {}
        assert await nsp.in_("vip").fetch_sockets() == []
        assert later[name] == []
        await client.connect(url, transports=["websocket"], auth={"ok": True})
        welcomes = [("welcome", 1)] + ([("welcome", 2)] if name == "/async" else [])
        await until(lambda: len(seen) == 2 + len(welcomes))
        assert seen == [("error", GATE_REFUSAL), "connect", *welcomes]
        assert [s.id for s in await nsp.in_("vip").fetch_sockets()] == [client.get_sid(name)]
        await client.disconnect()


async def test_ping_timeout_is_detected() -> None:
    io = echo_server(ping_interval=0.1, ping_timeout=0.1)
    async with serving(io) as port:
        client = Client(reconnection=False)
        reasons: list[str] = []
        client.on("disconnect", reasons.append)
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        await asyncio.sleep(0.35)  # pings answered: still connected
        assert client.connected
        engine = client._engine
        assert engine is not None
        engine._on_packet = lambda packet: None  # type: ignore[method-assign]  # deaf to pings
        await asyncio.wait_for(client.wait(), 2)
        assert reasons == ["ping timeout"]


async def test_upgrade_probe_and_polling_only_server() -> None:
    io = echo_server()
    async with serving(io) as port:
        client = Client()
        await client.connect(f"http://127.0.0.1:{port}")
        await until(lambda: client.transport == "websocket")
        await until(lambda: _server_transport(io) == "websocket")
        assert await client.emit_with_ack("echo", "x", timeout=2) == "x"
        await client.disconnect()
    io = echo_server(allow_upgrades=False)
    async with serving(io) as port:
        client = Client()
        await client.connect(f"http://127.0.0.1:{port}")
        await asyncio.sleep(0.1)
        assert client.transport == "polling"
        assert await client.emit_with_ack("echo", "y", timeout=2) == "y"
        await client.disconnect()


def _server_transport(io: tether.Server) -> str | None:
    sockets = list(io.sockets.sockets.values())
    return sockets[0].transport if sockets else None


@pytest.mark.parametrize("transports", TRANSPORTS)
async def test_tls_with_verification(
    certificate: tuple[str, str], transports: tuple[str, ...]
) -> None:
    cert, key = certificate
    io = echo_server()
    listener = await io.serve("127.0.0.1", 0, certfile=cert, keyfile=key)
    try:
        # Verified by default: a self-signed certificate is refused.
        with pytest.raises(ConnectError):
            await Client().connect(f"https://127.0.0.1:{listener.port}", transports=transports)
        trusted = Client(ssl=ssl.create_default_context(cafile=cert))
        await trusted.connect(f"wss://127.0.0.1:{listener.port}", transports=transports)
        assert await trusted.emit_with_ack("echo", "tls", timeout=2) == "tls"
        if "websocket" in transports:
            await until(lambda: trusted.transport == "websocket")
        await trusted.disconnect()
        unverified = Client(ssl=False)
        await unverified.connect(f"https://127.0.0.1:{listener.port}", transports=transports)
        assert unverified.connected
        await unverified.disconnect()
    finally:
        await listener.shutdown(grace=0.5)


async def test_sync_client_on_its_thread() -> None:
    io = echo_server()
    async with serving(io) as port:
        port = port

        def blocking() -> list[Any]:
            seen: list[Any] = []
            with SyncClient(reconnection=False) as client:

                @client.on("question")
                def question(n: int) -> int:
                    client.emit("note", n)  # from the client's own thread: runs directly
                    return n * 2

                client.on("connect", lambda: seen.append("connect"))
                client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
                seen.append(client.connected)
                seen.append(client.transport)
                seen.append(client.emit_with_ack("echo", 1, b"\x02", timeout=2))
                with pytest.raises(tether.AckTimeoutError):
                    client.emit_with_ack("silence", timeout=0.05)
                client.emit("ask")
                assert client.wait(timeout=0.05) is False
                for _ in range(200):
                    if answers:
                        break
                    time.sleep(0.01)
                client.disconnect()
                assert client.wait(timeout=1) is True
            return seen

        answers: list[Any] = []

        @io.on("ask")
        async def ask(socket: tether.Socket) -> None:
            answers.append(await socket.emit_with_ack("question", 21, timeout=2))

        result = await asyncio.to_thread(blocking)
        assert result == ["connect", True, "websocket", (1, b"\x02")]
        assert answers == [42]


async def test_pending_ack_fails_when_the_connection_drops() -> None:
    io = echo_server()

    @io.on("never")
    async def never(socket: tether.Socket) -> None:
        await asyncio.sleep(10)

    async with serving(io) as port:
        client = Client(reconnection=False)
        await client.connect(f"http://127.0.0.1:{port}", transports=["polling"])
        pending = asyncio.ensure_future(client.emit_with_ack("never", timeout=5))
        await asyncio.sleep(0.05)
        (await io.fetch_sockets())[0].conn.engine.close_now("transport close")
        with pytest.raises(tether.DisconnectedError):
            await pending
        await asyncio.wait_for(client.wait(), 2)
        with pytest.raises(tether.AckTimeoutError):  # buffered, never sent
            await client.emit_with_ack("echo", timeout=0.05)


async def test_polling_ping_timeout_and_namespace_from_url() -> None:
    io = echo_server(ping_interval=0.1, ping_timeout=0.1)
    io.of("/chat")
    async with serving(io) as port:
        client = Client(reconnection=False)
        reasons: list[str] = []
        client.on("disconnect", reasons.append, namespace="/chat")
        await client.connect(f"http://127.0.0.1:{port}/chat", transports=["polling"])
        assert client.get_sid("/chat") is not None
        assert client.sid is None  # "/" was not asked for
        await asyncio.sleep(0.35)
        assert client.connected
        engine = client._engine
        assert engine is not None
        engine._reset_heartbeat = lambda: None  # type: ignore[method-assign]
        await asyncio.wait_for(client.wait(), 2)
        assert reasons == ["ping timeout"]


async def test_connect_error_for_a_transport_failure() -> None:
    client = Client()
    errors: list[Any] = []
    client.on("connect_error", errors.append)
    with pytest.raises(ConnectError):
        await client.connect("http://127.0.0.1:1", transports=["websocket"])
    assert len(errors) == 1
    assert "cannot connect" in errors[0]["message"]


async def test_no_loss_or_reordering_across_the_upgrade() -> None:
    io = echo_server()
    received: list[int] = []

    @io.on("n")
    def n(socket: tether.Socket, value: int) -> None:
        received.append(value)

    @io.on("connection")
    def burst(socket: tether.Socket) -> None:
        for i in range(300):
            socket.emit("seq", i)

    async with serving(io) as port:
        client = Client()
        seq: list[int] = []
        client.on("seq", seq.append)
        await client.connect(f"http://127.0.0.1:{port}")
        for i in range(300):
            client.emit("n", i)
            if i % 50 == 0:
                await asyncio.sleep(0.005)
        await until(lambda: client.transport == "websocket")
        for i in range(300, 400):
            client.emit("n", i)
        await until(lambda: len(received) == 400 and len(seq) == 300)
        assert received == list(range(400))
        assert seq == list(range(300))
        await client.disconnect()


async def test_failed_probe_stays_on_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    from tether.client import engine as client_engine
    from tether.client.http import HttpError

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise HttpError("no WebSocket today", 400)

    monkeypatch.setattr(client_engine, "open_websocket", refuse)
    io = echo_server()
    async with serving(io) as port:
        client = Client()
        await client.connect(f"http://127.0.0.1:{port}")
        await asyncio.sleep(0.05)
        assert client.transport == "polling"
        assert await client.emit_with_ack("echo", "still", timeout=2) == "still"
        await client.disconnect()
        with pytest.raises(ConnectError):
            await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])


async def test_websocket_refused_by_a_polling_only_server() -> None:
    io = echo_server(transports=["polling"])
    async with serving(io) as port:
        with pytest.raises(ConnectError):
            await Client().connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        client = Client()
        await client.connect(f"http://127.0.0.1:{port}")
        await asyncio.sleep(0.05)
        assert client.transport == "polling"
        await client.disconnect()


async def test_server_disconnect_of_one_namespace_keeps_the_others() -> None:
    io = echo_server()
    other = io.of("/a")
    async with serving(io) as port:
        client = Client(reconnection_delay=0.05)
        reasons: list[tuple[str, str]] = []
        for name in ("/", "/a"):
            client.on("disconnect", lambda r, n=name: reasons.append((n, r)), namespace=name)
        await client.connect(f"http://127.0.0.1:{port}", namespaces=["/", "/a"])
        (await other.fetch_sockets())[0].disconnect()
        await until(lambda: reasons == [("/a", "io server disconnect")])
        assert client.get_sid("/a") is None
        assert not client.connected
        assert await client.emit_with_ack("echo", 1, timeout=2) == 1
        (await io.fetch_sockets())[0].disconnect()
        await asyncio.wait_for(client.wait(), 2)
        assert reasons[-1] == ("/", "io server disconnect")
        assert client.transport is None
