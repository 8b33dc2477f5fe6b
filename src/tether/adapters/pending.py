"""Requests to the other servers of a cluster that wait for their answers (``fetch_sockets``,
``all_rooms``, server-side acks), whatever carries them."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["PendingRequest", "ask"]

log = logging.getLogger("tether.cluster")


@dataclass(slots=True)
class PendingRequest:
    """A request waiting for ``expected`` answers (one per other server)."""

    kind: Any
    expected: int
    done: asyncio.Future[None]
    answered: int = 0
    results: list[Any] = field(default_factory=list)
    #: Requests of this process that timed out before every server answered.
    timed_out: ClassVar[int] = 0

    def add(self, results: list[Any]) -> None:
        """One server's answer."""
        self.results.extend(results)
        self.answered += 1
        if self.answered >= self.expected and not self.done.done():
            self.done.set_result(None)

    @property
    def complete(self) -> bool:
        """Whether every server answered."""
        return self.answered >= self.expected


async def ask(
    pending: dict[str, PendingRequest],
    kind: Any,
    expected: int,
    send: Callable[[str], None],
    timeout: float,
) -> PendingRequest:
    """Register a request under a new id, ``send(id)`` it, and return it once ``expected``
    servers answered or after ``timeout`` seconds (with the answers that came)."""
    request = PendingRequest(kind, expected, asyncio.get_running_loop().create_future())
    if expected <= 0:
        return request
    request_id = secrets.token_hex(8)
    pending[request_id] = request
    try:
        send(request_id)
        await asyncio.wait_for(request.done, timeout)
    except TimeoutError:
        PendingRequest.timed_out += 1
        log.warning(
            "%s: %d of %d servers answered within %.1f s",
            getattr(kind, "name", kind),
            request.answered,
            expected,
            timeout,
        )
    finally:
        del pending[request_id]
    return request
