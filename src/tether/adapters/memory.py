"""The in-memory adapter: rooms, encode-once broadcasts, and connection state recovery for
one process.

A broadcast is encoded once (one Socket.IO packet → its Engine.IO parts → one
:class:`~tether.aio.engine.Encoded` each, whose WebSocket frame is built once) and the same
objects are written to every recipient.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from tether._compiled import mypyc_attr
from tether.adapters.base import (
    BroadcastOptions,
    NamespaceLike,
    PersistedSession,
    RestoredSession,
    SocketLike,
)
from tether.adapters.target import BroadcastTarget
from tether.eio.encoded import Encoded
from tether.sio import Packet, PacketType, encode


@mypyc_attr(allow_interpreted_subclasses=True)
class MemoryAdapter:
    """Rooms and broadcasts of one namespace in this process."""

    def __init__(self, nsp: NamespaceLike) -> None:
        self.nsp = nsp
        self.rooms: dict[str, set[str]] = {}
        self.sids: dict[str, set[str]] = {}
        # The namespace's parser: a broadcast is encoded once with it.
        codec = getattr(nsp, "codec", None)
        self._encode: Callable[[Packet], list[str | bytes]] = (
            encode if codec is None else codec.encode
        )

    async def init(self) -> None:
        """Nothing to get ready in one process."""

    # -- rooms ------------------------------------------------------------------------------

    def add_all(self, sid: str, rooms: Iterable[str]) -> None:
        """Put socket ``sid`` in ``rooms``."""
        joined = self.sids.get(sid)
        if joined is None:
            joined = self.sids[sid] = set()
        for room in rooms:
            joined.add(room)
            members = self.rooms.get(room)
            if members is None:
                self.rooms[room] = {sid}
            else:
                members.add(sid)

    def delete(self, sid: str, room: str) -> None:
        """Take socket ``sid`` out of ``room``."""
        joined = self.sids.get(sid)
        if joined is not None:
            joined.discard(room)
        members = self.rooms.get(room)
        if members is not None:
            members.discard(sid)
            if not members:
                del self.rooms[room]

    def delete_all(self, sid: str) -> None:
        """Take socket ``sid`` out of every room."""
        for room in self.sids.pop(sid, ()):
            members = self.rooms.get(room)
            if members is not None:
                members.discard(sid)
                if not members:
                    del self.rooms[room]

    def socket_rooms(self, sid: str) -> set[str]:
        """The rooms socket ``sid`` is in."""
        return set(self.sids.get(sid, ()))

    def local_rooms(self) -> set[str]:
        """Every room with at least one member on this server."""
        return set(self.rooms)

    async def all_rooms(self) -> set[str]:
        """Every room with at least one member (here, on this server)."""
        return self.local_rooms()

    def sockets(self, rooms: Iterable[str] = ()) -> set[str]:
        """Ids of the sockets in any of ``rooms`` (every socket when empty)."""
        return {s.id for s in self._targets(BroadcastOptions(rooms=frozenset(rooms)))}

    def _targets(self, opts: BroadcastOptions) -> list[SocketLike]:
        sockets = self.nsp.sockets
        excluded: set[str] = set()
        for room in opts.except_rooms:
            members = self.rooms.get(room)
            if members:
                excluded.update(members)
        if opts.rooms:
            if len(opts.rooms) == 1:
                (room,) = opts.rooms
                ids: Iterable[str] = self.rooms.get(room, ())
            else:
                union: set[str] = set()
                for room in opts.rooms:
                    members = self.rooms.get(room)
                    if members:
                        union.update(members)
                ids = union
            targets = []
            for sid in ids:
                if sid not in excluded:
                    socket = sockets.get(sid)
                    if socket is not None:
                        targets.append(socket)
            return targets
        if excluded:
            return [s for sid, s in sockets.items() if sid not in excluded]
        return list(sockets.values())

    # -- broadcasts -------------------------------------------------------------------------

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        """Send ``packet`` to every socket ``opts`` designates, encoded once."""
        parts = [Encoded(p, opts.flags.compress) for p in self._encode(packet)]
        volatile = opts.flags.volatile
        for socket in self._targets(opts):
            if isinstance(socket, BroadcastTarget):
                # Narrowed to the class (not to an intersection with the protocol): compiled,
                # a direct call rather than a Python method call.
                target: BroadcastTarget = socket
                target.write_encoded(parts, volatile)
            else:
                socket.write_encoded(parts, volatile)

    def broadcast_with_ack(
        self,
        packet: Packet,
        opts: BroadcastOptions,
        on_count: Callable[[int], None],
        on_ack: Callable[[list[Any]], None],
    ) -> None:
        """Broadcast ``packet`` (its ``id`` set) and call ``on_ack`` with each client's answer;
        ``on_count`` first gets the number of clients expected to answer."""
        assert packet.id is not None
        parts = [Encoded(p, opts.flags.compress) for p in self._encode(packet)]
        targets = self._targets(opts)
        on_count(len(targets))
        for socket in targets:
            socket.expect_ack(packet.id, on_ack)
            socket.write_encoded(parts, opts.flags.volatile)

    def broadcast_for_peer(
        self,
        data: list[Any],
        opts: BroadcastOptions,
        on_count: Callable[[int], None],
        on_ack: Callable[[Any], None],
        timeout: float,
    ) -> None:
        """The local part of a broadcast with acks that another server asked for: an ack id
        of this server, ``on_ack`` with each client's first argument (as Node relays it),
        the waiting callbacks dropped after ``timeout`` seconds."""
        ack_id = self.nsp.next_ack_id()
        packet = Packet(PacketType.EVENT, self.nsp.name, data, ack_id)
        MemoryAdapter.broadcast_with_ack(
            self, packet, opts, on_count, lambda args: on_ack(args[0] if args else None)
        )
        asyncio.get_running_loop().call_later(timeout, self.nsp.forget_ack, ack_id)

    # -- operations on the matching sockets -------------------------------------------------

    async def fetch_sockets(self, opts: BroadcastOptions) -> list[Any]:
        """The sockets ``opts`` designates (here, all local)."""
        return self._targets(opts)

    def add_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        """Make the designated sockets join ``rooms``."""
        for socket in self._targets(opts):
            socket.join(rooms)

    def del_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        """Make the designated sockets leave ``rooms``."""
        for socket in self._targets(opts):
            for room in rooms:
                socket.leave(room)

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        """Disconnect the designated sockets."""
        for socket in self._targets(opts):
            socket.disconnect(close)

    def server_side_emit(self, args: list[Any]) -> None:
        """Send to the other servers of the cluster (there are none)."""

    async def server_side_emit_with_ack(self, args: list[Any], timeout: float) -> list[Any]:
        """The answers of the other servers of the cluster (there are none)."""
        return []

    async def server_count(self) -> int:
        """Servers in the cluster, this one included."""
        return 1

    # -- connection state recovery (no-ops unless :class:`SessionAwareAdapter`) --------------

    def persist_session(self, session: PersistedSession) -> None:
        """Keep a disconnected socket's state for recovery."""

    async def restore_session(self, pid: str, offset: str) -> RestoredSession | None:
        """Bring back a session and what it missed since ``offset``, if still possible."""
        return None

    async def close(self) -> None:
        """Release what the adapter holds (connections to a broker, timers)."""


