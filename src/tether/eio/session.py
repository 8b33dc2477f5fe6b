"""One Engine.IO session without I/O: its state, heartbeat, polling buffer and close.

The I/O layer owns the clock and the transports: it passes ``now`` in, arms a timer for
:attr:`Session.deadline`, and does what each method's result says (send a ping, answer a
pending GET, switch to the WebSocket, close). Nothing here blocks or schedules.

The states a session goes through, and what moves it (:data:`TRANSITIONS` is the table the
code executes; :meth:`Session.fire` refuses anything it does not list)::

    state      trigger          next       what the I/O layer does
    POLLING    PROBE_OPENED     PROBING    a WebSocket for this sid is open: wait for "2probe"
    PROBING    PROBE_PING       PROBED     "3probe" on the WebSocket, "6" (noop) to a pending GET
    PROBED     UPGRADE          UPGRADED   "5" came: buffered packets go out on the WebSocket
    PROBING    PROBE_FAILED     POLLING    another packet, the probe closed, upgrade_timeout:
    PROBED     PROBE_FAILED     POLLING       the probe WebSocket is closed, polling goes on
    (open)     CLOSE            CLOSED     the session ends; nothing more is sent
    (polling)  CLOSE_OWING      CLOSING    closed by the server: the next GET carries what was
                                           buffered, then the close packet
    CLOSING    DELIVERED        CLOSED     that GET was answered

A session opened over WebSocket starts in WEBSOCKET and can only close. While UPGRADED or
WEBSOCKET, polling requests for the sid are refused (400) and another WebSocket is closed.

Heartbeat: one deadline alternates between "send a ping" (``ping_interval`` after the open
or the last pong) and "the pong is late" (``ping_timeout`` after the ping). A pong counts
only for a ping the client was given: over polling, a ping still waiting in the buffer has
not been delivered, and a pong for it is ignored (so a client that never fetches times out).

Polling buffer: what waits for the next GET is bounded by ``max_buffer`` (characters of text
packets plus bytes of binary ones); a packet that would pass it is refused, and the I/O layer
closes the session with ``transport error``, as it does for a WebSocket reader too slow for
its write buffer.
"""

from __future__ import annotations

import base64
import enum
import os
from typing import Final

from tether.eio.errors import ParseError, StateError
from tether.eio.packet import (
    CLOSE,
    NOOP,
    PING,
    PING_PROBE,
    UPGRADE,
    decode_base64,
    encode_payload,
)

_ID_BYTES = 15
_ID_CHARS = 20  # 15 bytes in base64, no padding
_POOL_IDS = 64
_pool = ""
_pool_pos = 0


def _forget_pool() -> None:
    global _pool, _pool_pos
    _pool, _pool_pos = "", 0


if hasattr(os, "register_at_fork"):  # a child must never hand out its parent's ids
    os.register_at_fork(after_in_child=_forget_pool)


def new_sid() -> str:
    """A random, URL-safe id of 120 bits (20 characters), as ``secrets.token_urlsafe(15)``
    makes it: from ``os.urandom``, read and encoded for 64 ids at a time (one syscall and one
    encoding, not one per id: 15 bytes are 20 characters, so each id's characters are those of
    its own bytes)."""
    global _pool, _pool_pos
    pos = _pool_pos
    if pos >= len(_pool):
        _pool = base64.urlsafe_b64encode(os.urandom(_ID_BYTES * _POOL_IDS)).decode("ascii")
        pos = 0
    _pool_pos = pos + _ID_CHARS
    return _pool[pos : pos + _ID_CHARS]


class Reason(enum.StrEnum):
    """Why a session closed, worded as Node's ``engine.io`` words it."""

    TRANSPORT_CLOSE = "transport close"
    TRANSPORT_ERROR = "transport error"
    PING_TIMEOUT = "ping timeout"
    FORCED_CLOSE = "forced close"
    SERVER_SHUTTING_DOWN = "server shutting down"
    PARSE_ERROR = "parse error"


