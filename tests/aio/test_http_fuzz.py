"""Random and mutated bytes into the HTTP protocol (no sockets): it never raises out of its
callbacks, and whatever it answers is a well-formed HTTP response."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.aio.helpers import EngineApp
from tests.fakes import get_connected_protocol
from tether.aio.engine import EngineServer
from tether.aio.listener import Router
from tether.eio.options import EngineOptions
from tether.http.messages import HttpLimits

VALID = [
    b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /engine.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n4hi",
    b"GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
]


def mutate(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    buffer = bytearray(data)
    for position, value in flips:
        if buffer:
            buffer[position % len(buffer)] = value
    return bytes(buffer)


def feed(chunks: list[bytes]) -> bytes:
    async def run() -> bytes:
        engine = EngineServer(EngineOptions(ping_interval=60, ping_timeout=60), EngineApp())
        protocol, transport = get_connected_protocol(
            Router(engine), limits=HttpLimits(max_body=1000)
        )
        for chunk in chunks:  # straight in, even where a transport would pause reading
            protocol.data_received(chunk)
        await asyncio.sleep(0)
        transport.lose()
        engine.shutdown()
        return bytes(transport.written)

    return asyncio.run(run())


def check_answer(written: bytes) -> None:
    if written:
        assert written.startswith(b"HTTP/1.1 "), written[:40]
        status = int(written[9:12])
        assert status in {101, 200, 204, 400, 403, 404, 405, 408, 413, 414, 426, 431}, status


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=5))
def test_random_bytes(chunks: list[bytes]) -> None:
    check_answer(feed(chunks))


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(VALID),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    st.integers(1, 50),
)
def test_mutated_requests(request: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = mutate(request, flips)
    check_answer(feed([data[i : i + cut] for i in range(0, len(data), cut)]))
