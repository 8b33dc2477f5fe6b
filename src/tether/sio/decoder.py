"""Decode Socket.IO packets, validating them the way ``socket.io-parser`` 4.2.7 does.

Feed every Engine.IO message to one :class:`Decoder` per connection: text messages with
:meth:`Decoder.feed_text`, binary ones with :meth:`Decoder.feed_binary`. A binary packet is
returned once its last attachment arrives. Anything invalid raises :class:`DecodeError` and
resets the decoder; the caller is expected to close the connection.

The header is read with plain string indexing and the payload is parsed by a single
``orjson.loads`` call; EVENT and ACK packets to ``"/"`` take a shorter path. Deliberate
differences from ``socket.io-parser`` (each refuses input the JavaScript parser accepts by
accident; no Socket.IO implementation sends such packets):

- an empty text message is an error (JavaScript reads it as a CONNECT to ``"/"``);
- the attachment count and the ack id are ASCII digits only. JavaScript's ``Number()`` also
  takes ``"+1"``, ``"0x1"``, ``"1e0"``, ``"1.0"`` and whitespace, so it reads ``'2 ["a"]'`` as
  an EVENT with ack id 0 and ``"0 1"`` as a CONNECT with ack id 1. Here whitespace after the
  header is JSON whitespace: ``'2 ["a"]'`` is an EVENT without ack id, ``"0 1"`` is invalid;
- an ack id is at most ``2**53 - 1`` (``Number.MAX_SAFE_INTEGER``); JavaScript rounds larger
  ones, here they are an error;
- EVENT, ACK and CONNECT_ERROR must carry a payload: JavaScript lets ``"2"`` or
  ``'2/admin["a"]'`` (a namespace without its comma swallows the payload) through with no data;
- a placeholder's ``num`` must be an ``int``: JavaScript takes any number in range, ``0.0``
  included, and ``0.5`` then yields ``undefined``;
- the JSON is parsed by ``orjson``: nesting deeper than 1024 levels and numbers overflowing
  a double are errors rather than values. An escaped lone surrogate (``"\\ud83d"``, which
  ``JSON.stringify`` writes for a string cut inside an emoji) is accepted through the standard
  library's parser, as JavaScript accepts it. Integers that
  fit in 64 bits stay exact ``int`` (JavaScript rounds them beyond ``2**53``), larger ones
  become ``float`` as in JavaScript.
"""

from __future__ import annotations

import json
from typing import Any, Final

import orjson

from tether.sio.binary import reconstruct
from tether.sio.errors import DecodeError
from tether.sio.packet import MAX_ACK_ID, RESERVED_EVENTS, Packet, PacketType

__all__ = ["Decoder"]

_JSONDecodeError: Final = ValueError  # orjson's and the standard library's errors both are


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(text: str) -> Any:
    """Parse JSON with orjson; when it refuses an escaped lone surrogate (``"\\ud83d"``,
    which ``JSON.stringify`` writes for a string cut inside an emoji), with the standard
    library, which keeps it as Python does."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        if "\\u" not in text:
            raise
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


_orjson_loads: Final = orjson.loads
#: What a decoder holds while it waits for no attachment (shared, never changed in place).
_NO_BUFFERS: Final[list[bytes]] = []


def _payload(text: str) -> Any:
    """:func:`_loads` once orjson refused ``text``: the standard library's try, or DecodeError."""
    try:
        return _loads(text)
    except _JSONDecodeError as exc:
        raise DecodeError(f"invalid payload: {exc}") from None


_CONNECT: Final = PacketType.CONNECT
_DISCONNECT: Final = PacketType.DISCONNECT
_EVENT: Final = PacketType.EVENT
_ACK: Final = PacketType.ACK
_CONNECT_ERROR: Final = PacketType.CONNECT_ERROR
_BINARY_EVENT: Final = PacketType.BINARY_EVENT
_BINARY_ACK: Final = PacketType.BINARY_ACK

_RESERVED_EVENTS: Final = RESERVED_EVENTS
_TYPES: Final = {str(t.value): t for t in PacketType}
# Ack ids longer than this cannot be <= MAX_ACK_ID (16 digits), whatever their value.
_MAX_ACK_DIGITS: Final = len(str(MAX_ACK_ID))
# An attachment count with more digits than this is over any sane limit; checked before int().
_MAX_ATTACHMENT_DIGITS: Final = 9


