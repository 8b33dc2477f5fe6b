"""The messages servers of a cluster exchange to serve each other's Engine.IO sessions,
without I/O: their encoding, the lock rules, and the packet form they carry.

A server that gets a request for a session it doesn't hold asks the others, through a
message bus (Redis pub/sub in :mod:`tether.adapters.redis.engine`), to *lock* the session for
it; the owner answers, and from then on the two relay the session's packets::

    type                   from → to           data
    0 ACQUIRE_LOCK         asker → everyone    sid, transportName, type ("read" | "write")
    1 ACQUIRE_LOCK_RESPONSE owner → asker      success
    2 DRAIN                owner → asker       sid, packets (what the client is owed)
    3 PACKET               asker → owner       sid, packet (one packet from the client)
    4 UPGRADE              asker → owner       sid, success (the client upgraded there)
    5 UPGRADE_RESPONSE     owner → asker       takeOver, packets (the session moves)
    6 CLOSE                asker → owner       sid, reason (the relaying transport closed)

Every message carries ``senderId`` (a node id, 6 hex digits), the answers ``recipientId``,
the requests that wait for an answer ``requestId``; it is a MessagePack map, with
``_source: "_eio"``. These are the names, numbers and shapes of Node's
``@socket.io/cluster-engine`` (``RedisEngine``), so that Node and tether servers can share
sessions. A packet is a map ``{"type": "message", "data": ...}`` with Engine.IO's type names;
``data`` is a string, or bytes for a binary message.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import msgpack

from tether.eio.errors import ParseError
from tether.eio.packet import PacketType

__all__ = [
    "SOURCE",
    "ClusterBus",
    "ClusterOptions",
    "MessageType",
    "decode_message",
    "encode_message",
    "from_packet",
    "lockable",
    "new_node_id",
    "to_packet",
]

#: The ``_source`` every message carries (others on the channel are ignored).
SOURCE = "_eio"


class MessageType(enum.IntEnum):
    """The kinds of message (see the module's table)."""

    ACQUIRE_LOCK = 0
    ACQUIRE_LOCK_RESPONSE = 1
    DRAIN = 2
    PACKET = 3
    UPGRADE = 4
    UPGRADE_RESPONSE = 5
    CLOSE = 6


@dataclass(frozen=True, slots=True)
class ClusterOptions:
    """Settings of the cluster engine (Node's ``ClusterEngineOptions``; seconds).

    Attributes:
        response_timeout: how long a server waits for the owner of a session it doesn't hold
            to answer (a lock, an upgrade); past it the request gets 400 "Session ID unknown".
        noop_upgrade_interval: when a client upgrades on another server, the owner answers
            the client's pending GET with a noop after this delay, so that it stops polling.
        delayed_connection_timeout: a new polling session is handed to the Socket.IO layer
            only after this delay, so that a client upgrading on another server moves there
            whole ("take over") instead of being relayed for its lifetime.
        channel_prefix: the prefix of the bus channels (``<prefix>#`` for everyone,
            ``<prefix>#<node id>#`` for one server).
    """

    response_timeout: float = 1.0
    noop_upgrade_interval: float = 0.2
    delayed_connection_timeout: float = 0.3
    channel_prefix: str = "engine.io"

    def __post_init__(self) -> None:
        for name in ("response_timeout", "noop_upgrade_interval", "delayed_connection_timeout"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")

    def channel(self, node_id: str | None = None) -> str:
        """The channel of every server, or of the server ``node_id``."""
        prefix = self.channel_prefix
        return f"{prefix}#{node_id}#" if node_id else f"{prefix}#"


class ClusterBus(Protocol):
    """What carries the messages between the servers of a cluster (Redis pub/sub in
    :func:`tether.adapters.redis.create_engine`): a server's ``cluster_engine``."""

    #: The settings of the cluster engine that runs over this bus.
    options: ClusterOptions

    @property
    def available(self) -> bool:
        """False while the bus is known to be away."""

    def publish(self, channel: str, data: bytes) -> None:
        """Send ``data`` on ``channel``; returns at once."""

    async def start(self, channels: list[str], on_data: Callable[[bytes], None]) -> None:
        """Subscribe to ``channels``: what arrives on them goes to ``on_data``."""

    async def close(self) -> None:
        """Leave the bus."""


def new_node_id() -> str:
    """A node id as Node's engine makes them: 3 random bytes in hex."""
    return secrets.token_hex(3)


def encode_message(message: dict[str, Any]) -> bytes:
    """A message as MessagePack, with its ``_source``."""
    return msgpack.packb({**message, "_source": SOURCE}, use_bin_type=True)  # type: ignore[no-any-return]


def decode_message(data: bytes) -> dict[str, Any] | None:
    """The message in ``data``; ``None`` for anything that is not one (malformed, another
    source, an unknown type, no sender)."""
    try:
        message = msgpack.unpackb(data, raw=False)
    except Exception:
        return None
    if not isinstance(message, dict) or message.get("_source") != SOURCE:
        return None
    kind = message.get("type")
    if not isinstance(kind, int) or kind not in MessageType._value2member_map_:
        return None
    if not isinstance(message.get("senderId"), str):
        return None
    data_field = message.get("data")
    if not isinstance(data_field, dict):
        return None
    message["type"] = MessageType(kind)
    return message


_NAMES = {t: t.name.lower() for t in PacketType}
_BY_NAME = {name: t for t, name in _NAMES.items()}


def from_packet(packet: str | bytes) -> dict[str, Any]:
    """An encoded packet (``"4hello"``, ``"2"``, or the bytes of a binary message) as a
    message carries it."""
    if not isinstance(packet, str):
        return {"type": "message", "data": bytes(packet)}
    kind = _NAMES.get(PacketType(int(packet[0])))
    if len(packet) > 1 or kind == "message":
        return {"type": kind, "data": packet[1:]}
    return {"type": kind}


def to_packet(packet: Any) -> str | bytes:
    """A packet a message carries, encoded again (``"4hello"`` or bytes). Raises
    :class:`ParseError` for anything else."""
    if not isinstance(packet, dict):
        raise ParseError("a packet is a map")
    kind = _BY_NAME.get(packet.get("type"))  # type: ignore[arg-type]
    if kind is None:
        raise ParseError(f"unknown packet type {packet.get('type')!r}")
    data = packet.get("data")
    if isinstance(data, (bytes, bytearray)):
        if kind is not PacketType.MESSAGE:
            raise ParseError("binary data in a packet that is not a message")
        return bytes(data)
    if data is None:
        data = ""
    if not isinstance(data, str):
        raise ParseError("packet data is neither text nor bytes")
    return f"{kind.value}{data}"


def lockable(
    transport: str, lock: str, *, polling: bool, upgrading: bool, poll_pending: bool
) -> bool:
    """Whether the owner lends a session to another server.

    ``transport`` is the one the request names, ``lock`` ``"read"`` (a GET, or a WebSocket)
    or ``"write"`` (a POST). The session must be on polling: a GET only while no GET is
    pending (at most one is), a POST any time; a WebSocket only while no upgrade is under way.
    """
    if not polling:
        return False
    if transport == "polling":
        return lock == "write" or not poll_pending
    if transport in ("websocket", "webtransport"):
        return not upgrading
    return False