#: The WebSocket close code sent when a session over WebSocket closes for this reason;
#: ``None``: the connection is dropped without a close frame (it is already gone or unusable).
WEBSOCKET_CLOSE_CODES: dict[str, int | None] = {
    Reason.FORCED_CLOSE: 1000,
    Reason.SERVER_SHUTTING_DOWN: 1000,
    Reason.PING_TIMEOUT: 1000,
    Reason.PARSE_ERROR: 1002,
    Reason.TRANSPORT_CLOSE: None,
    Reason.TRANSPORT_ERROR: None,
}

#: Reasons the server closes for on its own: a polling client is owed the close packet.
_SERVER_REASONS = frozenset({Reason.FORCED_CLOSE, Reason.SERVER_SHUTTING_DOWN})


class State(enum.Enum):
    """Where a session stands (see the module's table)."""

    POLLING = "polling"
    PROBING = "probing"
    PROBED = "probed"
    UPGRADED = "upgraded"
    WEBSOCKET = "websocket"  # opened directly over WebSocket: no upgrade possible
    CLOSING = "closing"
    CLOSED = "closed"


class Trigger(enum.Enum):
    """What moves a session from one :class:`State` to the next."""

    PROBE_OPENED = "probe opened"
    PROBE_PING = "probe ping"
    UPGRADE = "upgrade"
    PROBE_FAILED = "probe failed"
    CLOSE = "close"
    CLOSE_OWING = "close owing"
    DELIVERED = "delivered"


_S, _T = State, Trigger
_CLOSES = {_T.CLOSE: _S.CLOSED, _T.CLOSE_OWING: _S.CLOSING}

#: Every transition a session may make; anything else is a :class:`StateError`.
TRANSITIONS: dict[State, dict[Trigger, State]] = {
    _S.POLLING: {_T.PROBE_OPENED: _S.PROBING, **_CLOSES},
    _S.PROBING: {_T.PROBE_PING: _S.PROBED, _T.PROBE_FAILED: _S.POLLING, **_CLOSES},
    _S.PROBED: {_T.UPGRADE: _S.UPGRADED, _T.PROBE_FAILED: _S.POLLING, **_CLOSES},
    _S.UPGRADED: {_T.CLOSE: _S.CLOSED},
    _S.WEBSOCKET: {_T.CLOSE: _S.CLOSED},
    _S.CLOSING: {_T.DELIVERED: _S.CLOSED},
    _S.CLOSED: {},
}

_ENDED = frozenset({_S.CLOSING, _S.CLOSED})


class Beat(enum.Enum):
    """What a heartbeat deadline means when it is reached."""

    SEND_PING = "send ping"
    TIMED_OUT = "ping timeout"


class Control(enum.Enum):
    """What :meth:`Session.receive_text` returns for a packet the I/O layer must act on."""

    PONG = "pong"  # the heartbeat deadline moved: arm it again
    CLOSE = "close"  # the client closed the session (reason ``transport close``)


class ProbeStep(enum.Enum):
    """What to do after a packet on the probe WebSocket (see :meth:`Session.probe_text`)."""

    ANSWER = "answer"  # send "3probe" on the probe; a pending GET with nothing to send gets "6"
    SWITCH = "switch"  # the session is on the WebSocket now: send it what was buffered
    FAIL = "fail"  # close the probe; the session goes on over polling


#: The empty buffer sessions share until they queue a packet (never changed in place).
_NO_PACKETS: Final[list[str | bytes]] = []


