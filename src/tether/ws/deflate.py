"""RFC 7692 permessage-deflate: negotiation and the per-message codec.

Negotiation
    A server passes the client's ``Sec-WebSocket-Extensions`` value and its
    :class:`DeflateOptions` to :func:`accept_offer`; it gets the response header value and the
    :class:`DeflateParams` in force, or ``None`` when no offer is acceptable (the connection then
    goes on uncompressed).  A client sends :func:`build_offer` and checks the server's answer with
    :func:`check_response`.

Codec
    Each message is compressed as raw deflate ending in a sync flush whose trailing
    ``00 00 ff ff`` is stripped on the wire and appended again before inflating (RFC 7692
    section 7.2).  Without context takeover the compressor ends every message with a full flush,
    which forgets the window without paying for a new ``compressobj``; the decompressor is
    replaced after each message.  Inflating is bounded: a message may never produce more than
    the connection's ``max_message_size`` bytes, whatever its compressed size.

zlib cannot compress with an 8-bit window in raw mode, so a server declines an offer that asks
for ``server_max_window_bits=8`` and a client refuses a response that asks for
``client_max_window_bits=8``; both are allowed by the RFC.
"""

from __future__ import annotations

import dataclasses
import zlib

from .errors import ProtocolError
from .extensions import parse_extensions
from .frames import CloseCode

EXTENSION_NAME = "permessage-deflate"
_TAIL = b"\x00\x00\xff\xff"
_WINDOW_VALUES = {str(bits): bits for bits in range(8, 16)}


@dataclasses.dataclass(frozen=True, slots=True)
class DeflateOptions:
    """What the local side wants from permessage-deflate.

    On a server these say how offers are accepted; on a client they shape the offer.

    - ``server_no_context_takeover``: the server compresses every message on its own (a server
      announces it; a client requests it).
    - ``client_no_context_takeover``: the same for the client (a server requests it; a client
      announces it).
    - ``server_max_window_bits`` / ``client_max_window_bits``: an LZ77 window limit, 9-15, for
      the server's or the client's compressor (``None``: no limit asked for).  A server that
      sets ``client_max_window_bits`` declines offers from clients that cannot honour it.
    - ``threshold``: messages shorter than this many bytes are sent uncompressed.
    - ``level`` and ``mem_level``: passed to ``zlib.compressobj``.
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None
    client_max_window_bits: int | None = None
    threshold: int = 32
    level: int = 6
    mem_level: int = 8

    def __post_init__(self) -> None:
        for bits in (self.server_max_window_bits, self.client_max_window_bits):
            if bits is not None and not 9 <= bits <= 15:
                raise ValueError("max_window_bits must be between 9 and 15")
        if not -1 <= self.level <= 9 or not 1 <= self.mem_level <= 9 or self.threshold < 0:
            raise ValueError("invalid level, mem_level or threshold")


@dataclasses.dataclass(frozen=True, slots=True)
class DeflateParams:
    """The permessage-deflate parameters agreed on for one connection."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15
    threshold: int = 32
    level: int = 6
    mem_level: int = 8

    def codecs(self, is_server: bool) -> tuple[Compressor, Decompressor]:
        """The compressor for what this side sends and the decompressor for what it receives."""
        if is_server:
            own_bits, own_nct = self.server_max_window_bits, self.server_no_context_takeover
            peer_bits, peer_nct = self.client_max_window_bits, self.client_no_context_takeover
        else:
            own_bits, own_nct = self.client_max_window_bits, self.client_no_context_takeover
            peer_bits, peer_nct = self.server_max_window_bits, self.server_no_context_takeover
        compressor = Compressor(own_bits, own_nct, self.level, self.mem_level, self.threshold)
        return compressor, Decompressor(peer_bits, peer_nct)


class Compressor:
    """Compresses outgoing messages (one ``compressobj`` for the connection's lifetime)."""

    __slots__ = ("_compress", "_flush", "_mode", "threshold")

    def __init__(
        self,
        window_bits: int,
        no_context_takeover: bool,
        level: int,
        mem_level: int,
        threshold: int,
    ) -> None:
        obj = zlib.compressobj(level, zlib.DEFLATED, -window_bits, mem_level)
        self._compress = obj.compress
        self._flush = obj.flush
        self._mode = zlib.Z_FULL_FLUSH if no_context_takeover else zlib.Z_SYNC_FLUSH
        self.threshold = threshold

    def compress(self, data: bytes) -> bytes:
        """One message's compressed payload, without the trailing ``00 00 ff ff``."""
        return (self._compress(data) + self._flush(self._mode))[:-4]


class Decompressor:
    """Inflates incoming messages chunk by chunk, never past a size limit."""

    __slots__ = ("_obj", "_reset", "_wbits")

    def __init__(self, window_bits: int, no_context_takeover: bool) -> None:
        # A zlib peer told to use 8 bits really uses 9; a larger window inflates anything smaller.
        self._wbits = -max(window_bits, 9)
        self._reset = no_context_takeover
        self._obj = zlib.decompressobj(self._wbits)

    def decompress(self, data: bytes, end: bool, limit: int) -> bytes:
        """Inflate the next compressed chunk of a message (``end``: its last chunk).

        Raises ``ProtocolError`` 1009 when the output would exceed ``limit`` bytes and 1007
        when the data is not valid deflate.
        """
        obj = self._obj
        out = b""
        if not obj.eof:
            if end:
                data += _TAIL
            try:
                out = obj.decompress(data, limit + 1)
            except zlib.error as exc:
                raise ProtocolError(CloseCode.INVALID_DATA, "invalid compressed data") from exc
            if len(out) > limit:
                raise ProtocolError(CloseCode.MESSAGE_TOO_BIG, "message too big")
        # After a block with BFINAL set (RFC 7692 section 7.2.3.3) the rest of the message,
        # the appended tail included, is ignored and the next message starts a fresh stream.
        if end and (self._reset or obj.eof):
            self._obj = zlib.decompressobj(self._wbits)
        return out


