"""Engine.IO v3, the protocol of Socket.IO v2 clients (``EIO=3``): its payloads, its binary
packets and its session, as plain functions and a :class:`~tether.eio.session.Session`.

Used only for sessions opened with ``EIO=3`` when the server allows them
(``allow_eio3``); v4 sessions never reach this module.

What differs from v4:

- A long-polling payload is either a text payload, where each packet is preceded by its
  length and a colon (``6:4hello2:40``), the length counting UTF-16 code units (as
  JavaScript's ``String.length`` does), a binary message travelling as ``b4`` followed by
  its base64; or, when the client can take binary (it did not ask ``b64=1`` in its
  handshake) and the payload holds a binary message, an XHR2 binary payload: for each
  packet a ``0`` (text) or ``1`` (binary) byte, the decimal digits of its length as bytes
  of value 0 to 9, a ``255`` byte, then the packet (the UTF-8 bytes of a text packet, or
  the type byte ``4`` followed by the data of a binary one).
- Over WebSocket a binary message is one binary frame whose first byte is the packet type
  (``4``).
- The heartbeat runs the other way: the client sends ``2`` (ping) every ``pingInterval``
  and the server answers ``3`` (pong) with the same data; a session that sends no ping for
  ``pingInterval + pingTimeout`` is closed with ``ping timeout``.
- The open packet carries no ``maxPayload``.
"""

from __future__ import annotations

import binascii
from base64 import b64encode
from collections.abc import Iterable

import orjson

from tether.eio.errors import ParseError
from tether.eio.session import Beat, Control, Session

#: The type byte of a binary message (over WebSocket and in binary payloads).
MESSAGE_BYTE = 4
#: More digits than this in a length is refused (no body bounded by
#: ``max_http_buffer_size`` needs them).
MAX_LENGTH_DIGITS = 10

_TEXT_TYPES = frozenset("0123456")
_MESSAGE_PREFIX = bytes((MESSAGE_BYTE,))


