"""A hung Redis (stopped with SIGSTOP, its sockets open) is said once, and its return once."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal

import pytest

import tether
from tests.support import RedisServer, until
from tether.adapters.redis import create_adapter
from tether.adapters.redis.sharded import create_adapter as create_sharded_adapter
from tether.adapters.redis.streams import create_adapter as create_streams_adapter

pytestmark = [pytest.mark.cluster]

STALL_AFTER = 0.3


def _records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "tether.redis" and r.levelno == level and "answer" in r.getMessage()
    ]


@pytest.mark.parametrize("adapter", ["redis", "sharded", "streams"])
async def test_a_stopped_redis_is_said_once_and_its_return_once(
    caplog: pytest.LogCaptureFixture, redis_server: RedisServer, adapter: str
) -> None:
    caplog.set_level(logging.INFO, logger="tether.redis")
    url = redis_server.url
    key = "t" + secrets.token_hex(4)
    if adapter == "redis":
        factory = create_adapter(url, key=key, stall_after=STALL_AFTER)
    elif adapter == "sharded":
        factory = create_sharded_adapter(url, channel_prefix=key, stall_after=STALL_AFTER)
    else:
        factory = create_streams_adapter(
            url, stream_name=key, channel_prefix=key, block_time=0.1, stall_after=STALL_AFTER
        )
    io = tether.Server(adapter=factory)
    await io.start()
    assert redis_server.process is not None
    pid = redis_server.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        io.emit("tick", 0)  # published for the other servers: no reply comes
        await until(lambda: _records(caplog, logging.WARNING), "the warning", timeout=5)
        # More commands, and several times the delay: still one warning.
        for n in range(1, 3):
            io.emit("tick", n)
            await asyncio.sleep(STALL_AFTER)
        assert len(_records(caplog, logging.WARNING)) == 1
        assert _records(caplog, logging.INFO) == []
    finally:
        os.kill(pid, signal.SIGCONT)
    await until(lambda: _records(caplog, logging.INFO), "the recovery", timeout=5)
    io.emit("tick", 4)
    await asyncio.sleep(STALL_AFTER * 2)
    assert len(_records(caplog, logging.WARNING)) == 1
    assert len(_records(caplog, logging.INFO)) == 1
    await io.close_adapters()