def _window_bits(value: str | None) -> int | None:
    return None if value is None else _WINDOW_VALUES.get(value)


def accept_offer(header: str, options: DeflateOptions) -> tuple[str, DeflateParams] | None:
    """Pick the first acceptable permessage-deflate offer (server side, RFC 7692 section 5).

    Returns the ``Sec-WebSocket-Extensions`` response value and the agreed parameters, or
    ``None`` when every offer is declined.  Raises ``ValueError`` for a malformed header.
    """
    for name, params in parse_extensions(header):
        if name == EXTENSION_NAME:
            accepted = _accept_one(params, options)
            if accepted is not None:
                return accepted
    return None


def _accept_one(
    params: list[tuple[str, str | None]], options: DeflateOptions
) -> tuple[str, DeflateParams] | None:
    seen: set[str] = set()
    server_nct = options.server_no_context_takeover
    client_nct = options.client_no_context_takeover
    server_bits: int | None = None
    client_offered = False
    client_hint: int | None = None
    for param, value in params:
        if param in seen:
            return None
        seen.add(param)
        if param == "server_no_context_takeover" and value is None:
            server_nct = True
        elif param == "client_no_context_takeover" and value is None:
            client_nct = True
        elif param == "server_max_window_bits":
            server_bits = _window_bits(value)
            if server_bits is None:
                return None
        elif param == "client_max_window_bits":
            client_offered = True
            if value is not None:
                client_hint = _window_bits(value)
                if client_hint is None:
                    return None
        else:
            return None
    own_bits = options.server_max_window_bits or 15
    server_final = min(server_bits or 15, own_bits)
    if server_final == 8:
        return None
    client_final: int | None = client_hint
    if options.client_max_window_bits is not None:
        if not client_offered:
            return None
        client_final = min(options.client_max_window_bits, client_hint or 15)
    parts = [EXTENSION_NAME]
    if server_nct:
        parts.append("server_no_context_takeover")
    if client_nct:
        parts.append("client_no_context_takeover")
    if server_bits is not None or server_final < 15:
        parts.append(f"server_max_window_bits={server_final}")
    if client_final is not None:
        parts.append(f"client_max_window_bits={client_final}")
    agreed = DeflateParams(
        server_no_context_takeover=server_nct,
        client_no_context_takeover=client_nct,
        server_max_window_bits=server_final,
        client_max_window_bits=client_final or 15,
        threshold=options.threshold,
        level=options.level,
        mem_level=options.mem_level,
    )
    return "; ".join(parts), agreed


def build_offer(options: DeflateOptions) -> str:
    """The ``Sec-WebSocket-Extensions`` value a client sends for ``options``."""
    parts = [EXTENSION_NAME]
    if options.server_no_context_takeover:
        parts.append("server_no_context_takeover")
    if options.client_no_context_takeover:
        parts.append("client_no_context_takeover")
    if options.server_max_window_bits is not None:
        parts.append(f"server_max_window_bits={options.server_max_window_bits}")
    if options.client_max_window_bits is not None:
        parts.append(f"client_max_window_bits={options.client_max_window_bits}")
    else:
        parts.append("client_max_window_bits")
    return "; ".join(parts)


def check_response(header: str, options: DeflateOptions) -> DeflateParams:
    """Validate the server's answer to :func:`build_offer` (client side, RFC 7692 section 5).

    Raises ``ValueError`` when the response does not fit the offer.
    """
    extensions = parse_extensions(header)
    if len(extensions) != 1 or extensions[0][0] != EXTENSION_NAME:
        raise ValueError("the server accepted extensions that were not offered")
    seen: set[str] = set()
    server_nct = False
    client_nct = options.client_no_context_takeover
    server_bits: int | None = None
    client_bits: int | None = None
    for param, value in extensions[0][1]:
        if param in seen:
            raise ValueError(f"duplicate parameter {param}")
        seen.add(param)
        if param == "server_no_context_takeover" and value is None:
            server_nct = True
        elif param == "client_no_context_takeover" and value is None:
            client_nct = True
        elif param == "server_max_window_bits" and _window_bits(value) is not None:
            server_bits = _window_bits(value)
        elif param == "client_max_window_bits" and _window_bits(value) is not None:
            client_bits = _window_bits(value)
        else:
            raise ValueError(f"invalid parameter {param}={value}")
    if options.server_no_context_takeover and not server_nct:
        raise ValueError("server_no_context_takeover was requested but not granted")
    wanted = options.server_max_window_bits
    if wanted is not None and (server_bits is None or server_bits > wanted):
        raise ValueError("server_max_window_bits was requested but not granted")
    if client_bits is not None:
        if options.client_max_window_bits is not None and client_bits > (
            options.client_max_window_bits
        ):
            raise ValueError("client_max_window_bits is larger than offered")
        if client_bits == 8:
            raise ValueError("client_max_window_bits=8 is not supported")
    return DeflateParams(
        server_no_context_takeover=server_nct,
        client_no_context_takeover=client_nct,
        server_max_window_bits=server_bits or 15,
        client_max_window_bits=client_bits or options.client_max_window_bits or 15,
        threshold=options.threshold,
        level=options.level,
        mem_level=options.mem_level,
    )
