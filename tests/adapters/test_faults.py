"""Faults in a cluster: Redis killed and restarted during traffic, a server that stops
answering in the middle of a request."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

import pytest
import redis.asyncio as aioredis

import tether
from tests.adapters.conftest import Cluster
from tests.adapters.support import NodePeer, tether_server, until_servers
from tests.support import RedisServer
from tether.adapters import notepack

pytestmark = [pytest.mark.interop, pytest.mark.cluster]


async def ticks(peer: NodePeer, name: str) -> list[int]:
    return [e[1] for e in await peer.call("client.received", name=name) if e[0] == "tick"]


@pytest.mark.parametrize("adapter", ["redis", "streams"])
async def test_redis_killed_and_restarted_during_traffic(
    caplog: pytest.LogCaptureFixture, adapter: str
) -> None:
    caplog.set_level(logging.WARNING, logger="tether")
    redis_server = RedisServer()
    redis_server.start()
    key = "t" + secrets.token_hex(4)
    clients = await NodePeer.start(redis_server.url, "clients-" + key)
    try:
        async with (
            tether_server(redis_server.url, key, "a", adapter=adapter) as (a, url_a),
            tether_server(redis_server.url, key, "b", adapter=adapter) as (_, url_b),
        ):
            await clients.call("client.connect", name="a", url=url_a, transports=["websocket"])
            await clients.call("client.connect", name="b", url=url_b, transports=["websocket"])
            sent = 0

            async def traffic() -> None:
                nonlocal sent
                while True:
                    a.emit("tick", sent)
                    sent += 1
                    await asyncio.sleep(0.01)

            sender = asyncio.create_task(traffic())
            try:
                await until_tick(clients, "b", 10)
                redis_server.kill()
                killed_at = sent
                await asyncio.sleep(1.0)
                # Local delivery never stopped: a got the ticks sent while Redis was away.
                got_a = await ticks(clients, "a")
                assert max(got_a) >= killed_at + 50
                assert got_a == list(range(len(got_a)))  # none lost, in order
                redis_server.start()
                restarted_at = sent
                await until_tick(clients, "b", restarted_at + 1, timeout=15)
                # Requests work again too.
                assert len(await a.fetch_sockets()) == 2
            finally:
                sender.cancel()
            assert await clients.call("client.connected", name="a") is True
    finally:
        await clients.stop()
        redis_server.kill()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    lost = [r for r in caplog.records if "subscriber lost" in r.getMessage()]
    assert 1 <= len(lost) <= 2  # once per server, not once per retry
    failed = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(failed) <= 2


async def until_tick(peer: NodePeer, name: str, at_least: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = await ticks(peer, name)
        if got and max(got) >= at_least:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} never got tick {at_least}: {(await ticks(peer, name))[-5:]}")


async def test_a_request_completes_with_the_answers_it_got_when_a_server_stops(
    cluster: Cluster,
) -> None:
    clients = await NodePeer.start(cluster.redis.url, "clients-" + cluster.key)
    try:
        ids = {
            name: await clients.call("client.connect", name=name, url=url, transports=["websocket"])
            for name, url in (("a", cluster.url_a), ("b", cluster.url_b))
        }
        assert await cluster.a.server_count() == 3
        cluster.node.pause()  # the Node server: still subscribed, never answers
        started = time.monotonic()
        sockets = await cluster.a.fetch_sockets()
        assert 1.5 < time.monotonic() - started < 5  # after requests_timeout (2 s)
        assert sorted(s.id for s in sockets) == sorted(ids.values())
        with pytest.raises(tether.AckTimeoutError) as info:
            await cluster.a.server_side_emit_with_ack("ping-servers", 5, timeout=1.0)
        assert info.value.responses == ["b:5"]
        with pytest.raises(tether.AckTimeoutError) as info:
            await cluster.b.timeout(1.0).emit_with_ack("ask")
        assert sorted(r["from"] for r in info.value.responses) == ["a", "b"]
        await cluster.node.stop()
        await until_servers(cluster.a, 2)
        assert len(await cluster.a.fetch_sockets()) == 2
        assert await cluster.a.server_side_emit_with_ack("ping-servers", 6) == ["b:6"]
    finally:
        await clients.stop()


async def test_a_server_alone_on_redis_answers_without_waiting(redis_server: RedisServer) -> None:
    key = "t" + secrets.token_hex(4)
    async with tether_server(redis_server.url, key, "solo") as (io, _):
        started = time.monotonic()
        assert await io.server_count() == 1
        assert await io.fetch_sockets() == []
        assert await io.all_rooms() == set()
        assert await io.server_side_emit_with_ack("ping-servers") == []
        assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("adapter", ["redis", "streams", "sharded"])
async def test_malformed_messages_on_the_channels_are_ignored(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture, adapter: str
) -> None:
    # Only tether servers here: Node's adapter throws on a broadcast it cannot decode.
    key = "t" + secrets.token_hex(4)
    clients = await NodePeer.start(redis_server.url, "clients-" + key)
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        async with (
            tether_server(redis_server.url, key, "a", adapter=adapter) as (a, url_a),
            tether_server(redis_server.url, key, "b", adapter=adapter) as (b, url_b),
        ):
            await clients.call("client.connect", name="a", url=url_a, transports=["websocket"])
            await clients.call("client.connect", name="b", url=url_b, transports=["websocket"])
            target: Any = b.sockets.adapter
            junk = (
                b"",
                b"\xc1",
                b"{not json",
                b'{"type": 99}',
                b'{"type": 2, "opts": 5}',
                b'{"type": 6, "data": 1}',
                b'{"type": 7, "requestId": "r", "packet": {"type": 0}}',
                b"[1,2]",
                b"\x93\xa1x\xc0\xc0",
                b"\x93\xa1x\x82\xa4type\x02\xa4data\x90\x80",
                notepack.pack({"uid": "x", "nsp": "/", "type": 3, "data": {"packet": 1}}),
                notepack.pack({"uid": "x", "nsp": "/", "type": 7, "data": {"opts": []}}),
                notepack.pack({"uid": "x", "nsp": "/", "type": 9, "data": {"packet": "e"}}),
                notepack.pack({"uid": "x", "nsp": "/", "type": 8, "data": {"requestId": 1}}),
                b'{"uid": "x", "nsp": "/", "type": 4, "data": {"opts": {}, "rooms": 3}}',
            )
            if adapter == "redis":
                for channel in (f"{key}#/#", f"{key}-request#/#", f"{key}-response#/#"):
                    for message in junk:
                        await client.publish(channel, message)
            elif adapter == "streams":
                for channel in (target.public_channel, target.private_channel):
                    for message in junk:
                        await client.publish(channel, message)
                entries: list[dict[str, Any]] = [
                    {"x": "y"},
                    {"uid": "x", "nsp": "/", "type": "nope"},
                    {"uid": "x", "nsp": "/", "type": "3", "data": "not base64 !"},
                    {"uid": "x", "nsp": "/", "type": "3", "data": "{broken"},
                    {"uid": "x", "nsp": "/", "type": "3", "data": '{"packet": 1}'},
                    {"uid": "x", "nsp": "/", "type": "4", "data": '{"rooms": "r"}'},
                ]
                for fields in entries:
                    await client.xadd(key, fields)
            else:
                for channel in (target.channel, target.response_channel):
                    for message in junk:
                        await client.spublish(channel, message)
            # Still working, for everyone.
            a.emit("after-junk")
            for name in ("a", "b"):
                for _ in range(250):
                    received = await clients.call("client.received", name=name)
                    if any(e[0] == "after-junk" for e in received):
                        break
                    await asyncio.sleep(0.02)
                else:
                    raise AssertionError(f"{name} lost the broadcast after junk")
            assert await b.server_count() == 2
            assert len(await b.fetch_sockets()) == 2
    finally:
        await client.aclose()
        await clients.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r for r in caplog.records if "ignoring" in r.getMessage()]
    assert not [r for r in caplog.records if "Traceback" in (r.exc_text or "")]
