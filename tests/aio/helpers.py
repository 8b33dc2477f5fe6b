"""Raw HTTP over loopback for the asyncio-layer tests: what a client sends, byte for byte."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from tether.aio.engine_socket import EngineSocket, SessionHandler
from tether.aio.listener import Listener, serve
from tether.http.exchange import HttpApp
from tether.http.messages import HttpLimits


class Response:
    """A parsed HTTP/1.1 response."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode()

    def __repr__(self) -> str:
        return f"Response({self.status}, {self.headers}, {self.body[:80]!r})"


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def read_response(reader: asyncio.StreamReader) -> Response:
    """Read one response with a Content-Length body."""
    status, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return Response(status, headers, body)


async def read_chunked(reader: asyncio.StreamReader) -> list[bytes]:
    """Read a chunked body (after its head); its chunks."""
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n"))[:-2], 16)
        data = await reader.readexactly(size + 2)
        if size == 0:
            return chunks
        chunks.append(data[:-2])


def take_response(buffer: bytearray) -> Response | None:
    """The first response in ``buffer`` (removed from it), or ``None`` while it is incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    status, headers = _parse_head(bytes(buffer[:end]))
    start = end + 4
    length = int(headers.get("content-length", "0"))
    if len(buffer) < start + length:
        return None
    body = bytes(buffer[start : start + length])
    del buffer[: start + length]
    return Response(status, headers, body)


def render_request(
    method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def request(
    port: int,
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> Response:
    """One request on a fresh connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(render_request(method, target, body, headers))
        return await asyncio.wait_for(read_response(reader), timeout)
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def listening(app: HttpApp, limits: HttpLimits | None = None) -> AsyncIterator[Listener]:
    """Serve ``app`` on a free loopback port for the duration of the block."""
    listener = await serve(app, "127.0.0.1", 0, limits=limits)
    try:
        yield listener
    finally:
        await listener.shutdown(grace=1.0)


class WsClient:
    """A WebSocket client over loopback made of our own sans-I/O client ``Connection``."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: Any
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = conn
        self.pending: list[Any] = []

    @classmethod
    async def connect(
        cls, port: int, target: str, headers: dict[str, str] | None = None
    ) -> WsClient:
        from tether import ws

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head, key = ws.build_client_request(
            f"127.0.0.1:{port}", target, headers=list((headers or {}).items())
        )
        writer.write(head)
        try:
            response = await read_response(reader)
            ws.check_client_response(response.status, response.headers, key)
        except BaseException:
            writer.close()
            raise
        return cls(reader, writer, ws.Connection(ws.Side.CLIENT, max_message_size=10_000_000))

    def send(self, message: str | bytes) -> None:
        if isinstance(message, str):
            self.writer.write(self.conn.send_text(message))
        else:
            self.writer.write(self.conn.send_binary(message))

    async def recv(self, timeout: float = 5.0) -> Any:
        """The next message (``str`` or ``bytes``) or control event; ``None`` at EOF."""
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                self.conn.receive_eof()
                return None
            self.pending.extend(self.conn.receive_data(data))
            for reply in self.conn.data_to_send():
                self.writer.write(reply)
        return self.pending.pop(0)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


class EngineApp:
    """A bare Engine.IO app (an ``EngineIoHandler``) for the tests: it records its sessions and
    their close reasons, echoes every message when ``echo``, and calls ``on_open`` with each
    new session."""

    def __init__(
        self, echo: bool = True, on_open: Callable[[EngineSocket], None] | None = None
    ) -> None:
        self.echo = echo
        self.on_open = on_open
        self.sockets: list[EngineSocket] = []
        self.closed: list[str] = []

    def open_session(self, socket: EngineSocket) -> SessionHandler:
        self.sockets.append(socket)
        if self.on_open is not None:
            self.on_open(socket)
        return _AppSession(self, socket)


class _AppSession:
    def __init__(self, app: EngineApp, socket: EngineSocket) -> None:
        self.app = app
        self.socket = socket

    def on_message(self, data: str | bytes) -> None:
        if self.app.echo:
            self.socket.send(data)

    def on_close(self, reason: str) -> None:
        self.app.closed.append(reason)
