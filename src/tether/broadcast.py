"""The broadcast operator, ``io.to("room").except_("other").emit("event", ...)``, and the
sockets of other servers it finds (:class:`RemoteSocket`).

Each operator call returns a new operator (they are cheap and immutable), so a chain can
be kept and reused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from tether.adapters.base import (
    Adapter,
    BroadcastFlags,
    BroadcastOptions,
    NamespaceLike,
    RemoteSocketDetails,
    SocketLike,
    room_set,
)
from tether.errors import AckTimeoutError
from tether.handlers import ack_value, check_loop, off_loop
from tether.handshake import Handshake
from tether.sio import RESERVED_EVENTS, Packet, PacketType

#: The class of the local sockets a broadcast finds (:class:`tether.Socket`).
S_co = TypeVar("S_co", bound=SocketLike, covariant=True)
S = TypeVar("S", bound=SocketLike)


class BroadcastNamespace(NamespaceLike, Protocol[S_co]):
    """What a broadcast needs of its namespace (a :class:`tether.Namespace`, whose sockets
    are :class:`tether.Socket` objects)."""

    @property
    def sockets(self) -> Mapping[str, S_co]:
        """The connected sockets of this namespace on this server, by id."""

    #: The counts of :mod:`tether.metrics`, ``None`` unless metrics are on.
    metrics: Any

    @property
    def adapter(self) -> Adapter:
        """The namespace's adapter: rooms, and the cluster if any."""

    def notify_outgoing(self, opts: BroadcastOptions, data: list[Any]) -> None:
        """Tell the sockets' ``on_any_outgoing`` listeners what a broadcast sends."""

    #: The server's loop once it started (calls from other threads are handed to it).
    loop: asyncio.AbstractEventLoop | None