@mypyc_attr(allow_interpreted_subclasses=True)
class SessionAwareAdapter(MemoryAdapter):
    """The in-memory adapter with connection state recovery (Node's ``SessionAwareAdapter``).

    Each broadcast EVENT without ack and not volatile gets an offset appended as its last
    argument and is kept for ``max_disconnection_duration`` seconds; a socket that comes back
    within that time with its private id and its last offset gets its id, rooms, data and
    every packet it missed.
    """

    def __init__(self, nsp: NamespaceLike, max_disconnection_duration: float = 120.0) -> None:
        super().__init__(nsp)
        self.max_disconnection_duration = max_disconnection_duration
        self.sessions: dict[str, tuple[PersistedSession, float]] = {}
        self.packets: deque[tuple[str, float, BroadcastOptions, list[Any]]] = deque()
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count(1)

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        if packet.type is PacketType.EVENT and packet.id is None and not opts.flags.volatile:
            offset = f"{self._prefix}-{next(self._counter):x}"
            data = [*packet.data, offset]
            packet = Packet(packet.type, packet.nsp, data, None)
            now = time.monotonic()
            self._prune(now)
            self.packets.append((offset, now, opts, data))
        super().broadcast(packet, opts)

    def persist_session(self, session: PersistedSession) -> None:
        now = time.monotonic()
        self._prune(now)
        self.sessions[session.pid] = (session, now)

    async def restore_session(self, pid: str, offset: str) -> RestoredSession | None:
        now = time.monotonic()
        self._prune(now)
        entry = self.sessions.pop(pid, None)
        if entry is None:
            return None
        session, _ = entry
        index = self._index_of(offset)
        if index is None:
            return None
        rooms = set(session.rooms)
        missed = [
            data
            for _, _, opts, data in itertools.islice(self.packets, index + 1, None)
            if _includes(rooms, opts)
        ]
        return RestoredSession(session.sid, session.pid, session.rooms, session.data, missed)

    def _index_of(self, offset: str) -> int | None:
        # Offsets are "<prefix>-<counter>" with consecutive counters: the position is computed.
        prefix, _, counter = offset.partition("-")
        if prefix != self._prefix or not self.packets:
            return None
        try:
            index = int(counter, 16) - int(self.packets[0][0].partition("-")[2], 16)
        except ValueError:
            return None
        if 0 <= index < len(self.packets) and self.packets[index][0] == offset:
            return index
        return None

    def _prune(self, now: float) -> None:
        limit = now - self.max_disconnection_duration
        packets = self.packets
        while packets and packets[0][1] < limit:
            packets.popleft()
        sessions = self.sessions
        # Kept in the order they were stored, so the expired ones come first.
        while sessions:
            pid, (_, stored_at) = next(iter(sessions.items()))
            if stored_at >= limit:
                break
            del sessions[pid]


def _includes(rooms: set[str], opts: BroadcastOptions) -> bool:
    included = not opts.rooms or not rooms.isdisjoint(opts.rooms)
    return included and rooms.isdisjoint(opts.except_rooms)