class Decoder:
    """Turns the Engine.IO messages of one connection into :class:`Packet` objects.

    ``max_attachments`` bounds the attachment count a binary packet may announce (the default
    is ``socket.io-parser``'s). Binary packets come out with the type EVENT or ACK, their
    attachments in place of the placeholders, as ``socket.io-parser`` returns them. A partly
    received binary packet is kept until its last attachment: bounding how long is the
    caller's job (:attr:`awaiting_attachments`, :meth:`reset`; the server's
    ``attachment_timeout``).
    """

    __slots__ = ("_buffers", "_max_attachments", "_pending", "_remaining")

    def __init__(self, *, max_attachments: int = 10) -> None:
        if max_attachments < 0:
            raise ValueError("max_attachments must be >= 0")
        self._max_attachments = max_attachments
        self._pending: Packet | None = None
        self._buffers: list[bytes] = _NO_BUFFERS  # a list of its own for each binary packet
        self._remaining = 0

    @property
    def awaiting_attachments(self) -> int:
        """How many binary attachments the decoder waits for (0 when it waits for text)."""
        return self._remaining

    def reset(self) -> None:
        """Drop a partly received binary packet (``destroy()`` in ``socket.io-parser``)."""
        self._pending = None
        self._buffers = _NO_BUFFERS
        self._remaining = 0

    def feed_text(self, text: str) -> Packet | None:
        """Decode a text message.

        Returns the packet, or ``None`` for a binary packet header (its attachments follow).
        Raises :class:`DecodeError` for an invalid packet, or when attachments were expected.
        """
        if self._pending is not None:
            self.reset()
            raise DecodeError("got plaintext data when reconstructing a packet")
        if text.startswith("2["):
            # The fast path: an EVENT to "/" without ack id, the bulk of the traffic.
            try:
                data = _orjson_loads(text[1:])
            except _JSONDecodeError:
                data = _payload(text[1:])
            if type(data) is list and data:
                name = data[0]
                if type(name) is str and name not in _RESERVED_EVENTS:
                    return Packet(_EVENT, "/", data, None)
            _check_payload(_EVENT, data)
            return Packet(_EVENT, "/", data, None)
        start = text.find("[", 1, _MAX_ACK_DIGITS + 2)
        if start > 1 and (text[0] == "2" or text[0] == "3"):
            # Next: an EVENT or ACK to "/" with an ack id; anything unusual takes the long way.
            digits = text[1:start]
            if digits.isdigit() and digits.isascii():
                ack_id = int(digits)
                if ack_id <= MAX_ACK_ID:
                    try:
                        data = _orjson_loads(text[start:])
                    except _JSONDecodeError:
                        data = _payload(text[start:])
                    if text[0] == "2":
                        if not (
                            type(data) is list
                            and data
                            and type(data[0]) is str
                            and data[0] not in _RESERVED_EVENTS
                        ):
                            _check_payload(_EVENT, data)
                        return Packet(_EVENT, "/", data, ack_id)
                    _check_payload(_ACK, data)
                    return Packet(_ACK, "/", data, ack_id)
        elif start > 2 and (text[0] == "5" or text[0] == "6"):
            # A BINARY_EVENT or BINARY_ACK to "/": <count>-[<ack id>][...
            count, dash, digits = text[1:start].partition("-")
            if (
                dash
                and count.isdigit()
                and count.isascii()
                and (not digits or (digits.isdigit() and digits.isascii()))
            ):
                attachments = int(count)
                binary_ack_id = int(digits) if digits else None
                if 0 < attachments <= self._max_attachments and (
                    binary_ack_id is None or binary_ack_id <= MAX_ACK_ID
                ):
                    try:
                        data = _orjson_loads(text[start:])
                    except _JSONDecodeError:
                        data = _payload(text[start:])
                    ptype = _EVENT if text[0] == "5" else _ACK
                    _check_payload(ptype, data)
                    self._pending = Packet(ptype, "/", data, binary_ack_id)
                    self._buffers = []
                    self._remaining = attachments
                    return None
        packet, attachments = _decode_text(text, self._max_attachments)
        if attachments:
            self._pending = packet
            self._buffers = []
            self._remaining = attachments
            return None
        return packet

    def feed_binary(self, data: bytes) -> Packet | None:
        """Take one binary attachment.

        Returns the completed packet with its last attachment, else ``None``. Raises
        :class:`DecodeError` when no attachment is expected, or when a placeholder of the
        completed packet does not designate one of its attachments.
        """
        packet = self._pending
        if packet is None:
            raise DecodeError("got binary data when not reconstructing a packet")
        self._buffers.append(data)
        self._remaining -= 1
        if self._remaining:
            return None
        buffers = self._buffers
        self.reset()
        packet.data = reconstruct(packet.data, buffers)
        return packet