class BroadcastOperator(Generic[S]):
    """Targets (rooms, exceptions) and flags of a broadcast in one namespace (``S``: the
    class of its local sockets, :class:`tether.Socket`)."""

    __slots__ = ("_flags", "_nsp", "_opts")

    def __init__(
        self,
        nsp: BroadcastNamespace[S],
        rooms: frozenset[str] = frozenset(),
        except_rooms: frozenset[str] = frozenset(),
        flags: BroadcastFlags | None = None,
    ) -> None:
        self._nsp = nsp
        self._flags = flags or BroadcastFlags()
        self._opts = BroadcastOptions(rooms, except_rooms, self._flags)

    def _with(
        self,
        rooms: frozenset[str] | None = None,
        except_rooms: frozenset[str] | None = None,
        **flags: Any,
    ) -> BroadcastOperator[S]:
        opts = self._opts
        current = self._flags
        return BroadcastOperator(
            self._nsp,
            opts.rooms if rooms is None else opts.rooms | rooms,
            opts.except_rooms if except_rooms is None else opts.except_rooms | except_rooms,
            BroadcastFlags(
                volatile=flags.get("volatile", current.volatile),
                compress=flags.get("compress", current.compress),
                local=flags.get("local", current.local),
                timeout=flags.get("timeout", current.timeout),
            )
            if flags
            else current,
        )

    def to(self, rooms: str | Iterable[str]) -> BroadcastOperator[S]:
        """Only the sockets in these rooms (added to the rooms already chosen)."""
        return self._with(rooms=room_set(rooms))

    in_ = to

    def except_(self, rooms: str | Iterable[str]) -> BroadcastOperator[S]:
        """Not the sockets in these rooms."""
        return self._with(except_rooms=room_set(rooms))

    @property
    def volatile(self) -> BroadcastOperator[S]:
        """Drop the packet for clients that are not ready to receive it now."""
        return self._with(volatile=True)

    @property
    def local(self) -> BroadcastOperator[S]:
        """Only the sockets of this server (not the rest of the cluster)."""
        return self._with(local=True)

    def compress(self, compress: bool) -> BroadcastOperator[S]:
        """Whether to compress (with permessage-deflate on)."""
        return self._with(compress=compress)

    def timeout(self, seconds: float) -> BroadcastOperator[S]:
        """How long :meth:`emit_with_ack` waits for the acknowledgements."""
        return self._with(timeout=seconds)

    def emit(self, event: str, *args: Any) -> None:
        """Send ``event`` to every targeted socket; encoded once, never blocks.

        Safe from any thread: called outside the server's loop, it is handed to the loop.
        """
        if event in RESERVED_EVENTS:
            raise ValueError(f'"{event}" is a reserved event name')
        loop = self._nsp.loop
        if off_loop(loop):
            loop.call_soon_threadsafe(self.emit, event, *args)
            return
        data = [event, *args]
        self._nsp.notify_outgoing(self._opts, data)
        if self._nsp.metrics is not None:
            self._nsp.metrics.broadcasts += 1
        self._nsp.adapter.broadcast(Packet(PacketType.EVENT, self._nsp.name, data), self._opts)

    async def emit_with_ack(self, event: str, *args: Any) -> list[Any]:
        """Send ``event`` and return the acknowledgement of every targeted client.

        Needs a timeout (``io.timeout(5).emit_with_ack(...)``); raises
        :class:`~tether.errors.AckTimeoutError` (with the answers that arrived) when some
        clients did not answer in time.
        """
        if event in RESERVED_EVENTS:
            raise ValueError(f'"{event}" is a reserved event name')
        check_loop(self._nsp.loop, "emit_with_ack")
        timeout = self._flags.timeout
        if timeout is None:
            raise ValueError("a broadcast with acknowledgements needs .timeout(seconds)")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        done: asyncio.Future[None] = loop.create_future()
        responses: list[Any] = []
        # As Node does: every server reports how many clients it reached, then their acks come.
        counts = {"servers": 0, "expected_servers": -1, "clients": 0}

        def check() -> None:
            if (
                counts["servers"] == counts["expected_servers"]
                and len(responses) >= counts["clients"]
                and not done.done()
            ):
                done.set_result(None)

        def on_count(count: int) -> None:
            counts["clients"] += count
            counts["servers"] += 1
            check()

        def on_ack(args: list[Any]) -> None:
            responses.append(ack_value(args))
            check()

        if self._nsp.metrics is not None:
            self._nsp.metrics.broadcasts += 1
        ack_id = self._nsp.next_ack_id()
        packet = Packet(PacketType.EVENT, self._nsp.name, [event, *args], ack_id)
        adapter = self._nsp.adapter
        adapter.broadcast_with_ack(packet, self._opts, on_count, on_ack)
        try:
            if self._flags.local:
                counts["expected_servers"] = 1
            else:
                counting = adapter.server_count()
                counts["expected_servers"] = await asyncio.wait_for(counting, timeout)
            check()
            await asyncio.wait_for(done, max(0.0, deadline - loop.time()))
        except TimeoutError:
            self._nsp.forget_ack(ack_id)
            raise AckTimeoutError(responses=list(responses)) from None
        return responses

    async def fetch_sockets(self) -> list[S | RemoteSocket]:
        """The targeted sockets: this server's :class:`~tether.Socket` objects and, with a
        cluster adapter, a :class:`~tether.RemoteSocket` for each one on another server."""
        check_loop(self._nsp.loop, "fetch_sockets")
        found = await self._nsp.adapter.fetch_sockets(self._opts)
        return [
            RemoteSocket(self._nsp, s) if isinstance(s, RemoteSocketDetails) else s for s in found
        ]

    def sockets_join(self, rooms: str | Iterable[str]) -> None:
        """Make the targeted sockets join ``rooms`` (from any thread)."""
        loop = self._nsp.loop
        if off_loop(loop):
            loop.call_soon_threadsafe(self.sockets_join, rooms)
            return
        self._nsp.adapter.add_sockets(self._opts, sorted(room_set(rooms)))

    def sockets_leave(self, rooms: str | Iterable[str]) -> None:
        """Make the targeted sockets leave ``rooms`` (from any thread)."""
        loop = self._nsp.loop
        if off_loop(loop):
            loop.call_soon_threadsafe(self.sockets_leave, rooms)
            return
        self._nsp.adapter.del_sockets(self._opts, sorted(room_set(rooms)))

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect the targeted sockets (and their whole connections when ``close``);
        from any thread."""
        loop = self._nsp.loop
        if off_loop(loop):
            loop.call_soon_threadsafe(self.disconnect_sockets, close)
            return
        self._nsp.adapter.disconnect_sockets(self._opts, close)


class RemoteSocket:
    """A socket connected to another server of the cluster (Node's ``RemoteSocket``).

    It has the ``id``, ``handshake``, ``rooms`` and ``data`` the other server reported, and
    acts on the real socket through the cluster: ``emit``, ``join``, ``leave``,
    ``disconnect``, ``timeout(...).emit_with_ack``.
    """

    __slots__ = ("_nsp", "_operator", "data", "handshake", "id", "rooms")

    def __init__(self, nsp: BroadcastNamespace[Any], details: RemoteSocketDetails) -> None:
        self._nsp = nsp
        self.id = details.id
        self.handshake = Handshake.from_dict(details.handshake)
        self.rooms = set(details.rooms)
        self.data = details.data
        self._operator = BroadcastOperator(nsp, frozenset((details.id,)))

    def __repr__(self) -> str:
        return f"<RemoteSocket {self.id} {self._nsp.name}>"

    def emit(self, event: str, *args: Any) -> None:
        """Send ``event`` to this socket, wherever it is connected."""
        self._operator.emit(event, *args)

    async def emit_with_ack(self, event: str, *args: Any, timeout: float) -> Any:
        """Send ``event`` and return the client's acknowledgement (as
        :meth:`tether.Socket.emit_with_ack` does); raises
        :class:`~tether.errors.AckTimeoutError` after ``timeout`` seconds."""
        responses = await self._operator.timeout(timeout).emit_with_ack(event, *args)
        if not responses:
            raise AckTimeoutError()
        return responses[0]

    def timeout(self, seconds: float) -> _TimedRemoteSocket:
        """``await remote.timeout(5).emit_with_ack(...)``, as in Node."""
        return _TimedRemoteSocket(self, seconds)

    def join(self, rooms: str | Iterable[str]) -> None:
        """Make the socket join ``rooms``."""
        self._operator.sockets_join(rooms)

    def leave(self, room: str) -> None:
        """Make the socket leave ``room``."""
        self._operator.sockets_leave(room)

    def disconnect(self, close: bool = False) -> None:
        """Disconnect the socket (and its whole connection when ``close``)."""
        self._operator.disconnect_sockets(close)


class _TimedRemoteSocket:
    __slots__ = ("_seconds", "_socket")

    def __init__(self, socket: RemoteSocket, seconds: float) -> None:
        self._socket = socket
        self._seconds = seconds

    async def emit_with_ack(self, event: str, *args: Any) -> Any:
        return await self._socket.emit_with_ack(event, *args, timeout=self._seconds)
