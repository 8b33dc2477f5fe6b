"""The heartbeat deadlines of every session, served by one timer per delay."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Protocol

log = logging.getLogger("tether.engine")


class Beating(Protocol):
    """A session (or what else waits for a deadline) as its heartbeat queue sees it; the log
    names it by its ``sid`` when it has one."""

    def on_beat(self, deadline: float, now: float) -> None:
        """An entry of this session, due at ``deadline``, is reached at ``now``."""


class HeartbeatSlot:
    """A session's place in a :class:`HeartbeatQueue`. A closed session detaches
    (``socket = None``) so that a queue keeps only this small object until its entry is
    reached, not the session."""

    __slots__ = ("socket",)

    def __init__(self, socket: Beating) -> None:
        self.socket: Beating | None = socket


class HeartbeatQueue:
    """The heartbeat deadlines of every session for one delay (``ping_interval`` or
    ``ping_timeout``), in one FIFO served by one timer.

    A deadline is always set to ``loop.time() + delay``, so entries arrive in deadline order
    and only the head needs a timer: a session costs no timer handle, and a pong two deque
    appends. The session checks, when an entry is reached, whether that deadline is still its
    own (a pong or a ping may have moved it since).
    """

    __slots__ = ("_beats", "_deadlines", "_timer", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._deadlines: deque[float] = deque()
        self._beats: deque[HeartbeatSlot] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def push(self, beat: HeartbeatSlot, deadline: float) -> None:
        """Call ``beat.socket.on_beat(deadline, now)`` once ``deadline`` is reached."""
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
            socket = beat.socket
            if socket is not None:
                try:
                    socket.on_beat(deadline, now)
                except Exception:
                    log.exception("heartbeat of session %s", getattr(socket, "sid", socket))
        if deadlines:
            self._timer = self.loop.call_at(deadlines[0], self._fire)

    def clear(self) -> None:
        """Drop every entry and the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deadlines.clear()
        self._beats.clear()
