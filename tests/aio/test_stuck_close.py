"""A peer that stops reading cannot hold a closed connection open: after ``close_timeout``
the server aborts it."""

from __future__ import annotations

import asyncio
import base64
import os
import socket

import pytest

from tests.aio.helpers import EngineApp, listening
from tether.aio import websocket
from tether.aio.engine import EngineServer, EngineSocket
from tether.aio.listener import Router
from tether.eio.options import EngineOptions


async def test_a_peer_that_never_reads_is_aborted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(websocket, "CLOSE_TIMEOUT", 0.3)

    def connected(session: EngineSocket) -> None:
        for _ in range(400):
            session.send("x" * 10_000)  # 4 MB that the peer will never read

    app = EngineApp(echo=False, on_open=connected)
    reasons = app.closed
    engine = EngineServer(EngineOptions(ping_interval=0.2, ping_timeout=0.2), app)

    async with listening(Router(engine)) as listener:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", listener.port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.send(
            (
                "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
                f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await asyncio.sleep(0.8)  # ping timeout, then the closing handshake, then the abort
        assert reasons == ["ping timeout"]
        for _ in range(40):
            if not listener.connections:
                break
            await asyncio.sleep(0.1)
        assert not listener.connections, "the connection is still open"
        sock.close()
