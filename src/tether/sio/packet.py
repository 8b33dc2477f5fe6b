"""Socket.IO v5 packet types and the :class:`Packet` record.

Encoded, a packet is one text part followed by its binary attachments, if any::

    <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]

    0                                   CONNECT to "/"
    0/admin,{"token":"123"}             CONNECT to "/admin" with auth data
    1/admin,                            DISCONNECT from "/admin"
    2["foo"]                            EVENT
    212["foo"]                          EVENT with ack id 12
    3/admin,13["bar"]                   ACK of event 13 in "/admin"
    4{"message":"Not authorized"}       CONNECT_ERROR
    51-["baz",{"_placeholder":true,"num":0}]   + 1 attachment   BINARY_EVENT
    61-15["bar",{"_placeholder":true,"num":0}] + 1 attachment   BINARY_ACK

The namespace is omitted when it is ``"/"``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Final


class PacketType(enum.IntEnum):
    """The seven Socket.IO packet types; the value is the digit that starts a packet."""

    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


@dataclass(slots=True)
class Packet:
    """One Socket.IO packet.

    ``data`` is the JSON-like payload with binary attachments in place (``bytes`` wherever the
    sender had a binary value); ``None`` means no payload. ``id`` is the acknowledgement id.
    """

    type: PacketType
    nsp: str = "/"
    data: Any = None
    id: int | None = None


#: Event names a peer may not emit: they have a special meaning for the Socket.IO API and the
#: Node.js EventEmitter. A received EVENT whose name is one of these is invalid.
RESERVED_EVENTS: Final = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)

#: The largest acknowledgement id accepted from a peer: ``Number.MAX_SAFE_INTEGER``, the
#: largest integer a JavaScript peer represents exactly.
MAX_ACK_ID: Final = 2**53 - 1
