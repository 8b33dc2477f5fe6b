"""The heartbeat deadlines of every session, served by one timer per delay."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

log = logging.getLogger("tether.engine")


class Beat:
    """A session's place in a :class:`HeartbeatQueue`. A closed session detaches
    (``on_due = None``) so that a queue keeps only this small object until its entry is
    reached, not the session."""

    __slots__ = ("on_due", "sid")

    def __init__(self, sid: str, on_due: Callable[[float, float], None]) -> None:
        self.sid = sid
        #: Called with (the entry's deadline, now) when an entry of this beat is reached.
        self.on_due: Callable[[float, float], None] | None = on_due


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
        self._beats: deque[Beat] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def push(self, beat: Beat, deadline: float) -> None:
        """Call ``beat.on_due(deadline, now)`` once ``deadline`` is reached."""
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
            on_due = beat.on_due
            if on_due is not None:
                try:
                    on_due(deadline, now)
                except Exception:
                    log.exception("heartbeat of session %s", beat.sid)
        if deadlines:
            self._timer = self.loop.call_at(deadlines[0], self._fire)

    def clear(self) -> None:
        """Drop every entry and the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deadlines.clear()
        self._beats.clear()