def new_decoder(max_attachments: int) -> Decoder:
    """A decoder for one connection (the JSON parser's ``Codec.new_decoder``): called once per
    connection, positionally (a compiled call, unlike a keyword one from interpreted code)."""
    return Decoder(max_attachments=max_attachments)


def _decode_text(text: str, max_attachments: int) -> tuple[Packet, int]:
    """Decode a text packet; return it with the number of attachments it announces."""
    size = len(text)
    if not size:
        raise DecodeError("empty packet")
    ptype = _TYPES.get(text[0])
    if ptype is None:
        raise DecodeError(f"unknown packet type {text[0]!r}")

    i = 1
    attachments = 0
    if ptype is _BINARY_EVENT or ptype is _BINARY_ACK:
        dash = text.find("-", 1, _MAX_ATTACHMENT_DIGITS + 2)
        digits = text[1:dash] if dash > 0 else ""
        if not (digits.isascii() and digits.isdigit()):
            raise DecodeError("illegal attachments: expected <digits>- after the type")
        attachments = int(digits)
        if attachments < 1:
            raise DecodeError("illegal attachments: a binary packet needs at least one")
        if attachments > max_attachments:
            raise DecodeError(f"too many attachments: {attachments} > {max_attachments}")
        ptype = _EVENT if ptype is _BINARY_EVENT else _ACK
        i = dash + 1

    nsp = "/"
    if i < size and text[i] == "/":
        comma = text.find(",", i)
        if comma < 0:
            nsp = text[i:]
            i = size
        else:
            nsp = text[i:comma]
            i = comma + 1

    ack_id = None
    if i < size and "0" <= text[i] <= "9":
        # No loop in Python: look at one digit more than an id may have, strip the digits.
        head = text[i : i + _MAX_ACK_DIGITS + 1]
        count = len(head) - len(head.lstrip("0123456789"))
        if count > _MAX_ACK_DIGITS:
            raise DecodeError("invalid ack id: too long")
        ack_id = int(head[:count])
        if ack_id > MAX_ACK_ID:
            raise DecodeError(f"invalid ack id: {ack_id} > {MAX_ACK_ID}")
        i += count

    if i < size:
        try:
            data = _loads(text[i:])
        except _JSONDecodeError as exc:
            raise DecodeError(f"invalid payload: {exc}") from None
        _check_payload(ptype, data)
    elif ptype is _CONNECT or ptype is _DISCONNECT:
        data = None
    else:
        raise DecodeError(f"invalid payload: {ptype.name} needs a payload")
    return Packet(ptype, nsp, data, ack_id), attachments


def _check_payload(ptype: PacketType, data: Any) -> None:
    """Raise :class:`DecodeError` unless ``data`` is a valid payload for ``ptype``."""
    kind = type(data)
    if ptype is _EVENT:
        if kind is list and data:
            name = data[0]
            name_kind = type(name)
            if name_kind is str:
                if name not in RESERVED_EVENTS:
                    return
                raise DecodeError(f"invalid payload: {name!r} is a reserved event name")
            if name_kind is int or name_kind is float:
                return
        raise DecodeError(
            "invalid payload: an EVENT needs an array starting with an event name "
            "(a string or a number)"
        )
    if ptype is _ACK:
        if kind is list:
            return
        raise DecodeError("invalid payload: an ACK needs an array")
    if ptype is _CONNECT:
        if kind is dict:
            return
        raise DecodeError("invalid payload: a CONNECT payload must be an object")
    if ptype is _CONNECT_ERROR:
        if kind is dict or kind is str:
            return
        raise DecodeError("invalid payload: a CONNECT_ERROR payload must be a string or an object")
    raise DecodeError("invalid payload: a DISCONNECT has no payload")
