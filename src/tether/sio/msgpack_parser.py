"""Socket.IO packets as ``socket.io-msgpack-parser`` 3.x puts them on the wire.

Each packet is one MessagePack map ``{"type", "data", "id", "nsp"}`` (``data`` and ``id``
left out when absent) sent as one binary Engine.IO message: no attachments, binary values
inline as MessagePack ``bin``. There are no BINARY_EVENT/BINARY_ACK types on this wire: an
EVENT or ACK carries its binary values itself.

What the JavaScript side (``notepack.io`` 2) writes and how it is read here:

* a ``Buffer`` is ``bin``, an ``ArrayBuffer`` or typed array (from Node) is ext type 0: both
  are read as ``bytes``; ``bytes``, ``bytearray`` and ``memoryview`` are sent as ``bin``
  (a browser reads it as an ``ArrayBuffer``, Node as a ``Buffer``);
* ``undefined`` is fixext 1 of type 0: read as ``None``;
* a ``Date`` is fixext 8 of type 0 (milliseconds): read as an aware ``datetime`` in UTC; a
  ``datetime`` is sent that way (a naive one taken as UTC), so JavaScript reads a ``Date``
  (to the millisecond);
* other extensions are read as ``[type, bytes]``, the standard timestamp (type -1) as a UTC
  ``datetime``;
* strings holding a lone surrogate (JavaScript writes them) are read and written as such.

:mod:`tether.sio.notepack2` tells the type-0 extensions apart.

The decoder validates like ``socket.io-msgpack-parser``'s, and more strictly: the type is an
integer 0 to 4, the namespace a string starting with ``/``, the id a non-negative integer up
to ``2**53 - 1``, the data of the type's shape (an EVENT's a non-empty array starting with an
event name that is not reserved). Other keys (the JavaScript client sends ``options``) are
ignored. Anything else raises :class:`~tether.sio.errors.DecodeError`.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Sequence
from typing import Any, Final

import msgpack

from tether.sio.decoder import _check_payload
from tether.sio.errors import DecodeError, EncodeError
from tether.sio.notepack2 import UNICODE_ERRORS, unpack
from tether.sio.packet import MAX_ACK_ID, Packet, PacketType

__all__ = ["MsgpackDecoder", "encode", "encode_ack", "encode_event"]

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_Q: Final = struct.Struct(">q")


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        millis = (value - _EPOCH) // dt.timedelta(milliseconds=1)
        return msgpack.ExtType(0, _Q.pack(millis))
    raise TypeError(f"cannot encode {type(value).__name__} as MessagePack")


_packb: Final = msgpack.packb
_TYPE_VALUES: Final = {t: int(t) for t in PacketType}
# No binary types on this wire: the payload carries its binary values itself.
_TYPE_VALUES[PacketType.BINARY_EVENT] = int(PacketType.EVENT)
_TYPE_VALUES[PacketType.BINARY_ACK] = int(PacketType.ACK)
_TYPES: Final = {int(t): t for t in PacketType if t <= PacketType.CONNECT_ERROR}
_EVENT: Final = PacketType.EVENT
_ACK: Final = PacketType.ACK
_CONNECT: Final = PacketType.CONNECT
_DISCONNECT: Final = PacketType.DISCONNECT


def _pack(value: dict[str, Any]) -> list[str | bytes]:
    try:
        return [_packb(value, use_bin_type=True, default=_default, unicode_errors=UNICODE_ERRORS)]
    except (TypeError, ValueError, OverflowError) as exc:
        raise EncodeError(f"cannot encode packet data as MessagePack: {exc}") from exc


def encode(packet: Packet) -> list[str | bytes]:
    """Encode ``packet`` as one binary message: ``[bytes]``.

    Raises :class:`EncodeError` when the data cannot be written as MessagePack.
    """
    value: dict[str, Any] = {"type": _TYPE_VALUES[packet.type]}
    if packet.data is not None:
        value["data"] = packet.data
    if packet.id is not None:
        value["id"] = packet.id
    value["nsp"] = packet.nsp or "/"
    return _pack(value)


def encode_event(
    nsp: str, event: str, args: Sequence[Any], ack_id: int | None = None
) -> list[str | bytes]:
    """Encode the EVENT ``[event, *args]`` for namespace ``nsp``."""
    if ack_id is None:
        return _pack({"type": 2, "data": [event, *args], "nsp": nsp})
    return _pack({"type": 2, "data": [event, *args], "id": ack_id, "nsp": nsp})


def encode_ack(nsp: str, ack_id: int, args: Sequence[Any]) -> list[str | bytes]:
    """Encode the ACK of event ``ack_id`` with arguments ``args`` for namespace ``nsp``."""
    data = args if type(args) is list else list(args)
    return _pack({"type": 3, "data": data, "id": ack_id, "nsp": nsp})


class MsgpackDecoder:
    """Turns the binary Engine.IO messages of one connection into :class:`Packet` objects.

    Every packet is complete in one message, so nothing is ever awaited and
    :attr:`awaiting_attachments` is always 0. A text message is an error.
    """

    __slots__ = ()

    awaiting_attachments: Final = 0

    def reset(self) -> None:
        """Nothing is kept between messages."""

    def feed(self, message: str | bytes) -> Packet:
        """Decode one Engine.IO message (which must be binary)."""
        if type(message) is str:
            return self.feed_text(message)
        return self.feed_binary(message)  # type: ignore[arg-type]

    def feed_text(self, text: str) -> Packet:
        """Always raises :class:`DecodeError`: this wire has no text messages."""
        raise DecodeError("msgpack parser: got a text message, expected a binary one")

    def feed_binary(self, data: bytes) -> Packet:
        """Decode one packet; raises :class:`DecodeError` for anything invalid."""
        try:
            value = unpack(data)
        except (ValueError, TypeError, OverflowError, msgpack.UnpackException) as exc:
            # Never repr() untrusted data: only the kind of error.
            raise DecodeError(
                f"msgpack parser: invalid MessagePack ({type(exc).__name__})"
            ) from None
        if type(value) is not dict:
            raise DecodeError("msgpack parser: a packet must be a map")
        code = value.get("type")
        ptype = _TYPES.get(code) if type(code) is int else None
        if ptype is None:
            raise DecodeError("msgpack parser: invalid packet type (an integer 0 to 4)")
        nsp = value.get("nsp")
        if type(nsp) is not str or not nsp.startswith("/"):
            raise DecodeError("msgpack parser: invalid namespace (a string starting with /)")
        ack_id = value.get("id")
        if ack_id is not None and (type(ack_id) is not int or not 0 <= ack_id <= MAX_ACK_ID):
            raise DecodeError(f"msgpack parser: invalid packet id (an integer 0 to {MAX_ACK_ID})")
        payload = value.get("data")
        if ptype is _CONNECT:
            if payload is not None and type(payload) is not dict:
                raise DecodeError("msgpack parser: invalid payload: a CONNECT payload is a map")
        elif ptype is _DISCONNECT:
            if payload is not None:
                raise DecodeError("msgpack parser: invalid payload: a DISCONNECT has none")
        else:
            try:
                _check_payload(ptype, payload)
            except DecodeError as exc:
                raise DecodeError(f"msgpack parser: {exc}") from None
        return Packet(ptype, nsp, payload, ack_id)
