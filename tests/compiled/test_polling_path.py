"""The compiled build's long-polling path runs no interpreted code of its own.

A POST carrying an event with an ack, then the GET that fetches the ack, through the real
:class:`HttpProtocol` and the server's router (client bundle first, then the engine), with
the interpreter's profiler on: the only Python functions it may see called are the app's
handler, the test's fake transport and the event loop's (asyncio's here, uvloop's is not
Python). Interpreted code in between (an Enum hashed, a
NamedTuple built, a module not compiled) costs far more than the compiled code around it.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
import pytest

import tether
from tests.fakes import FakeTransport, get_connected_protocol

pytestmark = pytest.mark.skipif(not tether.compiled, reason="the compiled build only")

#: Where the Python functions it may call are: the tests' own, and asyncio's loop.
ALLOWED = (str(Path(__file__).resolve().parent.parent), str(Path(asyncio.__file__).parent))
BASE = b"/socket.io/?EIO=4&transport=polling"


def request(method: bytes, query: bytes, body: bytes = b"") -> bytes:
    head = b"%s %s%s HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n"
    return head % (method, BASE, query, len(body)) + body


def interpreted_calls(transport: FakeTransport, data: bytes) -> list[str]:
    """The Python functions called while ``data`` is received, but the allowed ones."""
    calls: list[str] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        code = frame.f_code
        if event == "call" and not code.co_filename.startswith(ALLOWED):
            calls.append(f"{code.co_filename}:{code.co_firstlineno} {code.co_qualname}")

    protocol = transport.protocol
    assert protocol is not None
    sys.setprofile(profile)
    try:
        protocol.data_received(data)
    finally:
        sys.setprofile(None)
    return calls


async def answer(transport: FakeTransport) -> bytes:
    """The body of the next answer written."""
    for _ in range(10):
        if b"\r\n\r\n" in transport.written:
            break
        await asyncio.sleep(0)
    written = transport.take()
    return written[written.index(b"\r\n\r\n") + 4 :]


async def test_a_polling_event_and_its_ack_run_compiled_code_only() -> None:
    io = tether.Server()

    @io.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> Any:
        return args

    _protocol, transport = get_connected_protocol(io.router)
    try:
        transport.feed(request(b"GET", b""))
        sid = orjson.loads((await answer(transport))[1:])["sid"].encode()
        query = b"&sid=" + sid
        transport.feed(request(b"POST", query, b"40"))
        assert await answer(transport) == b"ok"
        transport.feed(request(b"GET", query))
        assert (await answer(transport)).startswith(b'40{"sid"')
        for _ in range(2):  # the second time, every cache on the way is warm
            post = interpreted_calls(transport, request(b"POST", query, b'421["echo","x"]'))
            assert await answer(transport) == b"ok"
            get = interpreted_calls(transport, request(b"GET", query))
            assert await answer(transport) == b'431["x"]'
        assert post == []
        assert get == []
    finally:
        transport.lose()
        await io.close()
