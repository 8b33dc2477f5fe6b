"""``tether serve module:app`` where ``app`` is a ``tether.ASGIApp``: FastAPI, Django and Flask
(through a2wsgi) hosted by the native server, with ``--workers 2``, beside Socket.IO served on
its fast path to official ``socket.io-client`` clients (polling only: every request routed
to the worker that owns its session)."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect as ws_connect

from tests.adapters.support import NodePeer
from tests.aio.helpers import read_chunked, read_response, render_request, request
from tests.support import ENV, start_tether
from tether import ws

pytestmark = [pytest.mark.interop]


class Served:
    def __init__(self, process: asyncio.subprocess.Process, url: str) -> None:
        self.process = process
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])

    async def stop(self) -> str:
        """SIGTERM; what the server printed after its first line."""
        self.process.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(self.process.communicate(), 20)
        assert self.process.returncode == 0
        return out.decode()


async def serve(target: str, *args: str) -> Served:
    process = await start_tether("serve", target, "--port", "0", *args)
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
    assert line.startswith(f"tether: serving {target} on http://127.0.0.1:"), line
    return Served(process, line.split(" on ")[1].split()[0])


@pytest.fixture
async def peer() -> AsyncIterator[NodePeer]:
    node = await NodePeer.start(None)
    try:
        yield node
    finally:
        await node.stop()


async def received(peer: NodePeer, name: str, event: str) -> list[list[Any]]:
    return [e for e in await peer.call("client.received", name=name) if e[0] == event]


async def connect_polling_clients(peer: NodePeer, url: str, count: int) -> dict[str, int]:
    """``count`` polling-only clients that join room ``r`` and exchange acks; their pids."""
    pids = {}
    for i in range(count):
        name = f"c{i}"
        await peer.call("client.connect", name=name, url=url, transports=["polling"])
    for i in range(count):
        name = f"c{i}"
        pids[name] = await peer.call("client.emitWithAck", name=name, event="whoami")
        assert await peer.call("client.emitWithAck", name=name, event="join", args=["r"]) == (
            "joined"
        )
        for j in range(3):
            echoed = await peer.call(
                "client.emitWithAck", name=name, event="echo", args=[j, {"$bin": "0a"}]
            )
            assert echoed == [j, {"$bin": "0a"}]
    return pids


async def all_receive(peer: NodePeer, names: list[str], event: str) -> list[list[Any]]:
    got: list[list[Any]] = []
    for name in names:
        for _ in range(500):
            got = await received(peer, name, event)
            if got:
                break
            await asyncio.sleep(0.01)
        assert got, f"{name} got no {event}"
    return got


async def test_fastapi_under_tether_serve_with_two_workers(peer: NodePeer) -> None:
    served = await serve("tests.cli.fastapi_app:app", "--workers", "2")
    try:
        pids = await connect_polling_clients(peer, served.url, 8)
        assert len(set(pids.values())) == 2  # both workers hold sessions
        # A REST route on one worker emits to the room: the clients of both receive it.
        response = await request(
            served.port,
            "POST",
            "/rooms/r/emit",
            b'{"text": "hello"}',
            {"Content-Type": "application/json"},
        )
        assert response.status == 200
        emitter = orjson.loads(response.body)["pid"]
        for name in pids:
            assert (await all_receive(peer, [name], "news"))[0] == ["news", "hello", emitter]
        # Lifespan state, in each worker.
        seen = set()
        for _ in range(4):
            state = orjson.loads((await request(served.port, "GET", "/state")).body)
            assert state["started_by"] == state["pid"]
            seen.add(state["pid"])
        assert seen == set(pids.values())
        # A streaming answer (chunked), an upload bigger than Socket.IO's body limit.
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(render_request("GET", "/stream?count=50"))
        head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).lower()
        assert b"transfer-encoding: chunked" in head
        chunks = await asyncio.wait_for(read_chunked(reader), 5)
        writer.close()
        assert b"".join(chunks) == b"".join(b"line %d\n" % i for i in range(50))
        upload = bytes(range(256)) * 12_000  # 3 MB; Socket.IO's max_http_buffer_size is 1 MB
        response = await request(served.port, "POST", "/upload", upload, timeout=20)
        assert orjson.loads(response.body) == {
            "size": len(upload),
            "sha256": hashlib.sha256(upload).hexdigest(),
        }
        # The app's own WebSocket route, on tether's WebSocket.
        async with ws_connect(f"{served.url.replace('http', 'ws')}/ws", subprotocols=["v1"]) as ws:
            assert ws.subprotocol == "v1"
            await ws.send("hi")
            assert await ws.recv() == "echo: hi"
        # The clients are all still there, acks flowing.
        for name in pids:
            assert await peer.call("client.emitWithAck", name=name, event="echo", args=[1]) == [1]
    finally:
        out = await served.stop()
    assert out.count("lifespan shutdown") == 2, out  # both workers (their lines may interleave)


async def test_django_under_tether_serve_with_two_workers(peer: NodePeer) -> None:
    served = await serve("tests.cli.django_app:app", "--workers", "2")
    try:
        pids = await connect_polling_clients(peer, served.url, 8)
        assert len(set(pids.values())) == 2
        response = await request(served.port, "GET", "/hello?q=1")
        assert response.status == 200
        assert orjson.loads(response.body) == {"framework": "django", "path": "/hello", "q": "1"}
        response = await request(served.port, "POST", "/rooms/r/emit", b"from django")
        emitter = orjson.loads(response.body)["pid"]
        for name in pids:
            assert (await all_receive(peer, [name], "news"))[0] == ["news", "from django", emitter]
    finally:
        await served.stop()


async def test_flask_through_a2wsgi_under_tether_serve() -> None:
    served = await serve("tests.cli.flask_app:app")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        for text in (b"one", b"two"):  # keep-alive: both on one connection
            writer.write(render_request("POST", "/echo", text))
            response = await asyncio.wait_for(read_response(reader), 5)
            assert orjson.loads(response.body) == {"framework": "flask", "body": text.decode()}
        writer.close()
    finally:
        await served.stop()


async def test_a_failed_lifespan_startup_stops_tether_serve(tmp_path: Any) -> None:
    (tmp_path / "failing_app.py").write_text(
        "import tether\n"
        "async def api(scope, receive, send):\n"
        "    await receive()\n"
        "    await send({'type': 'lifespan.startup.failed', 'message': 'no database'})\n"
        "app = tether.ASGIApp(tether.Server(), other_asgi_app=api)\n"
    )
    for workers in ("1", "2"):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tether",
            "serve",
            "failing_app:app",
            "--port",
            "0",
            "--workers",
            workers,
            cwd=tmp_path,
            env=ENV,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 1, err
        assert "lifespan startup failed: no database" in err.decode()


async def test_one_kept_alive_connection_reaches_the_sessions_of_both_workers() -> None:
    served = await serve("tests.cli.fastapi_app:app", "--workers", "2")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)

        async def call(method: str, target: str, body: bytes = b"") -> Any:
            writer.write(render_request(method, target, body))
            response = await asyncio.wait_for(read_response(reader), 5)
            assert response.status == 200, response
            assert response.headers.get("connection") != "close"
            return response

        # New sessions on a connection that is kept alive still go to the workers in turn.
        sids: dict[str, str] = {}
        for _ in range(4):
            handshake = await call("GET", "/socket.io/?EIO=4&transport=polling")
            sid = orjson.loads(handshake.body[1:])["sid"]
            sids.setdefault(sid.split(".")[0], sid)
        assert sorted(sids) == ["0", "1"]
        # Each request reaches the worker of its session, on the same connection.
        for sid in sids.values():
            assert (
                await call("POST", f"/socket.io/?EIO=4&transport=polling&sid={sid}", b"40")
            ).body == b"ok"
        for sid in sids.values():
            packet = (await call("GET", f"/socket.io/?EIO=4&transport=polling&sid={sid}")).body
            assert packet.startswith(b"40{"), packet
        # The app's requests stay on the connection's worker, kept alive.
        first = orjson.loads((await call("GET", "/state")).body)["pid"]
        assert orjson.loads((await call("GET", "/state")).body)["pid"] == first
        # An upgrade for the session of the worker this connection is not on (it is on the
        # worker of the last poll) is handed back too, and the probe answered by its session.
        other = sids["1" if list(sids)[-1] == "0" else "0"]
        head, key = ws.build_client_request(
            f"127.0.0.1:{served.port}", f"/socket.io/?EIO=4&transport=websocket&sid={other}"
        )
        writer.write(head)
        response = await asyncio.wait_for(read_response(reader), 5)
        ws.check_client_response(response.status, response.headers, key)
        client = ws.Connection(ws.Side.CLIENT)
        writer.write(client.send_text("2probe"))
        events = []
        while not events:
            events = client.receive_data(await asyncio.wait_for(reader.read(65536), 5))
        assert events[0] == "3probe"
        writer.close()
    finally:
        await served.stop()
