"""A small HTTP/1.1 client on asyncio streams, for the Socket.IO client's transports.

- :class:`HttpConnection`: one keep-alive connection, one request at a time; bodies framed by
  ``Content-Length``, ``chunked`` or the end of the connection.
- :func:`open_websocket`: the WebSocket opening handshake (``tether.ws.build_client_request``
  and ``check_client_response``), returning the streams and the sans-I/O ``Connection``.

Both reconnect nothing: an error closes the connection and raises :class:`HttpError`.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from collections.abc import Iterable
from dataclasses import dataclass

from tether.ws import Connection, HandshakeError, Side, build_client_request, check_client_response

MAX_HEAD = 64 * 1024


class HttpError(ConnectionError):
    """The request failed: connection refused or lost, malformed response, bad status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Origin:
    """Where to connect: host, port, TLS context (``None`` for plain TCP)."""

    host: str
    port: int
    ssl: ssl_module.SSLContext | None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.ssl is not None else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Response:
    """A complete response; header names lower-cased, repeated ones joined by ``", "``."""

    status: int
    headers: dict[str, str]
    body: bytes


async def _open(origin: Origin) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.open_connection(
            origin.host,
            origin.port,
            ssl=origin.ssl,
            server_hostname=origin.host if origin.ssl is not None else None,
            limit=MAX_HEAD,
        )
    except (OSError, ssl_module.SSLError) as exc:
        raise HttpError(f"cannot connect to {origin.host}:{origin.port}: {exc}") from exc


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """The status and headers of a response."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        raise HttpError("connection closed before the response") from exc
    except asyncio.LimitOverrunError as exc:
        raise HttpError("response head too large") from exc
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"malformed status line {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpError(f"malformed header line {line!r}")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return int(parts[1]), headers


async def _read_chunked(reader: asyncio.StreamReader, limit: int) -> bytes:
    body = bytearray()
    while True:
        line = await reader.readuntil(b"\r\n")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError as exc:
            raise HttpError("malformed chunk size") from exc
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return bytes(body)
        if len(body) + size > limit:
            raise HttpError("response body too large")
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise HttpError("malformed chunk")


class HttpConnection:
    """One keep-alive HTTP/1.1 connection; opened on first use, reopened after a close."""

    def __init__(self, origin: Origin, *, max_body: int = 100_000_000) -> None:
        self.origin = origin
        self.max_body = max_body
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes | None = None,
    ) -> Response:
        """Send one request and read its whole response."""
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await _open(self.origin)
        reader, writer = self._reader, self._writer
        assert reader is not None
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.origin.host_header}"]
        for name, value in headers:
            if any(c in name or c in value for c in "\r\n"):
                raise ValueError(f"invalid header {name!r}")
            lines.append(f"{name}: {value}")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            writer.write(head + body if body else head)
            await writer.drain()
            status, response_headers = await _read_head(reader)
            data = await self._read_body(reader, method, status, response_headers)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            self.close()
            raise HttpError(f"{method} failed: {exc!r}") from exc
        except BaseException:
            self.close()
            raise
        if "close" in response_headers.get("connection", "").lower():
            self.close()
        return Response(status, response_headers, data)

    async def _read_body(
        self, reader: asyncio.StreamReader, method: str, status: int, headers: dict[str, str]
    ) -> bytes:
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return await _read_chunked(reader, self.max_body)
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_body:
                raise HttpError(f"bad Content-Length {length!r}")
            return await reader.readexactly(int(length))
        data = await reader.read(self.max_body + 1)
        chunks = [data]
        while data:
            data = await reader.read(self.max_body + 1)
            chunks.append(data)
        self.close()
        return b"".join(chunks)

    def close(self) -> None:
        """Close the TCP connection (a later request opens a new one)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._reader = None


async def open_websocket(
    origin: Origin, target: str, headers: Iterable[tuple[str, str]] = ()
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, Connection]:
    """Open TCP (and TLS), do the WebSocket handshake; the reader holds what followed it."""
    reader, writer = await _open(origin)
    try:
        request, key = build_client_request(origin.host_header, target, headers=headers)
        writer.write(request)
        await writer.drain()
        status, response_headers = await _read_head(reader)
        check_client_response(status, response_headers, key)
    except HandshakeError as exc:
        writer.close()
        raise HttpError(str(exc), exc.status) from exc
    except (OSError, HttpError) as exc:
        writer.close()
        raise HttpError(f"WebSocket handshake failed: {exc}") from exc
    except BaseException:
        writer.close()
        raise
    return reader, writer, Connection(Side.CLIENT, max_message_size=100_000_000)
