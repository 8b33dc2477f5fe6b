"""Under ASGI the adapters start and stop with the lifespan, also when another app answers
the lifespan messages."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

import tether
from tests.support import RedisServer
from tether.adapters.redis import create_adapter

pytestmark = [pytest.mark.cluster]


async def other_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "lifespan"
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


@pytest.mark.parametrize("with_other_app", [False, True])
async def test_the_lifespan_starts_and_stops_the_adapters(
    redis_server: RedisServer, with_other_app: bool
) -> None:
    key = "l" + secrets.token_hex(4)
    io = tether.Server(adapter=create_adapter(redis_server.url, key=key))
    app = tether.ASGIApp(io, other_asgi_app=other_app if with_other_app else None)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[str] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    await inbox.put({"type": "lifespan.startup"})
    task = asyncio.create_task(app({"type": "lifespan"}, inbox.get, send))
    while "lifespan.startup.complete" not in sent:
        await asyncio.sleep(0.01)
    # Subscribed by the time the app says it has started.
    assert redis_server.numsub(f"{key}-request#/#") == 1
    await inbox.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(task, 5)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    for _ in range(100):
        if redis_server.numsub(f"{key}-request#/#") == 0:
            break
        await asyncio.sleep(0.02)
    assert redis_server.numsub(f"{key}-request#/#") == 0
