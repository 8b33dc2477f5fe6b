"""The messages Socket.IO servers exchange through Redis, as ``@socket.io/redis-adapter`` 8
and ``@socket.io/redis-emitter`` 5 write them. Plain code over bytes: no I/O.

Channels, for a key (``socket.io`` by default) and a namespace:

* ``<key>#<nsp>#`` carries broadcasts, ``<key>#<nsp>#<room>#`` those to exactly one room
  (a server with no member in that room skips them undecoded); every server subscribes to
  the pattern ``<key>#<nsp>#*``.
* ``<key>-request#<nsp>#`` carries requests to every server, ``<key>-response#<nsp>#``
  (or ``<key>-response#<nsp>#<uid>#``, the requester's own) their responses.

A broadcast is MessagePack (notepack) ``[uid, packet, opts]`` with ``packet`` =
``{"type": 2, "data": [event, *args], "nsp": nsp}`` and ``opts`` = ``{"rooms": [...],
"except": [...], "flags": {...}}``. Requests and responses are JSON objects, except a
broadcast expecting acks and its acks, which are MessagePack (they may carry binary).
Timeouts in flags are milliseconds on the wire, seconds here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import orjson

from tether.adapters import notepack
from tether.adapters.base import BroadcastFlags, BroadcastOptions
from tether.sio import Packet, PacketType

__all__ = [
    "EMITTER_UID",
    "Channels",
    "ProtocolError",
    "RequestType",
    "decode_broadcast",
    "decode_message",
    "decode_opts",
    "decode_rooms",
    "encode_broadcast",
    "encode_json",
    "encode_opts",
    "encode_packet",
]

#: The uid of messages sent by an emitter (a process that is not a server).
EMITTER_UID = "emitter"


class ProtocolError(ValueError):
    """A message from Redis that is not what the protocol says."""


class RequestType(enum.IntEnum):
    """The ``type`` of a request or a response."""

    SOCKETS = 0
    ALL_ROOMS = 1
    REMOTE_JOIN = 2
    REMOTE_LEAVE = 3
    REMOTE_DISCONNECT = 4
    REMOTE_FETCH = 5
    SERVER_SIDE_EMIT = 6
    BROADCAST = 7
    BROADCAST_CLIENT_COUNT = 8
    BROADCAST_ACK = 9


@dataclass(frozen=True, slots=True)
class Channels:
    """The channel names of one namespace under one key."""

    key: str
    nsp: str

    @property
    def broadcast(self) -> str:
        """Broadcasts to no room or to several; the prefix of the one-room channels."""
        return f"{self.key}#{self.nsp}#"

    @property
    def broadcast_pattern(self) -> str:
        """The pattern a server subscribes to for every broadcast of the namespace."""
        return self.broadcast + "*"

    @property
    def request(self) -> str:
        """Requests to every server."""
        return f"{self.key}-request#{self.nsp}#"

    @property
    def response(self) -> str:
        """Responses to any requester."""
        return f"{self.key}-response#{self.nsp}#"

    def specific_response(self, uid: str) -> str:
        """Responses to the server ``uid`` only."""
        return f"{self.response}{uid}#"

    def for_rooms(self, rooms: frozenset[str]) -> str:
        """The channel of a broadcast to ``rooms``."""
        if len(rooms) == 1:
            (room,) = rooms
            return f"{self.broadcast}{room}#"
        return self.broadcast

    def room_of(self, channel: str) -> str | None:
        """The room of a broadcast channel (``""`` for none), ``None`` for another channel."""
        prefix = self.broadcast
        if not channel.startswith(prefix) or not channel.endswith("#"):
            return None
        return channel[len(prefix) : -1]


def encode_json(message: dict[str, Any]) -> bytes:
    """A request or response as JSON (binary as Node's ``JSON.stringify`` writes a Buffer)."""
    return orjson.dumps(message, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"type": "Buffer", "data": list(bytes(value))}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def decode_message(data: bytes) -> dict[str, Any]:
    """A request or a response: JSON when it starts with ``{``, else MessagePack."""
    try:
        message = orjson.loads(data) if data[:1] == b"{" else notepack.unpack(data)
    except (orjson.JSONDecodeError, notepack.NotepackError) as exc:
        raise ProtocolError(f"malformed message: {exc}") from exc
    if not isinstance(message, dict):
        raise ProtocolError("a request or a response must be an object")
    return message


def encode_opts(opts: BroadcastOptions) -> dict[str, Any]:
    """Broadcast options as they travel."""
    flags: dict[str, Any] = {}
    if opts.flags.volatile:
        flags["volatile"] = True
    if not opts.flags.compress:
        flags["compress"] = False
    if opts.flags.timeout is not None:
        flags["timeout"] = round(opts.flags.timeout * 1000)
    return {"rooms": sorted(opts.rooms), "except": sorted(opts.except_rooms), "flags": flags}


def _rooms(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise ProtocolError("rooms must be a list")
    # Node allows numbers as room names; rooms are strings here, as in the channel names.
    return frozenset(v if isinstance(v, str) else _room_name(v) for v in value)


def _room_name(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError("a room is a string")
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def decode_rooms(value: Any) -> list[str]:
    """The rooms named in a message: one (a string) or a list (``None``: none)."""
    if isinstance(value, str):
        return [value]
    return sorted(_rooms(value))


def decode_opts(raw: Any) -> BroadcastOptions:
    """Broadcast options from a message (missing parts mean none)."""
    if raw is None:
        return BroadcastOptions()
    if not isinstance(raw, dict):
        raise ProtocolError("opts must be an object")
    flags = raw.get("flags") or {}
    if not isinstance(flags, dict):
        raise ProtocolError("flags must be an object")
    timeout = flags.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))):
        raise ProtocolError("flags.timeout must be a number")
    return BroadcastOptions(
        rooms=_rooms(raw.get("rooms")),
        except_rooms=_rooms(raw.get("except")),
        flags=BroadcastFlags(
            volatile=bool(flags.get("volatile", False)),
            compress=flags.get("compress") is not False,
            timeout=None if timeout is None else timeout / 1000,
        ),
    )


