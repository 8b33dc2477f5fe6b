"""Encode Socket.IO packets: one text part, then the binary attachments if any.

The fast path makes one ``orjson.dumps`` call and one concatenation. ``orjson`` refuses
``bytes``, so a payload is only walked for binary values when that first call fails, or when
one of an event's or ack's arguments is itself binary: the types of those arguments (not of
what they hold) are looked at first, which spares the refused call and its exception. Plain
JSON payloads are never walked. The slow path also accepts dict keys that are not strings
(``{1: "a"}`` becomes ``{"1":"a"}``, as ``JSON.stringify`` would write it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import orjson

from tether.sio.binary import deconstruct
from tether.sio.errors import EncodeError
from tether.sio.packet import Packet, PacketType

__all__ = ["encode", "encode_ack", "encode_event"]

_dumps: Final = orjson.dumps
_NON_STR_KEYS: Final = orjson.OPT_NON_STR_KEYS


def _dumps_compat(data: Any) -> bytes:
    """What orjson refuses (a string holding a lone surrogate) as ``JSON.stringify`` writes
    it: the surrogate escaped. Raises ``TypeError``/``ValueError`` for what JSON can't hold."""
    return json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode()


_EVENT: Final = PacketType.EVENT
_ACK: Final = PacketType.ACK
_BINARY_EVENT: Final = PacketType.BINARY_EVENT
_BINARY_ACK: Final = PacketType.BINARY_ACK

# Packet type -> (digit when the payload has no binary, digit when it has), for the types that
# may carry binary attachments.
_DIGITS: Final = {
    _EVENT: ("2", "5"),
    _BINARY_EVENT: ("2", "5"),
    _ACK: ("3", "6"),
    _BINARY_ACK: ("3", "6"),
}


def _binary_argument(args: Sequence[Any]) -> bool:
    """Whether one of ``args`` (not what they hold) is binary."""
    for arg in args:
        kind = type(arg)
        if kind is bytes or kind is bytearray or kind is memoryview:
            return True
    return False


def encode(packet: Packet) -> list[str | bytes]:
    """Encode ``packet`` as ``[text]`` or ``[text, attachment, ...]``.

    An EVENT or ACK whose data holds binary values is sent as BINARY_EVENT or BINARY_ACK; a
    BINARY_EVENT or BINARY_ACK without any is sent as a plain EVENT or ACK (a packet announcing
    zero attachments is invalid). ``data=None`` means no payload. The namespace is left out when
    it is ``"/"`` (or empty).

    Raises :class:`EncodeError` when the data cannot be serialized, or when a packet type other
    than EVENT/ACK carries binary data.
    """
    ptype = packet.type
    nsp = packet.nsp
    ack_id = packet.id
    data = packet.data
    digits = _DIGITS.get(ptype)
    if digits is None:
        digit = str(int(ptype))
        if data is None:
            return [_header(digit, nsp, ack_id)]
        return [_header(digit, nsp, ack_id) + _dumps_strict(data)]
    if data is None:
        return [_header(digits[0], nsp, ack_id)]
    try:
        body = _dumps(data)
    except TypeError:
        return _encode_binary(digits[1], nsp, ack_id, data)
    return [_header(digits[0], nsp, ack_id) + body.decode()]


def encode_event(
    nsp: str, event: str, args: Sequence[Any], ack_id: int | None = None
) -> list[str | bytes]:
    """Encode the EVENT ``[event, *args]`` for namespace ``nsp``: the hot path of ``emit``.

    Equivalent to ``encode(Packet(PacketType.EVENT, nsp, [event, *args], ack_id))``. The event
    name is not checked here; refusing reserved names is the caller's job.
    """
    data = [event, *args]
    if _binary_argument(args):
        return _encode_binary("5", nsp, ack_id, data)
    try:
        body = _dumps(data)
    except TypeError:
        return _encode_binary("5", nsp, ack_id, data)
    if nsp == "/" or not nsp:
        if ack_id is None:
            return ["2" + body.decode()]
        return [f"2{ack_id}{body.decode()}"]
    if ack_id is None:
        return [f"2{nsp},{body.decode()}"]
    return [f"2{nsp},{ack_id}{body.decode()}"]


def encode_ack(nsp: str, ack_id: int, args: Sequence[Any]) -> list[str | bytes]:
    """Encode the ACK of event ``ack_id`` with arguments ``args`` for namespace ``nsp``."""
    kind = type(args)
    data = args if kind is list or kind is tuple or isinstance(args, list | tuple) else list(args)
    if _binary_argument(data):
        return _encode_binary("6", nsp, ack_id, data)
    try:
        body = _dumps(data)
    except TypeError:
        return _encode_binary("6", nsp, ack_id, data)
    if nsp == "/":
        return [f"3{ack_id}{body.decode()}"]
    return [_header("3", nsp, ack_id) + body.decode()]


def _header(digit: str, nsp: str, ack_id: int | None) -> str:
    """``<digit>[<nsp>,][<ack id>]``."""
    if nsp and nsp != "/":
        digit = f"{digit}{nsp},"
    if ack_id is None:
        return digit
    return f"{digit}{ack_id}"


def _dumps_strict(data: Any) -> str:
    """Serialize a payload that must not contain binary values."""
    try:
        return _dumps(data).decode()
    except TypeError:
        pass
    try:
        return _dumps(data, option=_NON_STR_KEYS).decode()
    except TypeError:
        pass
    try:
        return _dumps_compat(data).decode()
    except (TypeError, ValueError, RecursionError) as exc:
        raise EncodeError(f"cannot encode packet data: {exc}") from exc


def _encode_binary(digit: str, nsp: str, ack_id: int | None, data: Any) -> list[str | bytes]:
    """The slow path: ``orjson`` refused ``data``, or one of its arguments is binary."""
    payload, buffers = deconstruct(data)
    try:
        body = _dumps(payload, option=_NON_STR_KEYS)
    except TypeError:
        try:
            body = _dumps_compat(payload)
        except (TypeError, ValueError, RecursionError) as exc:
            raise EncodeError(f"cannot encode packet data: {exc}") from exc
    if not buffers:
        # Not binary: it failed only because of its keys, the one thing the retry allows.
        return [_header("2" if digit == "5" else "3", nsp, ack_id) + body.decode()]
    return [_header(f"{digit}{len(buffers)}-", nsp, ack_id) + body.decode(), *buffers]
