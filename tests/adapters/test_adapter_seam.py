"""The adapter seam: a cluster adapter only has to subclass the in-memory one and carry
requests to the other servers. Two servers in one process joined by a trivial in-memory
"bus" show that server-side emits, with and without acks, reach the other server's handlers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import tether
from tether.adapters.base import NamespaceLike
from tether.adapters.memory import MemoryAdapter
from tether.handlers import ack_value


class Bus:
    def __init__(self) -> None:
        self.adapters: list[BusAdapter] = []


class BusAdapter(MemoryAdapter):
    def __init__(self, nsp: NamespaceLike, bus: Bus) -> None:
        super().__init__(nsp)
        self.bus = bus
        bus.adapters.append(self)

    def _others(self) -> list[BusAdapter]:
        return [a for a in self.bus.adapters if a is not self and a.nsp.name == self.nsp.name]

    def server_side_emit(self, args: list[Any]) -> None:
        for other in self._others():
            other.nsp.dispatch_server_side(args, None)

    async def server_side_emit_with_ack(self, args: list[Any], timeout: float) -> list[Any]:
        others = self._others()
        answers: list[Any] = []
        done = asyncio.get_running_loop().create_future()

        def ack(result: list[Any]) -> None:
            answers.append(ack_value(result))
            if len(answers) == len(others) and not done.done():
                done.set_result(None)

        for other in others:
            other.nsp.dispatch_server_side(args, ack)
        try:
            await asyncio.wait_for(done, timeout)
        except TimeoutError:
            raise tether.AckTimeoutError(responses=answers) from None
        return answers

    async def server_count(self) -> int:
        return len(self.bus.adapters)


def pair() -> tuple[tether.Server, tether.Server]:
    bus = Bus()
    return (
        tether.Server(adapter=lambda nsp: BusAdapter(nsp, bus)),
        tether.Server(adapter=lambda nsp: BusAdapter(nsp, bus)),
    )


async def test_server_side_emit_reaches_the_other_server() -> None:
    first, second = pair()
    received: list[Any] = []
    second.on_server_side("hello", lambda *args: received.append(args))
    first.server_side_emit("hello", 1, {"two": 2})
    assert received == [(1, {"two": 2})]


async def test_server_side_emit_with_ack_collects_the_answers() -> None:
    first, second = pair()

    @second.on_server_side("count")
    async def count(prefix: str) -> str:
        return prefix + "42"

    assert await first.server_side_emit_with_ack("count", "n=") == ["n=42"]


async def test_server_side_emit_with_ack_times_out_without_an_answer() -> None:
    first, _ = pair()  # the second server has no handler: it never answers
    with pytest.raises(tether.AckTimeoutError) as info:
        await first.server_side_emit_with_ack("nobody", timeout=0.05)
    assert info.value.responses == []


async def test_alone_a_server_side_emit_reaches_nobody() -> None:
    io = tether.Server()
    io.server_side_emit("x")
    assert await io.sockets.server_count() == 1
    assert await io.server_side_emit_with_ack("x") == []
