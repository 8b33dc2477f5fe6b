"""The ASGI app driven directly with ASGI messages (uvicorn runs it in tests/interop)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

import tether
from tether.aio.asgi import ASGIApp


def websocket_scope() -> dict[str, Any]:
    return {
        "type": "websocket",
        "path": "/socket.io/",
        "query_string": b"EIO=4&transport=websocket",
        "headers": [(b"host", b"x")],
        "client": ("127.0.0.1", 1),
    }


async def run_websocket(app: ASGIApp, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for message in messages:
        inbox.put_nowait(message)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "websocket.send" and message.get("text", "").startswith("40"):
            inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})

    await asyncio.wait_for(app(websocket_scope(), receive, send), 2)
    return sent


async def test_async_allow_request_accepts_websockets_under_asgi() -> None:
    async def allow(request: Any) -> None:
        await asyncio.sleep(0.01)

    io = tether.Server(allow_request=allow)
    sent = await run_websocket(
        ASGIApp(io),
        [{"type": "websocket.connect"}, {"type": "websocket.receive", "text": "40"}],
    )
    assert sent[0]["type"] == "websocket.accept"
    assert sent[1]["text"].startswith("0")
    assert orjson.loads(sent[2]["text"][2:])["sid"]
    await asyncio.sleep(0.05)
    assert io.engine.sessions == {}


async def test_async_allow_request_can_refuse_under_asgi() -> None:
    async def refuse(request: Any) -> str:
        return "no"

    io = tether.Server(allow_request=refuse)
    sent = await run_websocket(ASGIApp(io), [{"type": "websocket.connect"}])
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert io.engine.sessions == {}


async def test_oversized_messages_close_with_1009_under_asgi() -> None:
    io = tether.Server(max_http_buffer_size=10)
    sent = await run_websocket(
        ASGIApp(io),
        [{"type": "websocket.connect"}, {"type": "websocket.receive", "text": "4" + "x" * 20}],
    )
    assert sent[-1] == {"type": "websocket.close", "code": 1009, "reason": ""}


async def test_fail_under_asgi_closes_with_its_code_after_what_was_sent() -> None:
    from tether.aio.asgi import _AsgiWebSocket
    from tether.aio.websocket import DETACHED

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    websocket = _AsgiWebSocket(send, DETACHED, 100, 1000)
    pump = asyncio.ensure_future(websocket.pump())
    websocket.send_text("4a")
    websocket.fail(1002)
    websocket.send_text("4late")
    websocket.fail(1011)
    await asyncio.wait_for(pump, 2)
    assert sent == [
        {"type": "websocket.send", "text": "4a"},
        {"type": "websocket.close", "code": 1002, "reason": ""},
    ]
    assert websocket.failed
