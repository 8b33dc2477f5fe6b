"""``tether serve app:io --workers 2``: one port, two processes, no sticky sessions. Every
long-polling request and every upgrade reaches the worker that owns its session, and
broadcasts reach the clients of both workers (relayed by the parent, or through Redis when
the app has the Redis adapter)."""

from __future__ import annotations

import asyncio
import secrets
import signal
from collections.abc import AsyncIterator

import pytest

from tests.adapters.support import NodePeer
from tests.support import start_tether

pytestmark = [pytest.mark.interop]


@pytest.fixture(params=["parent", "redis"])
async def workers(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    env: dict[str, str] = {}
    if request.param == "redis":
        redis_server = request.getfixturevalue("redis_server")
        env["TETHER_TEST_REDIS"] = redis_server.url
        env["TETHER_TEST_KEY"] = "w" + secrets.token_hex(4)
    process = await start_tether(
        "serve", "tests.cli.workers_app:io", "--port", "0", "--workers", "2", env=env
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
    assert "with 2 workers" in line, line
    url = line.split(" on ")[1].split()[0]
    try:
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0


async def received(peer: NodePeer, name: str, event: str) -> list[list[object]]:
    return [e for e in await peer.call("client.received", name=name) if e[0] == event]


@pytest.mark.parametrize("transports", [["polling"], ["polling", "websocket"]])
async def test_requests_reach_the_worker_that_owns_the_session(
    workers: str, transports: list[str]
) -> None:
    peer = await NodePeer.start(None)
    try:
        names = [f"c{i}" for i in range(6)]
        for name in names:
            await peer.call("client.connect", name=name, url=workers, transports=transports)
        pids = {}
        for name in names:
            pids[name] = await peer.call("client.emitWithAck", name=name, event="whoami")
            for i in range(5):  # each a poll and a post, routed again and again
                echoed = await peer.call(
                    "client.emitWithAck", name=name, event="echo", args=[i, {"$bin": "0a"}]
                )
                assert echoed == [i, {"$bin": "0a"}]
        assert len(set(pids.values())) == 2  # both workers serve, in turn
        assert await peer.call("client.emitWithAck", name="c0", event="count") == 6
        # A broadcast from one worker reaches the clients of both.
        assert await peer.call("client.emitWithAck", name="c1", event="shout", args=[None, "hi"])
        for name in names:
            for _ in range(250):
                got = await received(peer, name, "shouted")
                if got:
                    break
                await asyncio.sleep(0.02)
            assert got == [["shouted", "hi", pids["c1"]]], name
        # Rooms too: c0 and c3 join; a room broadcast from c5's worker reaches only them.
        for name in ("c0", "c3"):
            await peer.call("client.emitWithAck", name=name, event="join", args=["r"])
        await peer.call("client.emitWithAck", name="c5", event="shout", args=["r", "room"])
        for _ in range(250):
            counts = [len(await received(peer, n, "shouted")) for n in ("c0", "c3")]
            if counts == [2, 2]:
                break
            await asyncio.sleep(0.02)
        for name in names:
            texts = [e[1] for e in await received(peer, name, "shouted")]
            assert texts == (["hi", "room"] if name in ("c0", "c3") else ["hi"]), name
        for name in names:
            assert await peer.call("client.connected", name=name) is True
    finally:
        await peer.stop()


def test_route() -> None:
    from tether.cli.workers import route

    assert (
        route(b"GET /socket.io/?EIO=4&transport=polling&sid=1.abc HTTP/1.1\r\n", 2, lambda: 0) == 1
    )
    assert route(b"POST /socket.io/?sid=0.x&EIO=4 HTTP/1.1\r\nHost: h\r\n", 2, lambda: 1) == 0
    assert route(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n", 2, lambda: 1) == 1
    assert route(b"GET /socket.io/?sid=7.x HTTP/1.1\r\n", 2, lambda: 0) == 0  # no such worker
    assert route(b"GET /socket.io/?sid=abc HTTP/1.1\r\n", 2, lambda: 1) == 1
    assert route(b"GET / HTTP/1.1\r\n", 2, lambda: 0) == 0


def test_new_sessions_take_turns_apart_from_other_requests() -> None:
    from tether.cli.workers import Turns

    turns = Turns(2)
    page = b"GET / HTTP/1.1\r\nHost: h\r\n"
    handshake = b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n"
    # A browser loads a page, then opens a session, again and again: the sessions alternate.
    picked = [(turns.pick(page), turns.pick(handshake))[1] for _ in range(4)]
    assert picked == [0, 1, 0, 1]
    assert turns.pick(b"POST /socket.io/?EIO=4&transport=polling&sid=1.x HTTP/1.1\r\n") == 1
    assert [turns.pick(page) for _ in range(2)] == [0, 1]


async def test_a_namespace_on_one_worker_only_does_not_wait_for_the_others(workers: str) -> None:
    peer = await NodePeer.start(None)
    try:
        await peer.call("client.connect", name="d", url=workers, nsp="/dyn-1")
        await peer.call("client.connect", name="e", url=workers, nsp="/dyn-1")
        # Both workers may have /dyn-1 now (the clients went to each in turn) or one only:
        # either way every client answers and nobody waits for a worker without it.
        started = asyncio.get_running_loop().time()
        assert await peer.call("client.emitWithAck", name="d", event="gather") == 2
        assert asyncio.get_running_loop().time() - started < 1.5
        await peer.call("client.connect", name="f", url=workers, nsp="/dyn-2")
        assert await peer.call("client.emitWithAck", name="f", event="gather") == 1
    finally:
        await peer.stop()
