"""Sockets of other servers of a cluster, as ``fetch_sockets`` returns them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tether.adapters.base import RemoteSocketDetails
from tether.broadcast import BroadcastOperator
from tether.errors import AckTimeoutError
from tether.socket import Handshake

if TYPE_CHECKING:
    from tether.namespace import Namespace


def _handshake(raw: dict[str, Any]) -> Handshake:
    def text(key: str) -> str:
        value = raw.get(key)
        return value if isinstance(value, str) else ""

    def mapping(key: str) -> dict[str, Any]:
        value = raw.get(key)
        return value if isinstance(value, dict) else {}

    issued = raw.get("issued")
    return Handshake(
        headers=mapping("headers"),
        query=mapping("query"),
        address=text("address"),
        time=text("time"),
        issued=issued if isinstance(issued, int) else 0,
        url=text("url"),
        secure=raw.get("secure") is True,
        xdomain=raw.get("xdomain") is True,
        auth=mapping("auth"),
    )


class RemoteSocket:
    """A socket connected to another server of the cluster (Node's ``RemoteSocket``).

    It has the ``id``, ``handshake``, ``rooms`` and ``data`` the other server reported, and
    acts on the real socket through the cluster: ``emit``, ``join``, ``leave``,
    ``disconnect``, ``timeout(...).emit_with_ack``.
    """

    __slots__ = ("_nsp", "_operator", "data", "handshake", "id", "rooms")

    def __init__(self, nsp: Namespace, details: RemoteSocketDetails) -> None:
        self._nsp = nsp
        self.id = details.id
        self.handshake = _handshake(details.handshake)
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
