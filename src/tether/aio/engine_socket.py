"""One Engine.IO session (:class:`EngineSocket`): its transport (polling, then maybe a
WebSocket), heartbeat, upgrade and close. The server (:mod:`tether.aio.engine`) routes
requests to it.

The path of one message from a WebSocket: ``WebSocket.data_received`` → the sans-I/O
``ws.Connection`` gives a ``str`` → :meth:`EngineSocket.on_text` reads the type digit →
``socket.on_message(data)``. Nothing is scheduled on the way: no task, no queue.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from tether.aio.http import Headers, Request
from tether.aio.transport import Responder, Upgrade, WebSocket
from tether.eio.errors import ErrorCode, ParseError, RequestError
from tether.eio.packet import (
    CLOSE,
    NOOP,
    PING,
    PONG_PROBE,
    SEPARATOR,
    encode_payload_part,
    split_payload,
)
from tether.eio.session import Beat, Heartbeat, UpgradeState
from tether.ws.frames import Opcode, build_frame

if TYPE_CHECKING:
    from tether.aio.engine import EngineServer

log = logging.getLogger("tether.engine")

MessageHandler = Callable[[str | bytes], None]
CloseHandler = Callable[[str], None]

TEXT_PLAIN: Headers = [("Content-Type", "text/plain; charset=UTF-8")]
TEXT_HTML: Headers = [("Content-Type", "text/html")]
JSON: Headers = [("Content-Type", "application/json")]


#: The empty buffer sessions share until they queue a packet (never changed in place).
_NO_PACKETS: list[str | bytes] = []


class Reason(enum.StrEnum):
    """Why a session closed, worded as Node's ``engine.io`` words it."""

    TRANSPORT_CLOSE = "transport close"
    TRANSPORT_ERROR = "transport error"
    PING_TIMEOUT = "ping timeout"
    FORCED_CLOSE = "forced close"
    SERVER_SHUTTING_DOWN = "server shutting down"
    PARSE_ERROR = "parse error"


class Encoded:
    """A message encoded once for many sessions: the Engine.IO packet, and its WebSocket
    frame built on first use and then written as the same bytes to every WebSocket."""

    __slots__ = ("_frame", "compress", "packet")

    def __init__(self, data: str | bytes, compress: bool = True) -> None:
        self.packet: str | bytes = "4" + data if type(data) is str else data
        self._frame: bytes | None = None
        #: False: never compressed, even with permessage-deflate (a broadcast's ``compress``).
        self.compress = compress

    def frame(self) -> bytes:
        """The unmasked, uncompressed WebSocket frame of this packet."""
        if self._frame is None:
            packet = self.packet
            if type(packet) is str:
                self._frame = build_frame(Opcode.TEXT, packet.encode())
            else:
                self._frame = build_frame(Opcode.BINARY, packet)  # type: ignore[arg-type]
        return self._frame


class _Beat(Heartbeat):
    """A session's heartbeat, as the :class:`HeartbeatQueue` holds it: a closed session
    detaches (``session = None``) so that a queue keeps only this small object until its
    entry is reached."""

    __slots__ = ("session",)

    def __init__(self, session: EngineSocket, interval: float, timeout: float, now: float) -> None:
        super().__init__(interval, timeout, now)
        self.session: EngineSocket | None = session


