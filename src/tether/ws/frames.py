"""RFC 6455 section 5: opcodes, close codes, frame building and masking.

A frame on the wire::

     0                   1                   2                   3
    +-+-+-+-+-------+-+-------------+-------------------------------+
    |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
    |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
    |N|V|V|V|       |S|             |   (if payload len==126/127)   |
    | |1|2|3|       |K|             |                               |
    +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
    |  masking key (0 or 4 bytes)   |          payload data ...     |
    +-------------------------------+-------------------------------+

Parsing lives in :mod:`tether.ws.connection`, inlined in its receive loop for speed; this module
holds what both directions share and the builder the broadcast path calls once per message.
"""

from __future__ import annotations

import enum
import importlib
import os
import struct
from collections.abc import Callable
from typing import cast

from .errors import ProtocolError


class Opcode(enum.IntEnum):
    """Frame opcodes (RFC 6455 section 5.2). 3-7 and 11-15 are reserved."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(enum.IntEnum):
    """Close status codes (RFC 6455 section 7.4 and the IANA registry)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS = 1005  # never on the wire: "the close frame had no payload"
    ABNORMAL = 1006  # never on the wire: "the TCP connection ended without a close frame"
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015  # never on the wire


#: The largest payload a control frame may carry (RFC 6455 section 5.5).
MAX_CONTROL_PAYLOAD = 125

_PACK_16 = struct.Struct("!BBH").pack
_PACK_64 = struct.Struct("!BBQ").pack

#: The 2-byte headers of unmasked final TEXT and BINARY frames of 0..125 bytes, made once.
TEXT_HEADERS: tuple[bytes, ...] = tuple(bytes((0x81, n)) for n in range(126))
BINARY_HEADERS: tuple[bytes, ...] = tuple(bytes((0x82, n)) for n in range(126))


def apply_mask_py(data: bytes, mask: bytes) -> bytes:
    """XOR ``data`` with the 4-byte ``mask`` repeated over its length (RFC 6455 section 5.3).

    Masking and unmasking are the same operation.  The whole buffer is XORed as one big
    integer, which runs at C speed without a per-byte Python loop.  This is the reference
    implementation; :func:`apply_mask` is the optional C version (``tether.ws._speedups``)
    when it was built, 15-20 times faster on 64 KiB, unless ``TETHER_PURE_PYTHON=1``.
    """
    n = len(data)
    if n == 0:
        return b""
    key = (mask * ((n >> 2) + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def _speedup() -> Callable[[bytes, bytes], bytes] | None:
    if os.environ.get("TETHER_PURE_PYTHON") == "1":  # as tether._compiled reads it
        return None
    try:  # by name: import-linter cannot see into the extension module
        module = importlib.import_module("tether.ws._speedups")
    except ImportError:  # built without a C compiler: the pure version
        return None
    return cast("Callable[[bytes, bytes], bytes]", module.apply_mask)


apply_mask: Callable[[bytes, bytes], bytes] = _speedup() or apply_mask_py


def build_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv1: bool = False,
    mask: bytes | None = None,
) -> bytes:
    """Return one complete frame: header, optional masking key, (masked) payload.

    ``mask`` must be 4 bytes on the client side and ``None`` on the server side.  An unmasked
    frame costs one small header plus one concatenation, so the server can build a broadcast
    frame once and write the same bytes to every socket.

    Raises ``ValueError`` for a control frame that is fragmented or longer than 125 bytes, or
    for a mask that is not 4 bytes long.
    """
    n = len(payload)
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    if opcode >= 8 and (n > MAX_CONTROL_PAYLOAD or not fin):
        raise ValueError("control frames must be final and carry at most 125 bytes")
    if mask is None:
        if n < 126:
            if b0 == 0x81:
                return TEXT_HEADERS[n] + payload
            if b0 == 0x82:
                return BINARY_HEADERS[n] + payload
            return bytes((b0, n)) + payload
        if n < 0x10000:
            return _PACK_16(b0, 126, n) + payload
        return _PACK_64(b0, 127, n) + payload
    if len(mask) != 4:
        raise ValueError("a masking key is 4 bytes")
    if n < 126:
        header = bytes((b0, 0x80 | n))
    elif n < 0x10000:
        header = _PACK_16(b0, 0xFE, n)
    else:
        header = _PACK_64(b0, 0xFF, n)
    return header + mask + apply_mask(payload, mask)


def is_valid_close_code(code: int) -> bool:
    """Whether ``code`` may appear in a close frame on the wire (RFC 6455 section 7.4)."""
    if 3000 <= code <= 4999:
        return True
    return 1000 <= code <= 1014 and code not in (1004, 1005, 1006)


def build_close_payload(code: int | None = CloseCode.NORMAL, reason: str = "") -> bytes:
    """The payload of a close frame: a 2-byte code then a UTF-8 reason (at most 123 bytes).

    ``code=None`` gives the empty payload (which the peer reads as 1005, no status).
    Raises ``ValueError`` for a code that may not be sent or a reason that is too long.
    """
    if code is None:
        if reason:
            raise ValueError("a close reason needs a close code")
        return b""
    if not is_valid_close_code(code):
        raise ValueError(f"close code {code} may not be sent")
    data = reason.encode()
    if len(data) > MAX_CONTROL_PAYLOAD - 2:
        raise ValueError("a close reason is at most 123 bytes of UTF-8")
    return code.to_bytes(2, "big") + data


def parse_close_payload(payload: bytes) -> tuple[int, str]:
    """Decode a received close payload into ``(code, reason)``; empty means ``(1005, "")``.

    Raises ``ProtocolError`` with 1002 for a 1-byte payload or a code that may not be sent,
    and with 1007 for a reason that is not UTF-8.
    """
    if not payload:
        return CloseCode.NO_STATUS, ""
    if len(payload) == 1:
        raise ProtocolError(CloseCode.PROTOCOL_ERROR, "close payload of 1 byte")
    code = int.from_bytes(payload[:2], "big")
    if not is_valid_close_code(code):
        raise ProtocolError(CloseCode.PROTOCOL_ERROR, f"invalid close code {code}")
    try:
        reason = payload[2:].decode()
    except UnicodeDecodeError:
        raise ProtocolError(CloseCode.INVALID_DATA, "close reason is not UTF-8") from None
    return code, reason
