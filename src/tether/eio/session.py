"""Engine.IO session state without I/O: the sid, the heartbeat deadline, the upgrade steps.

The I/O layer owns the clock: it passes ``now`` in and arranges for :meth:`Heartbeat.expire`
to be called when :attr:`Heartbeat.deadline` is reached.

Upgrade rules (polling → WebSocket), as the protocol orders them::

    state       event on the new WebSocket        next state   server answers
    POLLING     "2probe"                          PROBED       "3probe" on the WebSocket,
                                                                "6" (noop) to a pending GET
    PROBED      "5" (upgrade)                     UPGRADED     buffered packets on the WebSocket
    PROBED      anything else                     POLLING      closes the WebSocket
    UPGRADED    a polling request                 —            400, session unaffected
    UPGRADED    a second WebSocket                —            that WebSocket is closed
"""

from __future__ import annotations

import base64
import enum
import os

_ID_BYTES = 15
_POOL_IDS = 64
_pool = b""
_pool_pos = 0


def _forget_pool() -> None:
    global _pool, _pool_pos
    _pool, _pool_pos = b"", 0


if hasattr(os, "register_at_fork"):  # a child must never hand out its parent's ids
    os.register_at_fork(after_in_child=_forget_pool)


def new_sid() -> str:
    """A random, URL-safe id of 120 bits (20 characters), as ``secrets.token_urlsafe(15)``
    makes it: from ``os.urandom``, read for 64 ids at a time (one syscall, not one per id)."""
    global _pool, _pool_pos
    pos = _pool_pos
    if pos >= len(_pool):
        _pool = os.urandom(_ID_BYTES * _POOL_IDS)
        pos = 0
    _pool_pos = pos + _ID_BYTES
    return base64.urlsafe_b64encode(_pool[pos : pos + _ID_BYTES]).decode("ascii")


class Beat(enum.Enum):
    """What a heartbeat deadline means when it is reached."""

    SEND_PING = "send ping"
    TIMED_OUT = "ping timeout"


class Heartbeat:
    """One deadline that alternates between "send a ping" and "the pong is late".

    The server pings ``interval`` seconds after the session opens (or after the last pong)
    and gives up ``timeout`` seconds after that ping.
    """

    __slots__ = ("deadline", "interval", "timeout", "waiting_pong")

    def __init__(self, interval: float, timeout: float, now: float) -> None:
        self.interval = interval
        self.timeout = timeout
        self.waiting_pong = False
        self.deadline = now + interval

    def expire(self, now: float) -> Beat:
        """The deadline was reached: say what to do, and move to the next deadline."""
        if self.waiting_pong:
            return Beat.TIMED_OUT
        self.waiting_pong = True
        self.deadline = now + self.timeout
        return Beat.SEND_PING

    def pong(self, now: float) -> bool:
        """A pong arrived. Returns False when no ping was outstanding (a protocol error)."""
        if not self.waiting_pong:
            return False
        self.waiting_pong = False
        self.deadline = now + self.interval
        return True


class UpgradeState(enum.Enum):
    """Where a session stands in the polling → WebSocket upgrade."""

    POLLING = "polling"
    PROBED = "probed"
    UPGRADED = "upgraded"
    WEBSOCKET = "websocket"  # opened directly over WebSocket: no upgrade possible
