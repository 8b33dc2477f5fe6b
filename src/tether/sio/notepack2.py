"""MessagePack as ``notepack.io`` 2 (the one ``socket.io-msgpack-parser`` 3 uses) writes it,
read exactly.

notepack 2 gives extension type 0 three meanings, told apart by the *format* of the
extension, which ``msgpack``'s ``ext_hook`` does not see: fixext 1 is ``undefined``, fixext 8
a ``Date`` (milliseconds since the epoch), ext 8/16/32 an ``ArrayBuffer`` (or typed array).
So a one-byte ``ArrayBuffer`` holding 0 looks like ``undefined``, an 8-byte one like a
``Date``. :func:`unpack` reads with the C unpacker and settles such a value by looking for its
bytes in the message; only when both readings are there does it read the message again with
:func:`read`, a plain Python reader that sees the formats (bounded by :data:`SLOW_LIMIT`:
a bigger message keeps the likelier readings, ``undefined`` and ``Date``).
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any, Final

import msgpack

__all__ = ["SLOW_LIMIT", "UNICODE_ERRORS", "read", "unpack"]

#: The largest message :func:`read` is used for: it costs about 0.4 µs a value, so at most
#: some 6 ms for a message this big (orjson parses a megabyte of JSON in about as long).
SLOW_LIMIT: Final = 16 * 1024
#: How a string holding a lone surrogate (JavaScript writes them as 3-byte sequences) is read
#: and written: as Python keeps it, a lone surrogate code point.
UNICODE_ERRORS: Final = "surrogatepass"
#: Settling 8-byte type-0 extensions costs a search of the message each: beyond this many
#: in one message, it is read again with :func:`read` (or kept as dates when too big).
_MAX_SEARCHES: Final = 64
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: How deep :func:`read` goes (Python's recursion limit, two frames a level, is the bound).
_MAX_DEPTH: Final = 200

_unpackb: Final = msgpack.unpackb


class _Ambiguous(Exception):
    """A type-0 extension whose meaning depends on its format."""


def _date(data: bytes) -> dt.datetime | bytes:
    """A JavaScript ``Date``; one out of Python's range (years 1 to 9999) stays bytes."""
    millis = int.from_bytes(data, "big", signed=True)
    try:
        return _EPOCH + dt.timedelta(milliseconds=millis)
    except OverflowError:
        return data


def _ext(code: int, data: bytes) -> Any:
    """An extension other than notepack's type 0: a timestamp (type -1) as an aware
    ``datetime``, any other as ``[type, bytes]`` (notepack's reading)."""
    if code == -1:
        return msgpack.Timestamp.from_bytes(data).to_datetime()
    return [code, data]


def _first_hook(code: int, data: bytes) -> Any:
    if code == 0:
        if (len(data) == 1 and data == b"\x00") or len(data) == 8:
            raise _Ambiguous
        return data
    return [code, data]


def _unpack(data: bytes, hook: Any) -> Any:
    return _unpackb(
        data,
        raw=False,
        strict_map_key=False,
        ext_hook=hook,
        timestamp=3,
        unicode_errors=UNICODE_ERRORS,
    )


def unpack(data: bytes) -> Any:
    """The value of one MessagePack message as notepack 2 means it: ``bin`` and ``ArrayBuffer``
    as ``bytes``, ``undefined`` as ``None``, a ``Date`` as an aware ``datetime`` (UTC).

    Raises ``ValueError``, ``TypeError``, ``OverflowError`` or ``msgpack.UnpackException``
    for what is not MessagePack.
    """
    try:
        return _unpack(data, _first_hook)
    except _Ambiguous:
        pass
    arraybuffer_zero: list[bool] = []  # whether b"\xc7\x01\x00\x00" is in data, once known
    searches = 0

    def settle(code: int, ext: bytes) -> Any:
        nonlocal searches
        if code != 0:
            return _ext(code, ext)
        if len(ext) == 1 and ext == b"\x00":
            if not arraybuffer_zero:
                arraybuffer_zero.append(b"\xc7\x01\x00\x00" in data)
            if arraybuffer_zero[0]:
                raise _Ambiguous
            return None
        if len(ext) == 8:
            searches += 1
            if searches > _MAX_SEARCHES:
                raise _Ambiguous
            as_date = b"\xd7\x00" + ext in data
            as_buffer = b"\xc7\x08\x00" + ext in data
            if as_date and as_buffer:
                raise _Ambiguous
            return _date(ext) if as_date else ext
        return ext

    try:
        return _unpack(data, settle)
    except _Ambiguous:
        pass
    if len(data) <= SLOW_LIMIT:
        return read(data)

    def likelier(code: int, ext: bytes) -> Any:
        if code != 0:
            return _ext(code, ext)
        if len(ext) == 1 and ext == b"\x00":
            return None
        return _date(ext) if len(ext) == 8 else ext

    return _unpack(data, likelier)


# -- the plain reader -------------------------------------------------------------------------

