"""Engine.IO v4 packets and payloads: plain functions over ``str`` and ``bytes``.

A packet is a type digit followed by its data::

    0{"sid":...}   open        3probe   pong          6   noop
    1              close       4hello   message
    2probe         ping        5        upgrade

Over WebSocket a text packet is one text frame and a binary message is one binary frame
holding the raw bytes (no type byte). Over long-polling, packets are joined with the record
separator ``\\x1e`` and a binary message travels as ``b`` followed by its base64.
"""

from __future__ import annotations

import binascii
import enum
from base64 import b64encode
from collections.abc import Iterable
from typing import NamedTuple

from tether.eio.errors import ParseError

SEPARATOR = "\x1e"


class PacketType(enum.IntEnum):
    """The seven Engine.IO packet types."""

    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


class Packet(NamedTuple):
    """A decoded packet. ``data`` is ``bytes`` only for binary messages."""

    type: PacketType
    data: str | bytes = ""


_TYPES = {str(t.value): t for t in PacketType}
_TYPE_CHARS = {t: str(t.value) for t in PacketType}

# Pre-built packets.
PING = "2"
PING_PROBE = "2probe"
PONG_PROBE = "3probe"
UPGRADE = "5"
NOOP = "6"
CLOSE = "1"


def encode_text(packet_type: PacketType, data: str = "") -> str:
    """Encode a text packet: its type digit followed by ``data``."""
    return _TYPE_CHARS[packet_type] + data


def decode_text(text: str) -> Packet:
    """Decode a packet that arrived as text (a WebSocket text frame or a payload part).

    Raises :class:`ParseError` for an empty string or an unknown type.
    """
    if not text:
        raise ParseError("empty packet")
    packet_type = _TYPES.get(text[0])
    if packet_type is None:
        raise ParseError(f"unknown packet type {text[0]!r}")
    return Packet(packet_type, text[1:])


def encode_payload_part(packet: str | bytes) -> str:
    """Encode one packet for a long-polling payload.

    ``packet`` is an encoded text packet (``"4hello"``) or the raw bytes of a binary message.
    """
    if isinstance(packet, str):
        return packet
    return "b" + b64encode(packet).decode("ascii")


def encode_payload(packets: Iterable[str | bytes]) -> str:
    """Join encoded packets into one long-polling payload."""
    return SEPARATOR.join([p if type(p) is str else encode_payload_part(p) for p in packets])


def decode_base64(data: str) -> bytes:
    """The bytes of a base64 binary message (``data`` without its ``b``); raises
    :class:`ParseError` when it is not strict base64."""
    try:
        return binascii.a2b_base64(data.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ParseError("invalid base64 in binary packet") from exc


def split_payload(payload: str) -> list[str | bytes]:
    """Split a long-polling payload into encoded text packets and binary messages.

    Text packets are returned as they are (``"4hello"``); a ``b`` part is decoded from base64
    to ``bytes``. Raises :class:`ParseError` on the first malformed part (an empty one, an
    unknown type, bad base64): the whole payload is refused, as the protocol asks.
    """
    parts: list[str | bytes] = []
    for part in payload.split(SEPARATOR):
        first = part[:1]
        if first == "b":
            parts.append(decode_base64(part[1:]))
        elif first in _TYPES:
            parts.append(part)
        else:
            raise ParseError(f"unknown packet type {first!r}" if first else "empty packet")
    return parts


def decode_payload(payload: str) -> list[Packet]:
    """Split a long-polling payload into decoded :class:`Packet` objects (see
    :func:`split_payload` for the rules)."""
    return [
        Packet(PacketType.MESSAGE, p) if type(p) is bytes else decode_text(p)  # type: ignore[arg-type]
        for p in split_payload(payload)
    ]
