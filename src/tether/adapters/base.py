"""The adapter seam: where rooms and broadcasts live, and the small protocol adapters use
to talk to a namespace (they never import the server).

An adapter answers for one namespace. :class:`tether.adapters.memory.MemoryAdapter` keeps
everything in this process; a cluster adapter (Redis) subclasses it and also publishes what
other servers must do, and answers their requests.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from tether.adapters import notepack
from tether.eio.encoded import Encoded
from tether.sio import Packet


def room_set(rooms: str | Iterable[str]) -> frozenset[str]:
    """One room or several, as a set (``"a"`` is one room, not three)."""
    return frozenset((rooms,)) if isinstance(rooms, str) else frozenset(rooms)


log = logging.getLogger("tether.cluster")


@dataclass(frozen=True, slots=True)
class BroadcastFlags:
    """Modifiers of a broadcast, as Node's broadcast operator has them."""

    volatile: bool = False
    compress: bool = True
    local: bool = False
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class BroadcastOptions:
    """Who receives a broadcast: members of ``rooms`` (everyone when empty), less the members
    of ``except_rooms``."""

    rooms: frozenset[str] = frozenset()
    except_rooms: frozenset[str] = frozenset()
    flags: BroadcastFlags = field(default_factory=BroadcastFlags)


class SocketLike(Protocol):
    """What an adapter needs of a socket."""

    @property
    def id(self) -> str:
        """The socket id (also a room of its own)."""

    @property
    def connected(self) -> bool:
        """Whether the socket is still connected."""

    def write_encoded(self, parts: list[Encoded], volatile: bool) -> None:
        """Write packet parts encoded once for many sockets."""

    def expect_ack(self, ack_id: int, callback: Callable[[list[Any]], None]) -> None:
        """Call ``callback`` with the arguments of the ACK carrying ``ack_id``."""

    def join(self, rooms: str | Iterable[str]) -> None:
        """Join rooms."""

    def leave(self, room: str) -> None:
        """Leave a room."""

    def disconnect(self, close: bool = False) -> None:
        """Disconnect this socket (and the whole connection when ``close``)."""

    @property
    def rooms(self) -> set[str]:
        """The rooms the socket is in."""

    @property
    def handshake(self) -> Any:
        """What the client sent when it connected (a dataclass)."""

    @property
    def data(self) -> Any:
        """The application's data on the socket."""


class NamespaceLike(Protocol):
    """What an adapter needs of its namespace."""

    @property
    def name(self) -> str:
        """The namespace name, such as ``/`` or ``/chat``."""

    @property
    def sockets(self) -> Mapping[str, SocketLike]:
        """The connected sockets of this namespace on this server, by id."""

    @property
    def recovery_duration(self) -> float | None:
        """How long a disconnected socket's session is kept for recovery (seconds);
        ``None`` when connection state recovery is off."""

    def next_ack_id(self) -> int:
        """A fresh ack id for a broadcast expecting acknowledgements."""

    def forget_ack(self, ack_id: int) -> None:
        """Drop the callbacks of a broadcast expecting acks that timed out."""

    def dispatch_server_side(
        self, args: list[Any], ack: Callable[[list[Any]], None] | None
    ) -> None:
        """Deliver a ``server_side_emit`` from another server to this server's handlers."""


@dataclass(frozen=True, slots=True)
class RemoteSocketDetails:
    """A socket of another server, as ``fetch_sockets`` learns it."""

    id: str
    handshake: dict[str, Any]
    rooms: list[str]
    data: Any

    @classmethod
    def parse(cls, raw: Any) -> RemoteSocketDetails | None:
        """The details in a ``fetch_sockets`` answer; ``None`` when ``raw`` is not one."""
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            return None
        handshake = raw.get("handshake")
        rooms = raw.get("rooms")
        return cls(
            id=raw["id"],
            handshake=handshake if isinstance(handshake, dict) else {},
            rooms=[r for r in rooms if isinstance(r, str)] if isinstance(rooms, list) else [],
            data=raw.get("data"),
        )

    @staticmethod
    def describe(socket: SocketLike) -> dict[str, Any]:
        """What a ``fetch_sockets`` answer tells of a local socket; its ``data`` is sent as
        ``None`` when neither JSON nor MessagePack can carry it."""
        data = socket.data
        try:
            notepack.pack(data)
            orjson.dumps(data, default=_carried_elsewise)
        except (notepack.NotepackError, TypeError):
            log.warning(
                "socket data of %s cannot be sent to another server; sent as null", socket.id
            )
            data = None
        return {
            "id": socket.id,
            "handshake": dataclasses.asdict(socket.handshake),
            "rooms": sorted(socket.rooms),
            "data": data,
        }