def utf16_length(text: str) -> int:
    """The length of ``text`` in UTF-16 code units (JavaScript's ``String.length``)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# -- packets --------------------------------------------------------------------------------


def encode_base64_packet(data: bytes) -> str:
    """A binary message as a text packet: ``b4`` and its base64."""
    return "b4" + b64encode(data).decode("ascii")


def decode_base64_packet(text: str) -> bytes:
    """The data of a ``b4<base64>`` text packet; :class:`ParseError` for anything else."""
    if text[1:2] != "4":
        raise ParseError("a base64 binary packet must be a message (b4...)")
    try:
        return binascii.a2b_base64(text[2:].encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ParseError("invalid base64 in binary packet") from exc


def _check_text_packet(packet: str) -> str | bytes:
    first = packet[:1]
    if first == "b":
        return decode_base64_packet(packet)
    if first not in _TEXT_TYPES or not first:
        raise ParseError(f"unknown packet type {first!r}" if first else "empty packet")
    return packet


def encode_frame(data: bytes) -> bytes:
    """The WebSocket binary frame payload of a binary message: its type byte, then ``data``."""
    return _MESSAGE_PREFIX + data


def decode_frame(frame: bytes) -> bytes:
    """The data of a binary WebSocket frame; :class:`ParseError` unless it is a message."""
    if not frame or frame[0] != MESSAGE_BYTE:
        raise ParseError("a binary frame must be a message (type byte 4)")
    return frame[1:]


# -- payloads -------------------------------------------------------------------------------


def encode_payload_text(packets: Iterable[str | bytes]) -> str:
    """Text packets and binary messages as one text payload (binary ones in base64)."""
    parts = []
    for packet in packets:
        text = packet if type(packet) is str else encode_base64_packet(packet)  # type: ignore[arg-type]
        parts.append(f"{utf16_length(text)}:{text}")
    return "".join(parts) or "0:"


def encode_payload_binary(packets: Iterable[str | bytes]) -> bytes:
    """Text packets and binary messages as one XHR2 binary payload."""
    parts: list[bytes] = []
    for packet in packets:
        if type(packet) is str:
            body = packet.encode("utf-8", "surrogatepass")
            kind = 0
        else:
            body = _MESSAGE_PREFIX + packet  # type: ignore[operator]
            kind = 1
        digits = bytes(int(d) for d in str(len(body)))
        parts.append(bytes((kind,)) + digits + b"\xff" + body)
    return b"".join(parts)


def encode_payload(packets: list[str | bytes], supports_binary: bool) -> str | bytes:
    """A polling payload: binary when the client supports it and a binary message is among
    ``packets``, text otherwise (as Node's v3 parser chooses)."""
    if supports_binary and any(type(p) is not str for p in packets):
        return encode_payload_binary(packets)
    return encode_payload_text(packets)


def decode_payload(body: bytes) -> list[str | bytes]:
    """The packets of a POST body: text packets as they are (``"4hello"``), binary messages
    as their ``bytes``. A body starting with a ``0`` or ``1`` byte is a binary payload
    (a text payload starts with a digit character). Raises :class:`ParseError` for the first
    malformed part: the whole payload is refused."""
    if body[:1] in (b"\x00", b"\x01"):
        return decode_payload_binary(body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError("payload is not UTF-8") from exc
    return decode_payload_text(text)


def _read_length(digits: str) -> int:
    if not digits or len(digits) > MAX_LENGTH_DIGITS or not (digits.isascii() and digits.isdigit()):
        raise ParseError(f"invalid packet length {digits[: MAX_LENGTH_DIGITS + 1]!r}")
    return int(digits)


def decode_payload_text(payload: str) -> list[str | bytes]:
    """Split a v3 text payload (``<length>:<packet>...``, lengths in UTF-16 code units)."""
    if not payload:
        raise ParseError("empty payload")
    if not payload.isascii():
        return _decode_payload_utf16(payload)
    packets: list[str | bytes] = []
    pos, size = 0, len(payload)
    while pos < size:
        colon = payload.find(":", pos, pos + MAX_LENGTH_DIGITS + 1)
        if colon < 0:
            raise ParseError("invalid packet length: no colon")
        length = _read_length(payload[pos:colon])
        start = colon + 1
        end = start + length
        if end > size:
            raise ParseError("packet length past the end of the payload")
        if length:
            packets.append(_check_text_packet(payload[start:end]))
        pos = end
    return packets


def _decode_payload_utf16(payload: str) -> list[str | bytes]:
    # Lengths count UTF-16 code units: walk the payload as UTF-16 (two bytes a unit).
    try:
        units = payload.encode("utf-16-le")
    except UnicodeEncodeError as exc:
        raise ParseError("payload holds a lone surrogate") from exc
    packets: list[str | bytes] = []
    pos, size = 0, len(units)
    while pos < size:
        digits: list[str] = []
        while pos < size and units[pos + 1] == 0 and units[pos] != 0x3A:  # ":"
            if len(digits) > MAX_LENGTH_DIGITS:
                break
            digits.append(chr(units[pos]))
            pos += 2
        if pos >= size or units[pos] != 0x3A or units[pos + 1] != 0:
            raise ParseError("invalid packet length: no colon")
        length = _read_length("".join(digits))
        start = pos + 2
        end = start + 2 * length
        if end > size:
            raise ParseError("packet length past the end of the payload")
        try:
            text = units[start:end].decode("utf-16-le")
        except UnicodeDecodeError as exc:
            raise ParseError("packet length splits a character") from exc
        if length:
            packets.append(_check_text_packet(text))
        pos = end
    return packets


def decode_payload_binary(payload: bytes) -> list[str | bytes]:
    """Split an XHR2 binary payload (see the module's docstring)."""
    packets: list[str | bytes] = []
    pos, size = 0, len(payload)
    while pos < size:
        kind = payload[pos]
        if kind > 1:
            raise ParseError(f"invalid binary payload part kind {kind}")
        end = payload.find(b"\xff", pos + 1, pos + MAX_LENGTH_DIGITS + 2)
        if end < 0:
            raise ParseError("invalid packet length: no 255 byte")
        digits = payload[pos + 1 : end]
        if not digits or any(d > 9 for d in digits):
            raise ParseError("invalid packet length digits")
        length = int("".join(map(str, digits)))
        start = end + 1
        pos = start + length
        if pos > size:
            raise ParseError("packet length past the end of the payload")
        body = payload[start:pos]
        if kind == 1:
            packets.append(decode_frame(body))
            continue
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError("text packet is not UTF-8") from exc
        packets.append(_check_text_packet(text))
    return packets


# -- the open packet and the session -----------------------------------------------------


def open_packet(sid: str, upgrades: list[str], ping_interval: float, ping_timeout: float) -> str:
    """The v3 open packet (``0{...}``): no ``maxPayload``; intervals in seconds."""
    return (
        "0"
        + orjson.dumps(
            {
                "sid": sid,
                "upgrades": upgrades,
                "pingInterval": round(ping_interval * 1000),
                "pingTimeout": round(ping_timeout * 1000),
            }
        ).decode()
    )


class SessionV3(Session):
    """A v3 session: the client pings, the server answers (see the module's docstring).

    Its one heartbeat deadline is ``ping_interval + ping_timeout`` after the open or the
    client's last ping; reaching it means :attr:`~tether.eio.session.Beat.TIMED_OUT`.

    Args:
        supports_binary: False when the client asked ``b64=1``: binary messages go to it in
            base64 (``b4...``) in text payloads and text frames.
        (the others as :class:`~tether.eio.session.Session`)
    """

    __slots__ = ("supports_binary",)

    def __init__(
        self,
        sid: str,
        *,
        websocket: bool,
        ping_interval: float,
        ping_timeout: float,
        max_buffer: int,
        now: float,
        supports_binary: bool = True,
    ) -> None:
        super().__init__(
            sid,
            websocket=websocket,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            max_buffer=max_buffer,
            now=now,
        )
        self.supports_binary = supports_binary
        self.deadline = now + ping_interval + ping_timeout

    def receive_text(self, text: str) -> str | bytes | Control | None:
        """As :meth:`Session.receive_text`, with v3's differences: a base64 binary message
        is ``b4...``, a pong is stray, and so is a ping here: the I/O layer gives the
        client's pings (``2...``) to :meth:`ping` instead."""
        first = text[:1]
        if first == "4":
            return text[1:]
        if first == "1":
            return Control.CLOSE
        if first == "b":
            return decode_base64_packet(text)
        if first in ("2", "3", "5", "6", "0"):
            return None
        raise ParseError(f"unknown packet type {first!r}" if first else "empty packet")

    def ping(self, text: str, now: float) -> str:
        """The client's ping ``text`` (``"2"`` or ``"2probe"``) arrived: the deadline moves;
        returns the pong to send (``"3"`` with the ping's data)."""
        self.deadline = now + self.interval + self.timeout
        return "3" + text[1:]

    def heartbeat(self, now: float) -> Beat:
        """The deadline was reached without a ping from the client."""
        return Beat.TIMED_OUT
