"""Emits with guaranteed delivery, as socket.io-client's ``retries`` option gives them.

With ``retries > 0`` every emit of a namespace goes through its queue: one packet at a time
is sent with an ack id; when no ack comes within ``ack_timeout`` it is sent again, up to
``retries`` more times, and the next packet waits for it. A packet in flight when the
connection drops is sent again after the reconnection. The server may see a packet more
than once: delivery is at least once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tether.errors import AckTimeoutError, DisconnectedError


@dataclass(slots=True)
class QueuedPacket:
    """One emit waiting for its ack; ``answer`` resolves with the ack arguments."""

    event: str
    args: Sequence[Any]
    answer: asyncio.Future[list[Any]]
    timeout: float | None
    tries: int = 0
    pending: bool = False


@dataclass(slots=True)
class RetryQueue:
    """The queue of one namespace. ``send(event, args, ack_id)`` writes a packet now;
    ``new_ack(ack_id)`` registers a future the client resolves when the ACK arrives."""

    retries: int
    send: Callable[[str, Sequence[Any], int], None]
    new_ack: Callable[[], tuple[int, asyncio.Future[list[Any]]]]
    packets: deque[QueuedPacket] = field(default_factory=deque)

    def add(
        self, event: str, args: Sequence[Any], timeout: float | None
    ) -> asyncio.Future[list[Any]]:
        """Queue an emit; the future resolves with its ack arguments, or fails with
        :class:`AckTimeoutError` once every try timed out."""
        answer: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self.packets.append(QueuedPacket(event, args, answer, timeout))
        return answer

    def drain(self, connected: bool, force: bool = False) -> None:
        """Send the head of the queue if nothing is in flight (``force`` after a reconnection)."""
        if not connected or not self.packets:
            return
        packet = self.packets[0]
        if packet.pending and not force:
            return
        packet.pending = True
        packet.tries += 1
        ack_id, ack = self.new_ack()
        timer = None
        if packet.timeout is not None:
            timer = asyncio.get_running_loop().call_later(
                packet.timeout, self._timed_out, packet, ack
            )
        ack.add_done_callback(lambda done: self._answered(packet, done, timer))
        self.send(packet.event, packet.args, ack_id)

    def _timed_out(self, packet: QueuedPacket, ack: asyncio.Future[list[Any]]) -> None:
        if not ack.done():
            ack.set_exception(AckTimeoutError())

    def _answered(
        self,
        packet: QueuedPacket,
        ack: asyncio.Future[list[Any]],
        timer: asyncio.TimerHandle | None,
    ) -> None:
        if timer is not None:
            timer.cancel()
        if not self.packets or self.packets[0] is not packet:
            return  # already answered by an earlier try
        error = ack.exception() if not ack.cancelled() else DisconnectedError("cancelled")
        if isinstance(error, DisconnectedError):
            return  # sent again after the reconnection (drain with force)
        if error is None:
            self.packets.popleft()
            if not packet.answer.done():
                packet.answer.set_result(ack.result())
        elif packet.tries > self.retries:
            self.packets.popleft()
            if not packet.answer.done():
                packet.answer.set_exception(error)
        packet.pending = False
        self.drain(connected=True)

    def fail_all(self, error: BaseException) -> None:
        """The client is disconnected for good."""
        while self.packets:
            packet = self.packets.popleft()
            if not packet.answer.done():
                packet.answer.set_exception(error)
