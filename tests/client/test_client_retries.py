"""``retries`` / ``ack_timeout``: emits delivered at least once, in order, as socket.io-client."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import tether
from tests.support import serving, until
from tether.client import Client


def flaky_server(drop_first: int) -> tuple[tether.Server, list[Any]]:
    """A server that ignores the first ``drop_first`` deliveries of each value, then acks."""
    io = tether.Server()
    seen: list[Any] = []

    @io.on("store")
    async def store(socket: tether.Socket, value: Any) -> Any:
        seen.append(value)
        if seen.count(value) <= drop_first:
            await asyncio.sleep(3600)  # never answers this delivery
        return ("stored", value)

    return io, seen


async def test_an_unanswered_emit_is_sent_again_until_acknowledged() -> None:
    io, seen = flaky_server(drop_first=2)
    async with serving(io) as port:
        client = Client(retries=3, ack_timeout=0.1)
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        assert await client.emit_with_ack("store", "a") == ("stored", "a")
        assert seen == ["a", "a", "a"]
        await client.disconnect()


async def test_retries_exhausted_raise_the_timeout() -> None:
    io, seen = flaky_server(drop_first=10)
    async with serving(io) as port:
        client = Client(retries=2, ack_timeout=0.05)
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        with pytest.raises(tether.AckTimeoutError):
            await client.emit_with_ack("store", "b")
        assert seen == ["b", "b", "b"]  # one try and two retries
        await client.disconnect()


async def test_queued_emits_go_one_at_a_time_in_order() -> None:
    io, seen = flaky_server(drop_first=1)
    async with serving(io) as port:
        client = Client(retries=5, ack_timeout=0.1)
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        client.emit("store", 1)
        client.emit("store", 2)
        await until(lambda: seen.count(2) == 2)
        # 2 is not sent before 1 was acknowledged (after its retry).
        assert seen == [1, 1, 2, 2]
        await client.disconnect()


async def test_an_emit_in_flight_is_sent_again_after_a_reconnection() -> None:
    io = tether.Server()
    seen: list[Any] = []

    @io.on("store")
    def store(socket: tether.Socket, value: Any) -> Any:
        seen.append(value)
        if len(seen) == 1:
            socket.conn.engine.close_now("transport close")  # the first delivery is lost
            return None
        return "ok"

    async with serving(io) as port:
        client = Client(retries=1, ack_timeout=5, reconnection_delay=0.05)
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        assert await asyncio.wait_for(client.emit_with_ack("store", "c"), 5) == "ok"
        assert seen == ["c", "c"]
        await client.disconnect()
