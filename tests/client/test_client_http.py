"""The client's HTTP/1.1 connection and WebSocket opener, against scripted loopback servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from tether.client.http import HttpConnection, HttpError, Origin, open_websocket

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def scripted(script: Script) -> AsyncIterator[tuple[Origin, list[int]]]:
    """A server running ``script`` per connection; yields its origin and a connection count."""
    count = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        count[0] += 1
        try:
            await script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Origin("127.0.0.1", port, None), count
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[str, bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    length = 0
    for line in head.split("\r\n"):
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    return head, await reader.readexactly(length)


async def test_keep_alive_content_length_and_chunked() -> None:
    heads: list[str] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, body = await read_request(reader)
        heads.append(head)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        head, _ = await read_request(reader)
        heads.append(head)
        writer.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nX-A: 2\r\n\r\n"
            b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
        )
        await read_request(reader)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async with scripted(script) as (origin, count):
        http = HttpConnection(origin)
        response = await http.request("POST", "/a?x=1", [("X-Test", "1")], b"payload")
        assert (response.status, response.body) == (200, b"payload")
        response = await http.request("GET", "/b")
        assert response.body == b"hello world"
        assert response.headers["x-a"] == "1, 2"
        assert (await http.request("GET", "/c")).body == b""
        assert (await http.request("GET", "/d")).body == b"ok"
        assert count == [1]  # one keep-alive connection for all four
        assert heads[0].startswith("POST /a?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
        assert "X-Test: 1" in heads[0]
        assert "Content-Length: 7" in heads[0]
        with pytest.raises(ValueError):
            await http.request("GET", "/", [("X-Bad", "a\r\nb")])
        http.close()


async def test_body_until_eof_and_reopen() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n\r\nall of it")
        await writer.drain()

    async with scripted(script) as (origin, count):
        http = HttpConnection(origin)
        assert (await http.request("GET", "/")).body == b"all of it"
        assert (await http.request("GET", "/")).body == b"all of it"
        assert count == [2]


@pytest.mark.parametrize(
    "answer",
    [
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"",
    ],
)
async def test_malformed_responses(answer: bytes) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer)
        await writer.drain()

    async with scripted(script) as (origin, _):
        with pytest.raises(HttpError):
            await HttpConnection(origin).request("GET", "/")


async def test_refused_connection_and_websocket_upgrade() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with scripted(script) as (origin, _):
        with pytest.raises(HttpError) as info:
            await open_websocket(origin, "/ws")
        assert info.value.status == 400
    with pytest.raises(HttpError):
        await HttpConnection(Origin("127.0.0.1", 1, None)).request("GET", "/")


def test_host_header() -> None:
    assert Origin("example.com", 80, None).host_header == "example.com"
    assert Origin("example.com", 8080, None).host_header == "example.com:8080"
    assert Origin("::1", 3000, None).host_header == "[::1]:3000"
