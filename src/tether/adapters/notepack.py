"""MessagePack as Node's cluster adapters write and read it (``notepack.io`` 3).

What crosses Redis between Socket.IO servers is MessagePack produced by ``notepack.io``. Its
choices, matched here so that Node decodes what we send and we decode what Node sends:

* binary (``Buffer``, ``ArrayBuffer``, typed arrays) is ``bin``; we send ``bytes``,
  ``bytearray`` and ``memoryview`` as ``bin`` and read ``bin`` as ``bytes``;
* dates are the standard timestamp extension (type -1); we send an aware ``datetime`` (a
  naive one is taken as UTC) and read timestamps as UTC ``datetime``;
* ``undefined`` is written as nil (read as ``None``);
* older senders (notepack 2) wrote ``undefined`` as fixext 1 of type 0 and an
  ``ArrayBuffer`` as ext of type 0: read as ``None`` and as ``bytes``; their type-0 dates
  cannot be told from an 8-byte ``ArrayBuffer`` and are read as ``bytes``;
* any other extension is read as ``[type, bytes]``, as notepack does.

This is plain code over bytes: no I/O.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgpack

__all__ = ["NotepackError", "pack", "unpack"]


class NotepackError(ValueError):
    """The bytes are not MessagePack, or a value cannot be written as MessagePack."""


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return msgpack.Timestamp.from_datetime(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__} as MessagePack")


def _ext_hook(code: int, data: bytes) -> Any:
    if code == 0:
        if data == b"\x00":
            return None
        return data
    return [code, data]


def pack(value: Any) -> bytes:
    """``value`` as notepack.io writes it."""
    try:
        return msgpack.packb(value, use_bin_type=True, datetime=True, default=_default)  # type: ignore[no-any-return]
    except (TypeError, ValueError, OverflowError) as exc:
        raise NotepackError(str(exc)) from exc


def unpack(data: bytes) -> Any:
    """The value of one MessagePack message, read as notepack.io reads it."""
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            timestamp=3,
            strict_map_key=False,
            ext_hook=_ext_hook,
        )
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise NotepackError(str(exc)) from exc