def _carried_elsewise(value: Any) -> Any:
    # Binary goes as MessagePack (or as a Buffer object in JSON), sets as lists.
    if isinstance(value, (bytes, bytearray, memoryview, set, frozenset)):
        return None
    raise TypeError


@dataclass(slots=True)
class PersistedSession:
    """What connection state recovery keeps of a disconnected socket."""

    sid: str
    pid: str
    rooms: list[str]
    data: Any


@dataclass(slots=True)
class RestoredSession:
    """A session brought back, with the packets it missed (payloads of EVENT packets)."""

    sid: str
    pid: str
    rooms: list[str]
    data: Any
    missed_packets: list[list[Any]]


class Adapter(Protocol):
    """Rooms and broadcasts of one namespace: what a namespace asks of its adapter."""

    async def init(self) -> None:
        """Get ready (a cluster adapter subscribes); awaited before the server listens."""

    def add_all(self, sid: str, rooms: Iterable[str]) -> None:
        """Put socket ``sid`` in ``rooms``."""

    def delete(self, sid: str, room: str) -> None:
        """Take socket ``sid`` out of ``room``."""

    def delete_all(self, sid: str) -> None:
        """Take socket ``sid`` out of every room."""

    def socket_rooms(self, sid: str) -> set[str]:
        """The rooms of socket ``sid``."""

    def sockets(self, rooms: Iterable[str] = ()) -> set[str]:
        """Ids of the local sockets in any of ``rooms`` (all when empty)."""

    async def all_rooms(self) -> set[str]:
        """Every room with a member (on every server, in a cluster)."""

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        """Send ``packet`` to the sockets ``opts`` designates."""

    def broadcast_with_ack(
        self,
        packet: Packet,
        opts: BroadcastOptions,
        on_count: Callable[[int], None],
        on_ack: Callable[[list[Any]], None],
    ) -> None:
        """Broadcast expecting acknowledgements."""

    async def fetch_sockets(self, opts: BroadcastOptions) -> list[Any]:
        """The designated sockets: the local ones, and a :class:`RemoteSocketDetails` for each
        one on another server of the cluster."""

    def add_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        """The designated sockets join ``rooms``."""

    def del_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        """The designated sockets leave ``rooms``."""

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        """Disconnect the designated sockets."""

    def server_side_emit(self, args: list[Any]) -> None:
        """Emit ``[event, *args]`` to the other servers."""

    async def server_side_emit_with_ack(self, args: list[Any], timeout: float) -> list[Any]:
        """Emit to the other servers and return their answers; raises
        :class:`~tether.errors.AckTimeoutError` with the answers that came if some are
        missing after ``timeout`` seconds."""

    async def server_count(self) -> int:
        """Servers in the cluster, this one included."""

    def persist_session(self, session: PersistedSession) -> None:
        """Keep a session for recovery."""

    async def restore_session(self, pid: str, offset: str) -> RestoredSession | None:
        """Bring back a session and its missed packets."""

    async def close(self) -> None:
        """Release resources."""


AdapterFactory = Callable[[NamespaceLike], Adapter]

__all__ = [
    "Adapter",
    "AdapterFactory",
    "BroadcastFlags",
    "BroadcastOptions",
    "NamespaceLike",
    "Packet",
    "PersistedSession",
    "RemoteSocketDetails",
    "RestoredSession",
    "SocketLike",
    "room_set",
]
