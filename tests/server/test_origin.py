"""Same-origin requests without ``cors_origins``: scheme, host and port must all match,
natively (polling and WebSocket) and under ASGI."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import tether
from tests.aio.helpers import WsClient, request
from tests.support import serving
from tether.aio.asgi import ASGIApp

POLLING = "/socket.io/?EIO=4&transport=polling"


async def test_polling_origin_needs_the_same_scheme() -> None:
    async with serving(tether.Server()) as port:
        # the request helper sends "Host: 127.0.0.1", the server speaks plain http
        same = await request(port, "GET", POLLING, headers={"Origin": "http://127.0.0.1"})
        assert same.status == 200
        also = await request(port, "GET", POLLING, headers={"Origin": "http://127.0.0.1:80"})
        assert also.status == 200
        https = await request(port, "GET", POLLING, headers={"Origin": "https://127.0.0.1"})
        assert https.status == 403
        https = await request(port, "GET", POLLING, headers={"Origin": "https://127.0.0.1:80"})
        assert https.status == 403


async def test_websocket_origin_needs_the_same_scheme_and_port() -> None:
    async with serving(tether.Server()) as port:
        target = "/socket.io/?EIO=4&transport=websocket"
        # WsClient sends "Host: 127.0.0.1:<port>"
        ws = await WsClient.connect(port, target, headers={"Origin": f"http://127.0.0.1:{port}"})
        await ws.close()
        for origin in (f"https://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"):
            with pytest.raises(Exception, match="403"):
                await WsClient.connect(port, target, headers={"Origin": origin})


async def _asgi_status(app: ASGIApp, scheme: str, origin: str) -> int:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": scheme,
        "path": "/socket.io/",
        "query_string": b"EIO=4&transport=polling",
        "headers": [(b"host", b"example.com"), (b"origin", origin.encode())],
        "client": ("127.0.0.1", 1),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), 2)
    return int(sent[0]["status"])


async def test_asgi_origin_needs_the_same_scheme() -> None:
    io = tether.Server()
    app = ASGIApp(io)
    assert await _asgi_status(app, "http", "http://example.com") == 200
    assert await _asgi_status(app, "https", "https://example.com") == 200
    assert await _asgi_status(app, "http", "https://example.com") == 403
    assert await _asgi_status(app, "https", "http://example.com") == 403
    io.engine.shutdown()
