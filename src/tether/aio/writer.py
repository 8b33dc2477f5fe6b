"""Outgoing bytes for one connection: write-through when idle, coalesced within a loop
iteration, bounded when the peer reads slowly.

The first write of a loop iteration goes straight to the transport (lowest latency for a
request/answer exchange); further writes in the same iteration are collected and handed to
the transport once, with ``writelines``, when the iteration ends (one syscall for a burst,
as a broadcast loop produces). One callback per loop iteration flushes every writer that
needs it, not one per connection.

Backpressure: the transport calls ``pause_writing`` when its buffer passes the high-water
mark. While paused, :meth:`Writer.write_volatile` drops, and once the transport's buffer
plus ours exceed ``max_buffer`` the connection is closed with :attr:`Writer.overflowed` set:
a slow reader never makes the server's memory grow without bound, and the others never wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ClassVar, Final

#: The empty buffer writers share until they coalesce something (never changed in place).
_EMPTY: Final[list[bytes]] = []


class _Flusher:
    """Flushes the writers that coalesced bytes during this loop iteration, once, at its end."""

    __slots__ = ("dirty", "epoch", "loop", "run_soon", "scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.dirty: list[Writer] = []
        self.scheduled = False
        #: Counts the runs: a writer that wrote through in this epoch coalesces what follows.
        self.epoch = 0
        #: :meth:`run` bound once, for ``call_soon`` (not a bound method made per write).
        self.run_soon: Callable[[], None] = self.run

    def add(self, writer: Writer) -> None:
        self.dirty.append(writer)
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.run_soon)

    def run(self) -> None:
        self.scheduled = False
        self.epoch += 1
        dirty, self.dirty = self.dirty, []
        for writer in dirty:
            writer.flush()


_flushers: dict[asyncio.AbstractEventLoop, _Flusher] = {}


def _flusher_for(loop: asyncio.AbstractEventLoop) -> _Flusher:
    flusher = _flushers.get(loop)
    if flusher is None or flusher.loop is not loop:
        flusher = _flushers[loop] = _Flusher(loop)
        # Forget flushers of closed loops (tests make many loops).
        for old in [k for k in _flushers if k.is_closed()]:
            del _flushers[old]
    return flusher


def close_transport(transport: asyncio.BaseTransport, timeout: float) -> None:
    """Close gracefully (what is buffered is sent), and abort if that takes over ``timeout``
    seconds: a peer that stops reading must not hold the connection open."""
    transport.close()
    asyncio.get_running_loop().call_later(timeout, transport.abort)  # type: ignore[attr-defined]


class Writer:
    """The outgoing side of one TCP connection."""

    __slots__ = (
        "_buffer",
        "_buffered",
        "_drain",
        "_epoch",
        "_flusher",
        "_queued",
        "closed",
        "max_buffer",
        "on_overflow",
        "overflowed",
        "paused",
        "transport",
    )

    #: Connections of this process closed for reading too slowly (``max_write_buffer``).
    overflows: ClassVar[int] = 0

    def __init__(
        self,
        transport: asyncio.Transport,
        *,
        max_buffer: int,
        high_water: int = 64 * 1024,
        on_overflow: Callable[[], None] | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.transport = transport
        self.max_buffer = max_buffer
        self.on_overflow = on_overflow
        self.paused = False
        self.closed = False
        self.overflowed = False
        self._buffer: list[bytes] = _EMPTY
        self._buffered = 0
        self._epoch = -1  # the flusher's epoch when this writer last wrote through
        self._queued = False  # in the flusher's list
        self._drain: asyncio.Future[None] | None = None  # what drained() waits on
        self._flusher = _flusher_for(loop or asyncio.get_running_loop())
        transport.set_write_buffer_limits(high=high_water)

    def write(self, data: bytes) -> None:
        """Queue ``data``; never blocks, never raises for a closed connection."""
        if self.closed:
            return
        flusher = self._flusher
        if self._epoch != flusher.epoch and not self.paused and not self._buffer:
            # The first write since the last flush: straight to the transport. The flusher
            # still runs at the end of the iteration, to end the epoch (no call per writer).
            self._epoch = flusher.epoch
            if not flusher.scheduled:
                flusher.scheduled = True
                flusher.loop.call_soon(flusher.run_soon)
            self.transport.write(data)
            return
        self._append(data)
        if self.paused:
            self._check_limit()

    def _append(self, data: bytes) -> None:
        if self._buffer is _EMPTY:
            self._buffer = []
        self._buffer.append(data)
        self._buffered += len(data)
        if not self._queued:
            self._queued = True
            self._flusher.add(self)

    def write_many(self, chunks: list[bytes]) -> None:
        """Queue several chunks at once: written through together (one ``writev``) when
        :meth:`write` would write through the first."""
        if self.closed:
            return
        flusher = self._flusher
        if self._epoch != flusher.epoch and not self.paused and not self._buffer:
            self._epoch = flusher.epoch
            if not flusher.scheduled:
                flusher.scheduled = True
                flusher.loop.call_soon(flusher.run_soon)
            self.transport.writelines(chunks)
            return
        for chunk in chunks:
            self.write(chunk)

    def write_soon(self, data: bytes) -> None:
        """Queue ``data`` for the end of this loop iteration, with what is written after it
        meanwhile: one syscall for a handshake answer and the first message."""
        if not self.closed:
            self._append(data)

    def write_volatile(self, data: bytes) -> bool:
        """Queue ``data`` unless the peer is slow; returns False when it was dropped."""
        if self.paused or self.closed:
            return False
        self.write(data)
        return True

    def flush(self) -> None:
        """Hand what this iteration coalesced to the transport (called by the flusher)."""
        self._queued = False
        self._epoch = -1  # the next write goes straight through
        if self._buffer and not self.paused and not self.closed:
            buffer = self._buffer
            self._buffer = _EMPTY
            self._buffered = 0
            if len(buffer) == 1:
                self.transport.write(buffer[0])
            else:
                self.transport.writelines(buffer)

    def pause(self) -> None:
        """The transport's buffer is above its high-water mark."""
        self.paused = True
        self._check_limit()

    def resume(self) -> None:
        """The transport drained below its low-water mark."""
        self.paused = False
        if self._buffer and not self._queued:
            self._queued = True
            self._flusher.add(self)
        self._release()

    async def drained(self) -> None:
        """Wait until what was written is in the transport's hands and the peer reads again:
        for a producer that can wait (a streamed response) instead of being cut off at
        ``max_buffer``. Returns at once when nothing waits, and when the connection closes."""
        while not self.closed:
            if self.paused:
                if self._drain is None:
                    self._drain = self._flusher.loop.create_future()
                # Shielded: one waiter cancelled must not cancel the others' future.
                await asyncio.shield(self._drain)
            elif self._buffer:
                # Coalesced: the flusher hands it to the transport at the end of this loop
                # iteration (which may then pause).
                await asyncio.sleep(0)
            else:
                return

    def _release(self) -> None:
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    def finish(self, last: bytes = b"") -> bool:
        """Hand what is queued, then ``last`` (a close frame), to the transport even while
        paused, and stop writing: these are the connection's last bytes.

        Returns True when they are all in the transport's buffer (close it gracefully now).
        Past ``max_buffer`` the connection overflows instead (aborted, nothing more sent);
        on a closing transport nothing is sent; both return False.  Once finished, returns
        True again and writes nothing.
        """
        if self.closed:
            return not self.overflowed and not self.transport.is_closing()
        if self.transport.is_closing():
            self.closed = True
            self._buffer = _EMPTY
            self._buffered = 0
            return False
        if self.buffered + len(last) > self.max_buffer:
            self._overflow()
            return False
        chunks = self._buffer
        self._buffer = _EMPTY
        self._buffered = 0
        self.closed = True
        if last:
            chunks = [*chunks, last]
        if len(chunks) == 1:
            self.transport.write(chunks[0])
        elif chunks:
            self.transport.writelines(chunks)
        return True

    def close(self) -> None:
        """Stop writing; what is queued in the transport is still sent."""
        if not self.closed:
            self.flush()
            self.closed = True
            self._buffer = _EMPTY
            self._buffered = 0
        self._release()

    @property
    def buffered(self) -> int:
        """Bytes waiting, ours and the transport's."""
        size = self._buffered
        if not self.transport.is_closing():
            size += self.transport.get_write_buffer_size()
        return size

    def _check_limit(self) -> None:
        if self.buffered > self.max_buffer and not self.overflowed:
            self._overflow()

    def _overflow(self) -> None:
        Writer.overflows += 1
        # No close frame: it would wait behind the bytes this reader is not reading (a
        # transport's buffer cannot be cut at a frame boundary), holding the memory the bound
        # is there to release.  The peer sees 1006, abnormal closure.
        self.overflowed = True
        self.closed = True
        self._buffer = _EMPTY
        self._buffered = 0
        self._release()
        if self.on_overflow is not None:
            self.on_overflow()
        self.transport.abort()
