"""Socket.IO v5 packets, sans I/O: encoding, decoding, binary attachments.

No asyncio and no sockets here: :func:`encode_event`, :func:`encode_ack` and :func:`encode` turn
packets into the parts to send (one text part, then the binary attachments), and one
:class:`Decoder` per connection turns the received Engine.IO messages back into
:class:`Packet` objects, raising :class:`DecodeError` for anything invalid.

>>> encode_event("/", "chat", [{"text": "hello"}], ack_id=3)
['23["chat",{"text":"hello"}]']
>>> encode_event("/admin", "file", [b"\\x01\\x02"])
['51-/admin,["file",{"_placeholder":true,"num":0}]', b'\\x01\\x02']
>>> decoder = Decoder()
>>> decoder.feed_text('51-["file",{"_placeholder":true,"num":0}]') is None
True
>>> decoder.feed_binary(b"\\x01\\x02")
Packet(type=<PacketType.EVENT: 2>, nsp='/', data=['file', b'\\x01\\x02'], id=None)
"""

from tether.sio.binary import deconstruct, is_binary, reconstruct
from tether.sio.decoder import Decoder
from tether.sio.encoder import encode, encode_ack, encode_event
from tether.sio.errors import DecodeError, EncodeError, SocketIOError
from tether.sio.packet import MAX_ACK_ID, RESERVED_EVENTS, Packet, PacketType

__all__ = [
    "MAX_ACK_ID",
    "RESERVED_EVENTS",
    "DecodeError",
    "Decoder",
    "EncodeError",
    "Packet",
    "PacketType",
    "SocketIOError",
    "deconstruct",
    "encode",
    "encode_ack",
    "encode_event",
    "is_binary",
    "reconstruct",
]
