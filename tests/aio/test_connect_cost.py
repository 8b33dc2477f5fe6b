"""What one WebSocket connection costs the server: no timer of its own (#20), and an open
packet made from a per-transport template that still says exactly what ``open_packet`` says."""

from __future__ import annotations

import asyncio
import base64
import os
from typing import Any

import orjson

import tether
from bench.micro import client_frame
from tests.fakes import FakeTransport, get_connected_protocol
from tether.eio.handshake import open_packet


def upgrade_request() -> bytes:
    key = base64.b64encode(os.urandom(16))
    return (
        b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: test\r\n"
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )


async def connect(io: tether.Server) -> FakeTransport:
    """One client: the upgrade, the open packet, CONNECT to "/" and its answer."""
    _, transport = get_connected_protocol(io.router)
    transport.feed(upgrade_request())
    await asyncio.sleep(0)
    transport.feed(client_frame(b"40"))
    await asyncio.sleep(0)
    assert transport.written.startswith(b"HTTP/1.1 101"), bytes(transport.written[:80])
    assert b'40{"sid":"' in transport.written, bytes(transport.written)
    return transport


async def count_timers(loop: Any) -> tuple[int, list[FakeTransport]]:
    io = tether.Server()
    kept = [await connect(io) for _ in range(2)]  # the shared queues' timers are made here
    made = 0
    call_at = loop.call_at

    def counting_call_at(*args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        nonlocal made
        made += 1
        return call_at(*args, **kwargs)

    loop.call_at = counting_call_at  # call_later goes through it too
    try:
        kept += [await connect(io) for _ in range(10)]
    finally:
        del loop.call_at
    for transport in kept:
        transport.lose()
    await io.close()
    return made, kept


def test_a_websocket_connection_makes_no_timer_of_its_own() -> None:
    # The keep-alive deadline of a new connection and the connect timeout of a new session
    # are entries in queues every connection shares, not a TimerHandle each.
    loop = asyncio.SelectorEventLoop()  # a Python loop, whose call_at can be watched
    try:
        made, kept = loop.run_until_complete(count_timers(loop))
    finally:
        loop.close()
    assert len(kept) == 12
    assert made == 0


async def test_the_open_packet_is_open_packets_with_any_sid() -> None:
    io = tether.Server(ping_interval=12.5, ping_timeout=7.0, max_http_buffer_size=12345)
    engine = io.engine
    engine.sid_prefix = 'w"1\\.'  # not what a prefix is, but JSON must still be right
    transport = await connect(io)
    text = bytes(transport.written).split(b"\r\n\r\n", 1)[1]
    opening = text[2 : 2 + text[1]].decode()  # the first frame: the open packet
    sid = orjson.loads(opening[1:])["sid"]
    assert sid.startswith('w"1\\.')
    opts = engine.options
    assert opening == open_packet(
        sid, [], opts.ping_interval, opts.ping_timeout, opts.max_http_buffer_size
    )
    transport.lose()
    await io.close()
