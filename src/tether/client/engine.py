"""The Engine.IO v4 client session: long-polling, WebSocket, the probe upgrade, the heartbeat.

One :class:`EngineClient` per connection attempt, as ``engine.io-client``'s ``Socket``::

    engine = EngineClient(origin, "/socket.io/", on_message=..., on_close=...)
    await engine.open()             # handshake over polling (or WebSocket), then probe-upgrade
    engine.send(["2[\\"hi\\"]"])     # Engine.IO MESSAGE packets; bytes travel as binary
    engine.close()                  # sends the close packet; on_close is not called

``on_close(reason)`` is called once when the session ends by itself, with engine.io-client's
reasons: ``"transport close"``, ``"transport error"``, ``"ping timeout"``, ``"parse error"``.
Packets come from the pure core (:mod:`tether.eio.packet`); frames from :mod:`tether.ws`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

import orjson

from tether.client.http import HttpConnection, HttpError, Origin, open_websocket
from tether.eio.errors import ParseError
from tether.eio.packet import (
    CLOSE,
    PING_PROBE,
    PONG_PROBE,
    UPGRADE,
    PacketType,
    decode_text,
    encode_payload,
    encode_text,
    split_payload,
)
from tether.ws import Close, Connection, ConnectionFailed, Event

log = logging.getLogger("tether.client")


def _refused(what: str, status: int, body: bytes) -> HttpError:
    """The error of a request the server answered with ``status``: with the ``message`` of
    an Engine.IO error body (``{"code":1,"message":"Session ID unknown"}``) when it has one."""
    text = f"{what} answered {status}"
    with contextlib.suppress(ValueError):
        error = orjson.loads(body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            text = f"{text}: {error['message']}"
    return HttpError(text, status)


def _log_failure(what: str, sid: str, exc: Exception) -> None:
    # A session the server doesn't know is worth a warning: behind a load balancer that is not
    # sticky, requests reach servers that don't hold the session (the cluster engine fixes it).
    if isinstance(exc, HttpError) and exc.status == 400:
        log.warning(
            "engine %s: %s failed: %s (the client reconnects; behind a load balancer, see "
            "tether.adapters.redis.create_engine)",
            sid,
            what,
            exc,
        )
    else:
        log.debug("engine %s: %s failed: %s", sid, what, exc)


PROBE_TIMEOUT = 10.0


class EngineClient:
    """One Engine.IO session seen from the client."""

    def __init__(
        self,
        origin: Origin,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        headers: Sequence[tuple[str, str]] = (),
        transports: Sequence[str] = ("polling", "websocket"),
        on_message: Callable[[str | bytes], None],
        on_close: Callable[[str], None],
    ) -> None:
        self.origin = origin
        self.path = path
        self.query = list(query)
        self.headers = list(headers)
        self.transports = tuple(transports)
        self.on_message = on_message
        self.on_close = on_close
        #: ``"polling"`` or ``"websocket"``.
        self.transport = "websocket" if self.transports == ("websocket",) else "polling"
        self.sid = ""
        self.ping_interval = 25.0
        self.ping_timeout = 20.0
        self.upgrades: list[str] = []
        self.max_payload = 1_000_000
        self.closed = False
        self._loop = asyncio.get_running_loop()
        self._out: list[str | bytes] = []
        self._paused = False
        self._posting = False
        self._get = HttpConnection(origin)
        self._post = HttpConnection(origin)
        self._ws: Connection | None = None
        self._ws_writer: asyncio.StreamWriter | None = None
        self._ws_pending: list[str | bytes | Event] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._poll_task: asyncio.Task[None] | None = None
        self._post_idle = asyncio.Event()
        self._post_idle.set()
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def _target(self, transport: str) -> str:
        query = [*self.query, ("EIO", "4"), ("transport", transport)]
        if self.sid:
            query.append(("sid", self.sid))
        return f"{self.path}?{urlencode(query)}"

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- opening ----------------------------------------------------------------------------

    async def open(self) -> None:
        """Handshake; raises :class:`HttpError` (or ``ParseError``) when it fails."""
        if self.transport == "websocket":
            reader, writer, conn = await open_websocket(
                self.origin, self._target("websocket"), self.headers
            )
            self._ws, self._ws_writer = conn, writer
            first = await self._ws_read_one(reader, writer, conn)
            self._on_open(first)
            self._spawn(self._ws_loop(reader, conn))
            return
        response = await self._get.request("GET", self._target("polling"), self.headers)
        if response.status != 200:
            raise _refused("handshake", response.status, response.body)
        packets = split_payload(response.body.decode())
        opening = packets[0]
        if not isinstance(opening, str):
            raise ParseError("the handshake did not start with an open packet")
        self._on_open(opening)
        for packet in packets[1:]:
            self._on_packet(packet)
        self._poll_task = self._spawn(self._poll_loop())
        if "websocket" in self.upgrades and "websocket" in self.transports:
            self._spawn(self._probe())

    def _on_open(self, text: str) -> None:
        packet = decode_text(text)
        if packet.type is not PacketType.OPEN:
            raise ParseError("expected an open packet")
        data = orjson.loads(packet.data)
        self.sid = data["sid"]
        self.upgrades = list(data.get("upgrades", []))
        self.ping_interval = data.get("pingInterval", 25000) / 1000
        self.ping_timeout = data.get("pingTimeout", 20000) / 1000
        self.max_payload = int(data.get("maxPayload", 1_000_000))
        self._reset_heartbeat()

    # -- heartbeat (engine.io-client's resetPingTimeout) --------------------------------------

    def _reset_heartbeat(self) -> None:
        self._deadline = self._loop.time() + self.ping_interval + self.ping_timeout
        if self._timer is None:
            self._timer = self._loop.call_at(self._deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self.closed:
            return
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, self._on_timer)
            return
        self._fail("ping timeout")

    # -- receiving --------------------------------------------------------------------------

    def _on_packet(self, packet: str | bytes) -> None:
        if self.closed:
            return
        if type(packet) is bytes:
            self.on_message(packet)
            return
        assert isinstance(packet, str)
        try:
            kind, data = decode_text(packet)
        except ParseError:
            self._fail("parse error")
            return
        if kind is PacketType.MESSAGE:
            self.on_message(data)
        elif kind is PacketType.PING:
            self._reset_heartbeat()
            self._write([encode_text(PacketType.PONG, data)])  # type: ignore[arg-type]
        elif kind is PacketType.CLOSE:
            self._fail("transport close")
        elif kind is not PacketType.PONG and kind is not PacketType.NOOP:
            self._fail("parse error")

    async def _poll_loop(self) -> None:
        try:
            while not self.closed and not self._paused:
                response = await self._get.request("GET", self._target("polling"), self.headers)
                if response.status != 200:
                    raise _refused("poll", response.status, response.body)
                for packet in split_payload(response.body.decode()):
                    self._on_packet(packet)
        except (HttpError, ParseError, UnicodeDecodeError) as exc:
            _log_failure("polling", self.sid, exc)
            self._fail("parse error" if isinstance(exc, ParseError) else "transport error")

    async def _ws_read_one(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: Connection
    ) -> str:
        """The next text message; what came with it waits in ``_ws_pending``."""
        while True:
            data = await reader.read(65536)
            if not data:
                raise HttpError("connection closed during the WebSocket handshake")
            items = conn.receive_data(data)
            _flush_control(conn, writer)
            for index, item in enumerate(items):
                if type(item) is str:
                    self._ws_pending = items[index + 1 :]
                    return item
                if isinstance(item, Close | ConnectionFailed):
                    raise HttpError("WebSocket closed during the handshake")

    async def _ws_loop(self, reader: asyncio.StreamReader, conn: Connection) -> None:
        reason = "transport close"
        items, self._ws_pending = self._ws_pending, []
        try:
            while not self.closed:
                if not items:
                    data = await reader.read(65536)
                    if not data:
                        conn.receive_eof()
                        break
                    items = conn.receive_data(data)
                    if self._ws_writer is not None:
                        _flush_control(conn, self._ws_writer)
                stop = False
                for item in items:
                    if type(item) is str or type(item) is bytes:
                        self._on_packet(item)
                    elif isinstance(item, ConnectionFailed):
                        reason, stop = "transport error", True
                    elif isinstance(item, Close):
                        stop = True
                if stop:
                    break
                items = []
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.debug("engine %s: WebSocket read failed: %s", self.sid, exc)
            reason = "transport error"
        self._fail(reason)

    # -- upgrade ----------------------------------------------------------------------------

    async def _probe(self) -> None:
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                reader, writer, conn = await open_websocket(
                    self.origin, self._target("websocket"), self.headers
                )
                writer.write(conn.send_text(PING_PROBE))
                if await self._ws_read_one(reader, writer, conn) != PONG_PROBE:
                    raise HttpError("bad probe answer")
                # Pause polling: wait for the pending GET (the server answers it with a noop)
                # and the POST in flight.
                self._paused = True
                if self._poll_task is not None:
                    await asyncio.wait([self._poll_task])
                await self._post_idle.wait()
                if self.closed:
                    raise HttpError("closed during the upgrade")
                writer.write(conn.send_text(UPGRADE))
        except asyncio.CancelledError:
            if writer is not None:
                writer.close()
            raise
        except (TimeoutError, HttpError, OSError) as exc:
            log.debug("engine %s: upgrade failed: %s", self.sid, exc)
            if writer is not None:
                writer.close()
            if self._paused and not self.closed:
                self._paused = False
                self._poll_task = self._spawn(self._poll_loop())
                self._schedule_post()
            return
        self._ws, self._ws_writer = conn, writer
        self.transport = "websocket"
        self._get.close()
        self._post.close()
        self._spawn(self._ws_loop(reader, conn))
        out, self._out = self._out, []
        self._write(out)

    # -- sending ----------------------------------------------------------------------------

    def send(self, parts: Sequence[str | bytes]) -> None:
        """Send Socket.IO parts as Engine.IO MESSAGE packets."""
        self._write(
            [p if isinstance(p, bytes) else encode_text(PacketType.MESSAGE, p) for p in parts]
        )

    def _write(self, packets: Sequence[str | bytes]) -> None:
        if self.closed or not packets:
            return
        conn, writer = self._ws, self._ws_writer
        if self.transport == "websocket" and conn is not None and writer is not None:
            if writer.is_closing() or not conn.can_send:
                return
            writer.writelines(
                [conn.send_text(p) if type(p) is str else conn.send_binary(p) for p in packets]  # type: ignore[arg-type]
            )
            return
        self._out.extend(packets)
        self._schedule_post()

    def _schedule_post(self) -> None:
        if not self._posting and not self._paused and self._out and not self.closed:
            self._posting = True
            self._post_idle.clear()
            self._spawn(self._post_loop())

    def _next_payload(self) -> bytes:
        """Take the packets that fit in one POST (``maxPayload``, at least one packet)."""
        out = self._out
        size = 0
        count = 0
        for packet in out:
            size += len(packet) * (4 if type(packet) is str else 2) + 2  # upper bound
            if count and size > self.max_payload:
                break
            count += 1
        self._out = out[count:]
        return encode_payload(out[:count]).encode()

    async def _post_loop(self) -> None:
        try:
            await asyncio.sleep(0)  # batch everything sent in this loop iteration
            while self._out and not self._paused and not self.closed:
                body = self._next_payload()
                response = await self._post.request(
                    "POST",
                    self._target("polling"),
                    [*self.headers, ("Content-Type", "text/plain;charset=UTF-8")],
                    body,
                )
                if response.status != 200:
                    raise _refused("POST", response.status, response.body)
        except HttpError as exc:
            _log_failure("POST", self.sid, exc)
            self._fail("transport error")
        finally:
            self._posting = False
            self._post_idle.set()

    # -- closing ----------------------------------------------------------------------------

    def _fail(self, reason: str) -> None:
        if self.closed:
            return
        self._shutdown()
        self.on_close(reason)

    def _shutdown(self) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        self._get.close()
        self._post.close()
        if self._ws_writer is not None:
            self._ws_writer.close()

    def close(self) -> None:
        """Close the session from this side (the close packet first); no ``on_close``."""
        if self.closed:
            return
        conn, writer = self._ws, self._ws_writer
        if self.transport == "websocket" and conn is not None and writer is not None:
            with contextlib.suppress(Exception):
                if conn.can_send and not writer.is_closing():
                    writer.write(conn.send_text(CLOSE))
                    writer.write(conn.send_close(1000))
            self._shutdown()
            return
        out, self._out = self._out, []
        if not self.sid:
            self._shutdown()
            return
        # The close packet in a last POST of its own; the pending GET is dropped only after
        # it, so that the server sees the close first.
        self.closed = True
        post = HttpConnection(self.origin)
        target, headers = self._target("polling"), self.headers

        async def send_close() -> None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await post.request(
                        "POST", target, headers, encode_payload([*out, CLOSE]).encode()
                    )
            post.close()
            self._shutdown()

        self._spawn(send_close())

    async def wait_closed(self) -> None:
        """Wait for the session's tasks to end."""
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks)


def _flush_control(conn: Connection, writer: asyncio.StreamWriter) -> None:
    """Write the automatic frames (pongs, close replies) the WebSocket core queued."""
    frames = conn.data_to_send()
    if frames and not writer.is_closing():
        writer.writelines(frames)