class HeartbeatQueue:
    """The heartbeat deadlines of every session for one delay (``ping_interval`` or
    ``ping_timeout``), in one FIFO served by one timer.

    A deadline is always set to ``loop.time() + delay``, so entries arrive in deadline order
    and only the head needs a timer: a session costs no timer handle, and a pong two deque
    appends. An entry whose deadline is no longer its session's (a pong or a ping moved it,
    the session closed) is skipped when reached.
    """

    __slots__ = ("_beats", "_deadlines", "_timer", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._deadlines: deque[float] = deque()
        self._beats: deque[_Beat] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def push(self, beat: _Beat) -> None:
        """Call ``beat.session._on_beat`` once ``beat.deadline`` is reached, if it still holds."""
        deadline = beat.deadline
        self._deadlines.append(deadline)
        self._beats.append(beat)
        if self._timer is None:
            self._timer = self.loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._timer = None
        deadlines = self._deadlines
        beats = self._beats
        now = self.loop.time()
        while deadlines and deadlines[0] <= now:
            deadline = deadlines.popleft()
            beat = beats.popleft()
            session = beat.session
            if session is not None and beat.deadline == deadline:
                try:
                    session._on_beat(now)
                except Exception:
                    log.exception("heartbeat of session %s", session.sid)
        if deadlines:
            self._timer = self.loop.call_at(deadlines[0], self._fire)

    def clear(self) -> None:
        """Drop every entry and the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deadlines.clear()
        self._beats.clear()


class EngineSocket:
    """One Engine.IO session. Set :attr:`on_message` and :attr:`on_close` to receive."""

    __slots__ = (
        "_buffer",
        "_flush_scheduled",
        "_heartbeat",
        "_lingering",
        "_poll",
        "_probe",
        "_probe_timer",
        "_ws",
        "closed",
        "on_close",
        "on_message",
        "request",
        "server",
        "sid",
        "upgrade_state",
    )

    def __init__(self, server: EngineServer, sid: str, request: Request) -> None:
        self.server = server
        self.sid = sid
        self.request = request
        self.on_message: MessageHandler | None = None
        self.on_close: CloseHandler | None = None
        self.closed = False
        self.upgrade_state = UpgradeState.POLLING
        self._ws: WebSocket | None = None
        self._probe: WebSocket | None = None
        self._probe_timer: asyncio.TimerHandle | None = None
        self._poll: Responder | None = None
        self._buffer: list[str | bytes] = _NO_PACKETS  # a list of its own once polling
        self._flush_scheduled = False
        self._lingering = False
        self._heartbeat = _Beat(
            self, server.options.ping_interval, server.options.ping_timeout, server.loop.time()
        )
        server.ping_queue.push(self._heartbeat)

    @property
    def transport(self) -> str:
        """The transport in use: ``"polling"`` or ``"websocket"``."""
        return "websocket" if self._ws is not None else "polling"

    @property
    def writable(self) -> bool:
        """Whether a message sent now goes out at once (for volatile messages): over
        WebSocket, unless the peer reads slowly; over polling, while a GET is pending."""
        ws = self._ws
        if ws is not None:
            return not ws.paused
        return self._poll is not None

    # -- sending ----------------------------------------------------------------------------

    def send(self, data: str | bytes) -> None:
        """Send a message: text as a text packet, bytes as a binary one. Never blocks."""
        if self.closed:
            return
        ws = self._ws
        if ws is not None:
            if type(data) is str:
                ws.send_text("4" + data)
            else:
                ws.send_binary(data)  # type: ignore[arg-type]
        else:
            self._queue("4" + data if type(data) is str else data)

    def send_all(self, messages: list[str | bytes]) -> None:
        """Send several messages (a packet and its attachments): over WebSocket, written out
        together in one syscall."""
        if self.closed:
            return
        ws = self._ws
        if ws is not None:
            ws.send_messages(["4" + m if type(m) is str else m for m in messages])
        else:
            for m in messages:
                self._queue("4" + m if type(m) is str else m)

    def send_encoded(self, encoded: Encoded) -> None:
        """Send a message encoded once for many sessions (see :class:`Encoded`)."""
        if self.closed:
            return
        ws = self._ws
        if ws is None:
            self._queue(encoded.packet)
        elif ws.can_share_frames:
            ws.send_frame(encoded.frame())
        elif type(encoded.packet) is str:
            ws.send_text(encoded.packet, encoded.compress)
        else:
            ws.send_binary(encoded.packet, encoded.compress)  # type: ignore[arg-type]

    def _send_packet(self, packet: str) -> None:
        if self._ws is not None:
            self._ws.send_text(packet)
        else:
            self._queue(packet)

    def _queue(self, packet: str | bytes) -> None:
        if self._buffer is _NO_PACKETS:
            self._buffer = []
        self._buffer.append(packet)
        if self._poll is not None and not self._flush_scheduled:
            self._flush_scheduled = True
            self.server.loop.call_soon(self._flush_poll)

    def _flush_poll(self) -> None:
        self._flush_scheduled = False
        poll = self._poll
        if poll is None or not self._buffer:
            return
        self._poll = None
        buffer, self._buffer = self._buffer, _NO_PACKETS
        if len(buffer) == 1 and type(buffer[0]) is str:
            payload = buffer[0]
        else:
            payload = SEPARATOR.join([encode_payload_part(p) for p in buffer])
        self.server.answer(poll, 200, TEXT_PLAIN, payload.encode())

    # -- receiving --------------------------------------------------------------------------

    def on_text(self, text: str) -> None:
        """A text packet from the client (a WebSocket frame or part of a POST)."""
        first = text[:1]
        if first == "4":
            handler = self.on_message
            if handler is not None:
                try:
                    handler(text[1:])
                except Exception:
                    log.exception("error in message handler of session %s", self.sid)
        elif first == "3":
            heartbeat = self._heartbeat
            if heartbeat.pong(self.server.loop.time()):
                self.server.ping_queue.push(heartbeat)
        elif first == "1":
            self.close_now(Reason.TRANSPORT_CLOSE)
        elif first in ("2", "5", "6", "0"):
            log.debug("session %s: unexpected packet %r ignored", self.sid, text[:10])
        else:
            log.debug("session %s: malformed packet %r", self.sid, text[:10])
            self.close_now(Reason.PARSE_ERROR)

    def on_binary(self, data: bytes) -> None:
        """A binary message from the client."""
        handler = self.on_message
        if handler is not None:
            try:
                handler(data)
            except Exception:
                log.exception("error in message handler of session %s", self.sid)

    def on_websocket_close(self, code: int, error: bool) -> None:
        """Its WebSocket is gone (the WebSocketHandler side of the session)."""
        self.close_now(Reason.TRANSPORT_ERROR if error else Reason.TRANSPORT_CLOSE)

    def _on_post(self, body: bytes) -> None:
        try:
            packets = split_payload(body.decode("utf-8"))
        except (ParseError, UnicodeDecodeError) as exc:
            log.debug("session %s: bad payload: %s", self.sid, exc)
            self.close_now(Reason.PARSE_ERROR)
            return
        for packet in packets:
            if self.closed:
                return
            if type(packet) is str:
                self.on_text(packet)
            else:
                self.on_binary(packet)  # type: ignore[arg-type]

    def _on_poll(self, responder: Responder) -> None:
        if self._poll is not None:
            log.debug("session %s: overlapping GET", self.sid)
            self.server.answer_error(responder, RequestError(ErrorCode.BAD_REQUEST))
            self.close_now(Reason.TRANSPORT_ERROR)
            return
        self._poll = responder
        responder.on_disconnect(self._poll_dropped)
        if self._buffer:
            self._flush_poll()
        elif self.upgrade_state is UpgradeState.PROBED:
            self._poll = None
            self.server.answer(responder, 200, TEXT_PLAIN, NOOP.encode())

    def _poll_dropped(self) -> None:
        self._poll = None
        self.close_now(Reason.TRANSPORT_ERROR)

    # -- heartbeat --------------------------------------------------------------------------

    def _on_beat(self, now: float) -> None:
        """The heartbeat's deadline is reached (called by a :class:`HeartbeatQueue`)."""
        heartbeat = self._heartbeat
        if heartbeat.expire(now) is Beat.TIMED_OUT:
            self.close_now(Reason.PING_TIMEOUT)
            return
        self._send_packet(PING)
        self.server.pong_queue.push(heartbeat)

    def stop_heartbeat(self) -> None:
        """No more pings nor ping timeout for this session."""
        self._heartbeat.session = None

    # -- upgrade ----------------------------------------------------------------------------

    def start_upgrade(self, upgrade: Upgrade) -> None:
        """A WebSocket arrived for this polling session: probe it (or refuse it, when the
        session is already upgrading, upgraded or closed)."""
        busy = (
            self.upgrade_state is not UpgradeState.POLLING or self._probe is not None or self.closed
        )
        probe = _Probe(self)
        websocket = upgrade.open_websocket(
            _DETACHED if busy else probe,
            max_message_size=self.server.options.max_http_buffer_size,
            deflate=self.server.deflate,
        )
        if websocket is None:
            return
        if busy:
            websocket.close(1000)
            return
        probe.websocket = websocket
        self._probe = websocket
        self._probe_timer = self.server.loop.call_later(
            self.server.options.upgrade_timeout, self._cancel_upgrade
        )

    def _probe_text(self, websocket: WebSocket, text: str) -> None:
        if text == "2probe" and self.upgrade_state is UpgradeState.POLLING:
            websocket.send_text(PONG_PROBE)
            self.upgrade_state = UpgradeState.PROBED
            poll = self._poll
            if poll is not None and not self._buffer:
                self._poll = None
                self.server.answer(poll, 200, TEXT_PLAIN, NOOP.encode())
        elif text == "5" and self.upgrade_state is UpgradeState.PROBED:
            self._finish_upgrade(websocket)
        else:
            log.debug("session %s: unexpected packet %r during upgrade", self.sid, text[:10])
            self._cancel_upgrade()

    def _finish_upgrade(self, websocket: WebSocket) -> None:
        if self._probe_timer is not None:
            self._probe_timer.cancel()
            self._probe_timer = None
        self._probe = None
        self.upgrade_state = UpgradeState.UPGRADED
        websocket.handler = self
        self._ws = websocket
        poll, self._poll = self._poll, None
        if poll is not None:
            self.server.answer(poll, 200, TEXT_PLAIN, NOOP.encode())
        buffer, self._buffer = self._buffer, _NO_PACKETS
        for packet in buffer:
            if type(packet) is str:
                websocket.send_text(packet)
            else:
                websocket.send_binary(packet)  # type: ignore[arg-type]

    def _cancel_upgrade(self) -> None:
        probe, self._probe = self._probe, None
        if self._probe_timer is not None:
            self._probe_timer.cancel()
            self._probe_timer = None
        if self.upgrade_state is UpgradeState.PROBED:
            self.upgrade_state = UpgradeState.POLLING
        if probe is not None:
            probe.handler = _DETACHED
            probe.close(1000)

    # -- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the session from the server side (reason ``forced close``)."""
        self.close_now(Reason.FORCED_CLOSE)

    def close_now(self, reason: str) -> None:
        """Close the session with ``reason``; the close packet or frame is sent if possible."""
        if self.closed:
            return
        self.closed = True
        self._heartbeat.session = None
        if self._probe is not None:
            self._cancel_upgrade()
        ws = self._ws
        if ws is not None:
            ws.handler = _DETACHED
            if reason in (Reason.FORCED_CLOSE, Reason.SERVER_SHUTTING_DOWN, Reason.PING_TIMEOUT):
                ws.close(1000)
            else:
                ws.abort()
            self.server.forget(self)
        else:
            self._close_polling(reason)
        callback = self.on_close
        self.on_message = None
        self.on_close = None
        if callback is not None:
            try:
                callback(reason)
            except Exception:
                log.exception("error in close handler of session %s", self.sid)

    def _close_polling(self, reason: str) -> None:
        poll, self._poll = self._poll, None
        if reason not in (Reason.FORCED_CLOSE, Reason.SERVER_SHUTTING_DOWN):
            self._buffer = _NO_PACKETS
            if poll is not None:
                # The client closed: its pending GET just ends (noop). Otherwise tell it.
                packet = NOOP if reason == Reason.TRANSPORT_CLOSE else CLOSE
                self.server.answer(poll, 200, TEXT_PLAIN, packet.encode())
            self.server.forget(self)
            return
        if poll is not None:
            self._answer_closing(poll)
        else:
            self.server.linger(self)

    def deliver_close(self, responder: Responder) -> None:
        """A GET for a closed polling session that still owes packets or its close packet."""
        self._answer_closing(responder)

    def _answer_closing(self, responder: Responder) -> None:
        # What was sent before the close goes first, in a payload of its own: the official
        # client acts on a close packet at once but on the packets before it a tick later,
        # so sharing a payload would let the close overtake them (Node answers the same way).
        if self._buffer:
            self._poll = responder
            self._flush_scheduled = False
            self._flush_poll()
            self.server.linger(self)
        else:
            self.server.answer(responder, 200, TEXT_PLAIN, CLOSE.encode())
            self.server.forget(self)


class _Probe:
    """The handler of a WebSocket that is upgrading a polling session; it acts only while
    its WebSocket is the session's current probe."""

    __slots__ = ("socket", "websocket")

    def __init__(self, socket: EngineSocket) -> None:
        self.socket = socket
        self.websocket: WebSocket | None = None

    def on_text(self, text: str) -> None:
        websocket = self.websocket
        if websocket is not None and self.socket._probe is websocket:
            self.socket._probe_text(websocket, text)

    def on_binary(self, data: bytes) -> None:
        if self.websocket is not None and self.socket._probe is self.websocket:
            self.socket._cancel_upgrade()

    def on_websocket_close(self, code: int, error: bool) -> None:
        if self.websocket is not None and self.socket._probe is self.websocket:
            self.socket._probe = None
            self.socket._cancel_upgrade()


class _Detached:
    def on_text(self, text: str) -> None:
        pass

    def on_binary(self, data: bytes) -> None:
        pass

    def on_websocket_close(self, code: int, error: bool) -> None:
        pass


_DETACHED = _Detached()