def encode_packet(packet: Packet) -> dict[str, Any]:
    """A Socket.IO packet as Node's adapter holds it (binary left in place)."""
    return {"type": int(PacketType.EVENT), "data": packet.data, "nsp": packet.nsp}


def decode_packet(raw: Any) -> Packet:
    """An EVENT packet from a message (its binary in place, no ack id)."""
    if not isinstance(raw, dict):
        raise ProtocolError("packet must be an object")
    if raw.get("type") not in (PacketType.EVENT, PacketType.BINARY_EVENT):
        raise ProtocolError("only EVENT packets are broadcast")
    data = raw.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], str):
        raise ProtocolError("packet data must be [event, ...args]")
    nsp = raw.get("nsp", "/")
    if not isinstance(nsp, str):
        raise ProtocolError("packet nsp must be a string")
    return Packet(PacketType.EVENT, nsp, data)


def encode_broadcast(uid: str, packet: Packet, opts: BroadcastOptions) -> bytes:
    """A broadcast message."""
    return notepack.pack([uid, encode_packet(packet), encode_opts(opts)])


def decode_broadcast(data: bytes) -> tuple[str, Packet, BroadcastOptions]:
    """The sender uid, the packet and the options of a broadcast message."""
    try:
        message = notepack.unpack(data)
    except notepack.NotepackError as exc:
        raise ProtocolError(f"malformed broadcast: {exc}") from exc
    if not isinstance(message, list) or len(message) < 3:
        raise ProtocolError("a broadcast is [uid, packet, opts]")
    uid, packet, opts = message[0], message[1], message[2]
    return str(uid), decode_packet(packet), decode_opts(opts)