_U8: Final = struct.Struct(">B")
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")
_U64: Final = struct.Struct(">Q")
_I8: Final = struct.Struct(">b")
_I16: Final = struct.Struct(">h")
_I32: Final = struct.Struct(">i")
_I64: Final = struct.Struct(">q")
_F32: Final = struct.Struct(">f")
_F64: Final = struct.Struct(">d")

#: Fixed-size scalars: format byte -> struct.
_SCALARS: Final = {
    0xCA: _F32,
    0xCB: _F64,
    0xCC: _U8,
    0xCD: _U16,
    0xCE: _U32,
    0xCF: _U64,
    0xD0: _I8,
    0xD1: _I16,
    0xD2: _I32,
    0xD3: _I64,
}
#: Length-prefixed values: format byte -> (struct of the length, kind).
_SIZED: Final = {
    0xC4: (_U8, "bin"),
    0xC5: (_U16, "bin"),
    0xC6: (_U32, "bin"),
    0xC7: (_U8, "ext"),
    0xC8: (_U16, "ext"),
    0xC9: (_U32, "ext"),
    0xD9: (_U8, "str"),
    0xDA: (_U16, "str"),
    0xDB: (_U32, "str"),
    0xDC: (_U16, "array"),
    0xDD: (_U32, "array"),
    0xDE: (_U16, "map"),
    0xDF: (_U32, "map"),
}
_FIXEXT: Final = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}


def read(data: bytes) -> Any:
    """Read one MessagePack message in Python, formats seen: what :func:`unpack` falls back
    to. Raises ``ValueError`` for what is not MessagePack (truncated, extra bytes, reserved
    format byte, nested deeper than 200 levels)."""
    try:
        value, end = _read(data, 0, 0)
    except (struct.error, IndexError) as exc:
        raise ValueError(f"truncated MessagePack: {exc}") from None
    except RecursionError:  # called deep in a stack already: as deep nesting
        raise ValueError("MessagePack nested too deeply") from None
    if end != len(data):
        raise ValueError("extra bytes after the MessagePack value")
    return value


def _take(data: bytes, pos: int, size: int) -> tuple[bytes, int]:
    end = pos + size
    if end > len(data):
        raise ValueError("truncated MessagePack")
    return data[pos:end], end


def _read(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if depth > _MAX_DEPTH:
        raise ValueError("MessagePack nested too deeply")
    byte = data[pos]
    pos += 1
    if byte <= 0x7F:
        return byte, pos
    if byte >= 0xE0:
        return byte - 0x100, pos
    if byte <= 0x8F:
        return _map(data, pos, byte & 0x0F, depth)
    if byte <= 0x9F:
        return _array(data, pos, byte & 0x0F, depth)
    if byte <= 0xBF:
        raw, pos = _take(data, pos, byte & 0x1F)
        return raw.decode("utf-8", UNICODE_ERRORS), pos
    if byte == 0xC0:
        return None, pos
    if byte == 0xC2:
        return False, pos
    if byte == 0xC3:
        return True, pos
    scalar = _SCALARS.get(byte)
    if scalar is not None:
        return scalar.unpack_from(data, pos)[0], pos + scalar.size
    size = _FIXEXT.get(byte)
    if size is not None:
        code = _I8.unpack_from(data, pos)[0]
        ext, pos = _take(data, pos + 1, size)
        if code == 0:
            if size == 1:
                return None, pos  # undefined
            if size == 8:
                return _date(ext), pos
        return _ext(code, ext), pos
    sized = _SIZED.get(byte)
    if sized is None:
        raise ValueError(f"reserved MessagePack format byte 0x{byte:02x}")
    length_struct, kind = sized
    length = length_struct.unpack_from(data, pos)[0]
    pos += length_struct.size
    if kind == "array":
        return _array(data, pos, length, depth)
    if kind == "map":
        return _map(data, pos, length, depth)
    if kind == "ext":
        code = _I8.unpack_from(data, pos)[0]
        ext, pos = _take(data, pos + 1, length)
        return (ext if code == 0 else _ext(code, ext)), pos
    raw, pos = _take(data, pos, length)
    return (raw if kind == "bin" else raw.decode("utf-8", UNICODE_ERRORS)), pos


def _array(data: bytes, pos: int, length: int, depth: int) -> tuple[list[Any], int]:
    if length > len(data) - pos:  # every value takes a byte at least
        raise ValueError("truncated MessagePack")
    out = []
    for _ in range(length):
        value, pos = _read(data, pos, depth + 1)
        out.append(value)
    return out, pos


def _map(data: bytes, pos: int, length: int, depth: int) -> tuple[dict[Any, Any], int]:
    if 2 * length > len(data) - pos:
        raise ValueError("truncated MessagePack")
    out = {}
    for _ in range(length):
        key, pos = _read(data, pos, depth + 1)
        value, pos = _read(data, pos, depth + 1)
        out[key] = value
    return out, pos