class Session:
    """The state of one Engine.IO session (server side), driven by the I/O layer.

    Args:
        sid: the session id.
        websocket: opened over WebSocket (state WEBSOCKET) rather than polling (POLLING).
        ping_interval: seconds between a pong (or the open) and the next ping.
        ping_timeout: seconds a pong may take.
        max_buffer: the bound of the polling buffer (see the module's docstring).
        now: the clock of the I/O layer, in seconds.
    """

    __slots__ = (
        "buffer",
        "buffered",
        "closed",
        "deadline",
        "interval",
        "max_buffer",
        "ping_buffered",
        "ping_delivered",
        "reason",
        "sid",
        "state",
        "timeout",
        "waiting_pong",
    )

    def __init__(
        self,
        sid: str,
        *,
        websocket: bool,
        ping_interval: float,
        ping_timeout: float,
        max_buffer: int,
        now: float,
    ) -> None:
        self.sid = sid
        self.state = State.WEBSOCKET if websocket else State.POLLING
        #: True once the session closed (even if it still owes a GET its close packet); kept
        #: by :meth:`fire` beside :attr:`state`, as every send checks it.
        self.closed = False
        #: Why the session closed ("" while open).
        self.reason = ""
        self.interval = ping_interval
        self.timeout = ping_timeout
        #: When :meth:`heartbeat` is due.
        self.deadline = now + ping_interval
        self.waiting_pong = False
        self.ping_delivered = False
        self.ping_buffered = False
        self.max_buffer = max_buffer
        self.buffer: list[str | bytes] = _NO_PACKETS  # a list of its own once polling
        self.buffered = 0

    def fire(self, trigger: Trigger) -> State:
        """Make the transition ``trigger`` names from the current state, as
        :data:`TRANSITIONS` lists it; raises :class:`StateError` if it lists none."""
        try:
            state = TRANSITIONS[self.state][trigger]
        except KeyError:
            raise StateError(f"{trigger.value!r} in state {self.state.value!r}") from None
        self.state = state
        self.closed = state in _ENDED
        return state

    @property
    def polling(self) -> bool:
        """True while packets go through the polling buffer (POLLING, PROBING, PROBED)."""
        # Compared by identity: an Enum member's hash is computed by interpreted code.
        state = self.state
        return state is State.POLLING or state is State.PROBING or state is State.PROBED

    # -- receiving --------------------------------------------------------------------------

    def receive_text(self, text: str) -> str | bytes | Control | None:
        """A text packet from the client (a WebSocket text frame or part of a POST).

        Returns the data of a message (``bytes`` for a base64 binary message, ``b...``),
        :class:`Control` for a pong (to be given to :meth:`pong` with the time) or a close
        packet, ``None`` for a stray packet, which needs nothing. Raises :class:`ParseError`
        for a packet that is not Engine.IO.
        """
        first = text[:1]
        if first == "4":
            return text[1:]
        if first == "3":
            return Control.PONG
        if first == "1":
            return Control.CLOSE
        if first == "b":
            return decode_base64(text[1:])
        if first in ("2", "5", "6", "0"):
            return None
        raise ParseError(f"unknown packet type {first!r}" if first else "empty packet")

    # -- heartbeat --------------------------------------------------------------------------

    def heartbeat(self, now: float) -> Beat:
        """The :attr:`deadline` was reached: say what to do, and move to the next deadline.

        After ``SEND_PING`` the I/O layer sends :data:`~tether.eio.packet.PING` over
        WebSocket and calls :meth:`ping_sent`, or queues it with :meth:`queue_ping`.
        """
        if self.waiting_pong:
            return Beat.TIMED_OUT
        self.waiting_pong = True
        self.ping_delivered = False
        self.deadline = now + self.timeout
        return Beat.SEND_PING

    def pong(self, now: float) -> bool:
        """A pong arrived. True when it answers the ping the client was given (the deadline
        moved: the next ping is due ``ping_interval`` from now); False when unsolicited or
        for a ping still waiting in the polling buffer, which changes nothing."""
        if not (self.waiting_pong and self.ping_delivered):
            return False
        self.waiting_pong = False
        self.deadline = now + self.interval
        return True

    def ping_sent(self) -> None:
        """The ping went out on a WebSocket."""
        self.ping_delivered = True

    # -- the polling buffer -----------------------------------------------------------------

    def queue(self, packet: str | bytes) -> bool:
        """Buffer an encoded packet for the next GET. False when it would pass
        ``max_buffer``: the packet is not queued, and the session must close."""
        size = self.buffered + len(packet)
        if size > self.max_buffer:
            return False
        if self.buffer is _NO_PACKETS:
            self.buffer = []
        self.buffer.append(packet)
        self.buffered = size
        return True

    def queue_ping(self) -> bool:
        """Buffer the ping (see :meth:`queue`): it counts as delivered once a GET takes it."""
        self.ping_buffered = True
        return self.queue(PING)

    def take(self) -> list[str | bytes]:
        """Everything buffered, emptied (for a GET, or the switch to WebSocket)."""
        buffer = self.buffer
        self.buffer, self.buffered = _NO_PACKETS, 0
        if self.ping_buffered:
            self.ping_buffered = False
            self.ping_delivered = True
        return buffer

    def take_payload(self) -> str:
        """Everything buffered as one polling payload (``""`` when nothing is)."""
        buffer = self.take()
        if len(buffer) == 1 and type(buffer[0]) is str:
            return buffer[0]
        return encode_payload(buffer)

    def answer_when_idle(self) -> str | None:
        """What a GET with nothing buffered gets at once: a noop while an upgrade is probed
        (the client pauses polling), ``None`` otherwise (it waits)."""
        return NOOP if self.state is State.PROBED else None

    # -- upgrade ----------------------------------------------------------------------------

    def probe_opened(self) -> bool:
        """A WebSocket arrived for this sid. False when the session is not polling or is
        already probing another one: that WebSocket is to be closed."""
        if self.state is not State.POLLING:
            return False
        self.fire(Trigger.PROBE_OPENED)
        return True

    def probe_text(self, text: str) -> ProbeStep:
        """A text packet on the probe WebSocket."""
        if text == PING_PROBE and self.state is State.PROBING:
            self.fire(Trigger.PROBE_PING)
            return ProbeStep.ANSWER
        if text == UPGRADE and self.state is State.PROBED:
            self.fire(Trigger.UPGRADE)
            return ProbeStep.SWITCH
        self.probe_failed()
        return ProbeStep.FAIL

    def probe_failed(self) -> None:
        """The probe closed, timed out or sent something else: back to polling."""
        if self.state is State.PROBING or self.state is State.PROBED:
            self.fire(Trigger.PROBE_FAILED)

    # -- closing ----------------------------------------------------------------------------

    def close(self, reason: str) -> bool:
        """Close with ``reason``; False if already closed.

        A polling session closed by the server (``forced close``, ``server shutting down``)
        goes to CLOSING: its client is owed what was buffered and the close packet
        (:meth:`closing_payload`). Otherwise the buffer is dropped and the session is CLOSED.
        """
        if self.closed:
            return False
        self.reason = reason
        if self.polling and reason in _SERVER_REASONS:
            self.fire(Trigger.CLOSE_OWING)
        else:
            self.buffer, self.buffered = _NO_PACKETS, 0
            self.fire(Trigger.CLOSE)
        return True

    def closing_payload(self) -> str:
        """For a GET of a CLOSING session: what was buffered (the close packet comes with the
        next GET), or the close packet, after which the session is CLOSED.

        Buffered packets never share a payload with the close packet: the official client
        acts on a close packet at once but on the packets before it a tick later, so the close
        would overtake them.
        """
        if self.buffer:
            return self.take_payload()
        self.fire(Trigger.DELIVERED)
        return CLOSE

    def pending_get_answer(self) -> str:
        """What a GET still pending when the session closed gets: a noop when the client
        closed it, the close packet otherwise."""
        return NOOP if self.reason == Reason.TRANSPORT_CLOSE else CLOSE

    @property
    def websocket_close_code(self) -> int | None:
        """The close code for the WebSocket of a session that closed (``None``: drop it)."""
        return WEBSOCKET_CLOSE_CODES.get(self.reason)
