"""The parser seam: how Socket.IO packets become Engine.IO messages and back (Node's
``parser`` option).

A parser is ``"json"`` (the default: ``socket.io-parser``'s wire, :mod:`tether.sio`),
``"msgpack"`` (``socket.io-msgpack-parser`` 3.x, :mod:`tether.sio.msgpack_parser`), or an
object of yours following :class:`Parser`::

    class MyParser:
        name = "mine"

        def encode(self, packet: Packet) -> list[str | bytes]:
            ...  # the Engine.IO messages of one packet

        def decoder(self) -> PacketDecoder:
            ...  # one per connection: feed(message) -> Packet | None

:func:`resolve` turns any of these into a :class:`Codec` once per server or client: the
functions sending and receiving use, chosen once, so that the default JSON parser runs
exactly the code it runs without the seam. Both ends of a connection must use the same
parser, and so must every server of a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from tether.sio import msgpack_parser
from tether.sio.decoder import new_decoder
from tether.sio.encoder import encode, encode_ack, encode_event
from tether.sio.errors import DecodeError
from tether.sio.packet import Packet, PacketType

__all__ = ["Codec", "PacketDecoder", "Parser", "SessionDecoder", "resolve"]

Parts = list[str | bytes]


@runtime_checkable
class PacketDecoder(Protocol):
    """The decoder of one connection, made by :meth:`Parser.decoder`."""

    def feed(self, message: str | bytes) -> Packet | None:
        """Decode one Engine.IO message: the packet it completes, or ``None`` while a packet
        awaits more messages. Raises :class:`~tether.sio.DecodeError` for invalid input
        (the connection is then closed with ``"parse error"``)."""


@runtime_checkable
class Parser(Protocol):
    """What ``Server(parser=...)`` and ``Client(parser=...)`` accept besides a name."""

    #: A short name, for logs.
    name: str

    def encode(self, packet: Packet) -> Parts:
        """The Engine.IO messages of ``packet`` (``str`` sent as text, ``bytes`` as binary).

        Raises :class:`~tether.sio.EncodeError` (or ``TypeError``) for data it cannot
        encode."""

    def decoder(self) -> PacketDecoder:
        """A new decoder, for one connection."""


class SessionDecoder(Protocol):
    """The decoder interface sessions use (that of :class:`tether.sio.Decoder`)."""

    @property
    def awaiting_attachments(self) -> int:
        """Messages the decoder waits for to complete a packet (0 when none)."""

    def feed_text(self, text: str) -> Packet | None:
        """Decode a text message."""

    def feed_binary(self, data: bytes) -> Packet | None:
        """Decode a binary message."""

    def reset(self) -> None:
        """Drop a partly received packet."""


@dataclass(frozen=True, slots=True)
class Codec:
    """A parser resolved once: the functions that encode and decode with it."""

    name: str
    encode: Callable[[Packet], Parts]
    encode_event: Callable[[str, str, Sequence[Any], int | None], Parts]
    encode_ack: Callable[[str, int, Sequence[Any]], Parts]
    #: ``new_decoder(max_attachments)``: the decoder of a new connection.
    new_decoder: Callable[[int], SessionDecoder]


def _msgpack_decoder(max_attachments: int) -> SessionDecoder:
    return msgpack_parser.MsgpackDecoder()


JSON = Codec("json", encode, encode_event, encode_ack, new_decoder)
MSGPACK = Codec(
    "msgpack",
    msgpack_parser.encode,
    msgpack_parser.encode_event,
    msgpack_parser.encode_ack,
    _msgpack_decoder,
)


class _CustomDecoder:
    """A :class:`PacketDecoder` of the application's, behind the interface of sessions."""

    __slots__ = ("_feed", "_inner")

    def __init__(self, inner: PacketDecoder) -> None:
        self._inner = inner
        self._feed = inner.feed

    @property
    def awaiting_attachments(self) -> int:
        return int(getattr(self._inner, "awaiting_attachments", 0))

    def feed_text(self, text: str) -> Packet | None:
        return self._checked(text)

    def feed_binary(self, data: bytes) -> Packet | None:
        return self._checked(data)

    def _checked(self, message: str | bytes) -> Packet | None:
        try:
            packet = self._feed(message)
        except DecodeError:
            raise
        except Exception as exc:
            raise DecodeError(f"{type(exc).__name__} in the parser's decoder") from exc
        if packet is not None and not isinstance(packet, Packet):
            raise DecodeError("the parser's decoder returned something else than a Packet")
        return packet

    def reset(self) -> None:
        reset = getattr(self._inner, "reset", None)
        if reset is not None:
            reset()


def _custom(parser: Parser) -> Codec:
    encode_packet = parser.encode

    def event(nsp: str, name: str, args: Sequence[Any], ack_id: int | None = None) -> Parts:
        return encode_packet(Packet(PacketType.EVENT, nsp, [name, *args], ack_id))

    def ack(nsp: str, ack_id: int, args: Sequence[Any]) -> Parts:
        return encode_packet(Packet(PacketType.ACK, nsp, list(args), ack_id))

    def new_decoder(max_attachments: int) -> SessionDecoder:
        return _CustomDecoder(parser.decoder())

    return Codec(
        str(getattr(parser, "name", type(parser).__name__)), encode_packet, event, ack, new_decoder
    )


def resolve(parser: str | Parser | Codec | None) -> Codec:
    """The :class:`Codec` of ``parser``: ``"json"`` (or ``None``), ``"msgpack"``, or an object
    with ``encode(packet)`` and ``decoder()`` (see :class:`Parser`)."""
    if parser is None or parser == "json":
        return JSON
    if parser == "msgpack":
        return MSGPACK
    if isinstance(parser, Codec):
        return parser
    if isinstance(parser, str):
        raise ValueError(f'unknown parser {parser!r}: "json", "msgpack" or a parser object')
    if not (
        callable(getattr(parser, "encode", None)) and callable(getattr(parser, "decoder", None))
    ):
        raise TypeError("a parser needs encode(packet) and decoder() (see tether.sio.parsers)")
    return _custom(parser)
