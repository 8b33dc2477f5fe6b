"""Prometheus metrics (tether.metrics), health checks (tether.health) and the refusal and
lifecycle logs, with the official client (Node) and plain HTTP requests."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import tether
from tests.admin.support import NodeClient
from tests.support import RedisServer, serving, until
from tether import health, metrics
from tether.aio.listener import serve
from tether.errors import ConnectionRefusedError
from tether.sio import encode_ack, encode_event

pytestmark = pytest.mark.interop


def request(
    port: int, path: str, method: str = "GET", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


async def get(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return await asyncio.to_thread(request, port, path, **headers)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def app() -> tether.Server:
    def allow(request: Any) -> str | None:
        return "you shall not pass" if "deny" in request.query else None

    io = tether.Server(allow_request=allow, cors_origins=["https://good.example"])

    @io.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> None:
        socket.emit("echoed", *args)

    @io.of("/private").use
    def gate(socket: tether.Socket) -> None:
        raise ConnectionRefusedError("members only")

    return io


@pytest.fixture
async def clients() -> AsyncIterator[list[NodeClient]]:
    started: list[NodeClient] = []
    yield started
    for client in started:
        await client.close()


async def test_metrics_count_what_the_test_did_and_refusals_are_logged(
    clients: list[NodeClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "tether")
    io = app()
    enabled = metrics.enable(io)
    async with serving(io) as port:
        url = f"http://127.0.0.1:{port}"
        for transports in (("polling", "websocket"), ("websocket",)):
            client = await NodeClient.start(url, "/", transports=transports)
            clients.append(client)
            await client.connected()
        for client in clients:
            for n in range(3):
                client.emit("echo", n)
            await client.event("echoed", lambda args: args == [2])
        io.emit("news", "to all")
        for client in clients:
            await client.event("news")
        await until(lambda: enabled.counts.upgrades, "the polling client's upgrade")
        # Acks: two answered (a callback, emit_with_ack), one that never comes.
        [socket, _] = io.sockets.sockets.values()
        answered = asyncio.get_running_loop().create_future()
        socket.emit("ping", 1, callback=lambda *args: answered.set_result(args))
        assert await answered == (1,)
        assert await socket.emit_with_ack("ping", 2, timeout=5) == 2
        with pytest.raises(tether.AckTimeoutError):
            await socket.emit_with_ack("noack", timeout=0.2)

        # Refusals, each for its own reason, each logged at INFO saying why.
        base = "/socket.io/?EIO=4&transport="
        status, _, _ = await get(port, base + "polling", Origin="https://evil.example")
        assert status == 403
        status, _, _ = await get(port, base + "polling&deny=1")
        assert status == 403
        status, _, _ = await get(port, base + "polling&sid=nope")
        assert status == 400
        status, _, _ = await get(port, base + "carrier-pigeon")
        assert status == 400
        private = await NodeClient.start(url, "/private")
        clients.append(private)
        assert await private.expect(lambda line: "connect_error" in line, "refusal") == {
            "connect_error": "members only"
        }

        status, headers, body = await get(port, "/metrics")
        assert status == 200 and headers["content-type"].startswith("text/plain")
    found = samples(body.decode())
    assert found[("tether_events_received_total", ())] == 6
    assert found[("tether_events_sent_total", ())] == 6 + 3  # the echoes, the pings
    assert found[("tether_broadcasts_total", ())] == 1
    assert found[("tether_broadcast_deliveries_total", ())] == 2
    assert found[("tether_ack_seconds_count", ())] == 2
    assert found[("tether_ack_seconds_bucket", (("le", "+Inf"),))] == 2
    assert 0 < found[("tether_ack_seconds_sum", ())] < 5
    assert found[("tether_ack_timeouts_total", ())] == 1
    assert found[("tether_handshakes_total", ())] == 3
    assert found[("tether_sockets", (("namespace", "/"),))] == 2
    # the two clients (the refused one's session may be open still, or closed by its client)
    assert found[("tether_engine_sessions", (("transport", "websocket"),))] in (2, 3)
    assert found[("tether_engine_sessions", (("transport", "polling"),))] == 0
    assert found[("tether_upgrades_total", (("transport", "websocket"),))] == 1
    for reason in ("origin", "allow_request", "unknown_sid", "unknown_transport", "namespace"):
        assert found[("tether_refusals_total", (("reason", reason),))] == 1, reason
    assert found[("tether_received_bytes_total", ())] > 0
    assert ("process_cpu_seconds_total", ()) in found

    logged = caplog.text
    assert (
        "origin https://evil.example is not allowed "
        "(cors_origins=['https://good.example']: add it there" in logged
    )
    assert "allow_request refused it: you shall not pass" in logged
    assert "session ID unknown: nope" in logged
    assert "Transport unknown" in logged
    assert "connection to namespace /private refused: members only" in logged


async def test_metrics_on_a_port_of_their_own() -> None:
    io = app()
    enabled = metrics.enable(io, path=None, port=0)
    try:
        port = enabled._server.server_port
        status, _, body = await get(port, "/metrics")
        assert status == 200 and b"tether_handshakes_total 0.0" in body
        async with serving(io) as own:
            status, _, _ = await get(own, "/metrics")
            assert status == 404
    finally:
        enabled.close()


async def test_health_and_readiness(redis_server: RedisServer) -> None:
    from tether.adapters.redis import create_adapter

    io = tether.Server(adapter=create_adapter(redis_server.url))
    checks = health.enable(io, ready="/ready")
    # Listening, not started: alive, not ready.
    listener = await serve(io.router, "127.0.0.1", 0)
    port = listener.port
    try:
        status, headers, body = await get(port, "/healthz")
        assert status == 200 and json.loads(body) == {"alive": True}
        assert headers["cache-control"] == "no-store"
        status, _, body = await get(port, "/ready")
        assert status == 503 and json.loads(body)["checks"]["started"] is False
        await io.start()
        status, _, body = await get(port, "/ready")
        assert (status, json.loads(body)) == (
            200,
            {
                "ready": True,
                "checks": {"started": True, "adapter": True, "not_shutting_down": True},
            },
        )
        # Redis gone: not ready (still alive); back: ready again.
        redis_server.kill()
        await until(lambda: not checks.checks()["adapter"], "the link to notice", timeout=10)
        status, _, body = await get(port, "/ready")
        assert status == 503 and json.loads(body)["checks"]["adapter"] is False
        assert (await get(port, "/healthz"))[0] == 200
        redis_server.start()
        await until(lambda: checks.checks()["adapter"], "the link to come back", timeout=15)
        assert (await get(port, "/ready"))[0] == 200
        # Shutting down (what the listener tells every app when it stops): not ready.
        io.router.shutdown()
        status, _, body = await get(port, "/ready")
        assert status == 503 and json.loads(body)["checks"]["not_shutting_down"] is False
    finally:
        await listener.shutdown(grace=0.5)
        await io.close_adapters()


async def test_lifecycle_at_debug(
    clients: list[NodeClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "tether")
    io = app()
    async with serving(io) as port:
        client = await NodeClient.start(f"http://127.0.0.1:{port}", "/", transports=("websocket",))
        clients.append(client)
        sid = await client.connected()
        [socket] = io.sockets.sockets.values()
        engine_sid = socket.conn.engine.sid
        socket.disconnect()
        await client.expect(lambda line: "disconnect" in line, "disconnect")
    logged = caplog.text
    assert f"session {engine_sid} opened over websocket from 127.0.0.1" in logged
    assert f"socket {sid} connected to / (session {engine_sid}, websocket, 127.0.0.1)" in logged
    assert f"socket {sid} disconnected from /: server namespace disconnect" in logged


def test_nothing_is_formatted_when_the_level_is_off(caplog: pytest.LogCaptureFixture) -> None:
    """The lifecycle lines are behind isEnabledFor: with DEBUG off, none is even made."""
    made: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = made.append  # type: ignore[method-assign]
    logger = logging.getLogger("tether")
    logger.addHandler(handler)
    caplog.set_level(logging.WARNING, "tether")
    try:

        async def run() -> None:
            io = app()
            async with serving(io) as port:
                client = await NodeClient.start(f"http://127.0.0.1:{port}", "/")
                try:
                    await client.connected()
                finally:
                    await client.close()

        asyncio.run(run())
    finally:
        logger.removeHandler(handler)
    assert [r for r in made if r.levelno < logging.WARNING] == []


async def test_tether_serve_logs_json_lines() -> None:
    from tests.support import free_port, start_tether

    port = free_port()
    process = await start_tether(
        "--log-format",
        "json",
        "--log-level",
        "INFO",
        "serve",
        "tests.cli.app:io",
        "--port",
        str(port),
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        await asyncio.wait_for(process.stdout.readline(), 20)
        status, _, _ = await get(
            port, "/socket.io/?EIO=4&transport=polling", Origin="https://evil.example"
        )
        assert status == 403
        line = await asyncio.wait_for(process.stderr.readline(), 10)
        entry = json.loads(line)
        assert entry["level"] == "INFO" and entry["logger"] == "tether.engine"
        assert "origin https://evil.example is not allowed" in entry["message"]
        assert entry["time"].endswith("+00:00")
    finally:
        process.terminate()
        await process.wait()


async def test_tether_serve_metrics_and_health() -> None:
    from tests.support import free_port, start_tether

    port = free_port()
    process = await start_tether(
        "serve", "tests.cli.app:io", "--port", str(port), "--metrics", "/prom", "--health"
    )
    try:
        assert process.stdout is not None
        await asyncio.wait_for(process.stdout.readline(), 20)
        status, _, body = await get(port, "/prom")
        assert status == 200 and b"tether_handshakes_total 0.0" in body
        status, _, body = await get(port, "/readyz")
        assert status == 200 and json.loads(body)["ready"] is True
    finally:
        process.terminate()
        await process.wait()


def utf8_size(parts: list[str | bytes]) -> int:
    return sum(len(part.encode() if isinstance(part, str) else part) for part in parts)


async def test_acks_the_server_sends_are_counted_in_utf8_bytes() -> None:
    """The acks of client events count as packets sent; text is counted in UTF-8 bytes."""
    io = tether.Server()

    @io.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    metrics.enable(io)
    payloads: list[Any] = ["héllo ✓ 1", "ascii", "日本語 ✓✓", b"\x00\xffbinary"]
    client = tether.Client(reconnection=False)
    async with serving(io) as port:
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        try:
            _, _, before = await get(port, "/metrics")
            for payload in payloads:
                assert await client.emit_with_ack("echo", payload, timeout=5) == payload
            _, _, after = await get(port, "/metrics")
        finally:
            await client.disconnect()
    was, now = samples(before.decode()), samples(after.decode())

    def delta(name: str) -> float:
        return now[(name, ())] - was[(name, ())]

    # The client numbers its acks from 0, in the order it emits.
    received = [encode_event("/", "echo", [p], ack_id) for ack_id, p in enumerate(payloads)]
    sent = [encode_ack("/", ack_id, [p]) for ack_id, p in enumerate(payloads)]
    assert delta("tether_events_received_total") == len(payloads)
    assert delta("tether_packets_received_total") == sum(len(parts) for parts in received)
    assert delta("tether_received_bytes_total") == sum(utf8_size(parts) for parts in received)
    assert delta("tether_packets_sent_total") == len(payloads)  # the acks
    assert delta("tether_events_sent_total") == 0
    assert delta("tether_sent_bytes_total") == sum(utf8_size(parts) for parts in sent)


async def test_broadcast_acks_are_timed_and_their_timeouts_counted(
    clients: list[NodeClient],
) -> None:
    """``to(room).timeout(...).emit_with_ack``: each reply in the histogram, each client that
    did not answer in time one timeout."""
    io = app()
    metrics.enable(io)
    async with serving(io) as port:
        url = f"http://127.0.0.1:{port}"
        for _ in range(3):
            client = await NodeClient.start(url, "/")
            clients.append(client)
            await client.connected()
        for socket in io.sockets.sockets.values():
            socket.join("room")
        assert await io.to("room").timeout(5).emit_with_ack("ping", 7) == [7, 7, 7]
        with pytest.raises(tether.AckTimeoutError):
            await io.to("room").timeout(0.2).emit_with_ack("noack")
        _, _, body = await get(port, "/metrics")
    found = samples(body.decode())
    assert found[("tether_ack_seconds_count", ())] == 3
    assert found[("tether_ack_seconds_bucket", (("le", "+Inf"),))] == 3
    assert 0 < found[("tether_ack_seconds_sum", ())] < 5
    assert found[("tether_ack_timeouts_total", ())] == 3
    assert found[("tether_broadcasts_total", ())] == 2
    assert found[("tether_broadcast_deliveries_total", ())] == 6
