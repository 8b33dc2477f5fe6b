"""The in-memory adapter's broadcast reaches every kind of socket: tether's own (whose base
class it calls directly when compiled) and any other object with the ``SocketLike`` methods,
such as a user's adapter or test double keeps."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from tether.adapters.base import BroadcastOptions
from tether.adapters.memory import MemoryAdapter
from tether.adapters.target import BroadcastTarget
from tether.eio.encoded import Encoded
from tether.sio import Packet, PacketType


class PlainSocket:
    """A ``SocketLike`` that is not a :class:`BroadcastTarget`."""

    def __init__(self, sid: str) -> None:
        self.id = sid
        self.connected = True
        self.got: list[tuple[list[str | bytes], bool]] = []

    def write_encoded(self, parts: list[Encoded], volatile: bool) -> None:
        self.got.append(([p.packet for p in parts], volatile))

    def expect_ack(self, ack_id: int, callback: Callable[[list[Any]], None]) -> None:
        raise AssertionError("no acks here")

    def join(self, rooms: str | Iterable[str]) -> None:
        raise AssertionError("not used")

    def leave(self, room: str) -> None:
        raise AssertionError("not used")

    def disconnect(self, close: bool = False) -> None:
        raise AssertionError("not used")


class TargetSocket(BroadcastTarget, PlainSocket):
    """A ``SocketLike`` on the native base class, as :class:`tether.Socket` is."""

    def __init__(self, sid: str) -> None:
        PlainSocket.__init__(self, sid)

    def write_encoded(self, parts: list[Encoded], volatile: bool) -> None:
        PlainSocket.write_encoded(self, parts, volatile)


class FakeNamespace:
    name = "/"
    recovery_duration = None

    def __init__(self, sockets: list[PlainSocket]) -> None:
        self.sockets = {s.id: s for s in sockets}

    def next_ack_id(self) -> int:
        return 1

    def forget_ack(self, ack_id: int) -> None:
        pass

    def dispatch_server_side(
        self, args: list[Any], ack: Callable[[list[Any]], None] | None
    ) -> None:
        pass


def test_a_broadcast_reaches_plain_and_native_sockets_alike() -> None:
    plain, target, outside = PlainSocket("a"), TargetSocket("b"), TargetSocket("c")
    adapter = MemoryAdapter(FakeNamespace([plain, target, outside]))
    adapter.add_all("a", ["room"])
    adapter.add_all("b", ["room"])
    packet = Packet(PacketType.EVENT, "/", ["news", 1])
    adapter.broadcast(packet, BroadcastOptions(rooms=frozenset({"room"})))
    assert plain.got == target.got == [(['42["news",1]'], False)]
    assert outside.got == []

    adapter.broadcast(packet, BroadcastOptions())
    assert len(plain.got) == len(target.got) == 2
    assert outside.got == [(['42["news",1]'], False)]


def test_the_base_class_alone_writes_nothing() -> None:
    class Bare(BroadcastTarget):
        pass

    with pytest.raises(NotImplementedError):
        Bare().write_encoded([], False)
