"""Shared helpers: raw client frames, a client/server pair joined in memory."""

from __future__ import annotations

from tether.ws import Connection, DeflateParams, Side
from tether.ws.events import Event
from tether.ws.frames import apply_mask, build_frame

MASK = b"\x37\xfa\x21\x3d"

Output = list[str | bytes | Event]


def client_frame(
    opcode: int, payload: bytes = b"", *, fin: bool = True, rsv1: bool = False
) -> bytes:
    """A masked frame as a client sends it."""
    return build_frame(opcode, payload, fin=fin, rsv1=rsv1, mask=MASK)


def raw_frame(first: int, payload: bytes = b"", *, mask: bytes | None = MASK) -> bytes:
    """A frame with a hand-made first byte (reserved bits, reserved opcodes, bad fin...)."""
    n = len(payload)
    second = 0x80 if mask is not None else 0
    if n < 126:
        head = bytes((first, second | n))
    elif n < 0x10000:
        head = bytes((first, second | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((first, second | 127)) + n.to_bytes(8, "big")
    if mask is None:
        return head + payload
    return head + mask + apply_mask(payload, mask)


def feed_bytewise(conn: Connection, data: bytes) -> Output:
    """Feed ``data`` one byte per call and collect everything returned."""
    out: Output = []
    for i in range(len(data)):
        out.extend(conn.receive_data(data[i : i + 1]))
    return out


def feed_split(conn: Connection, data: bytes, cuts: list[int]) -> Output:
    """Feed ``data`` in pieces cut at the sorted offsets ``cuts``."""
    out: Output = []
    last = 0
    for cut in [*cuts, len(data)]:
        out.extend(conn.receive_data(data[last:cut]))
        last = cut
    return out


class Pair:
    """A client and a server connection joined by an in-memory link."""

    def __init__(
        self,
        *,
        deflate: DeflateParams | None = None,
        max_message_size: int = 1_000_000,
    ) -> None:
        self.client = Connection(Side.CLIENT, deflate=deflate, max_message_size=max_message_size)
        self.server = Connection(Side.SERVER, deflate=deflate, max_message_size=max_message_size)

    def to_server(self, frame: bytes) -> Output:
        """Deliver client bytes to the server; the server's automatic replies go back."""
        events = self.server.receive_data(frame)
        for reply in self.server.data_to_send():
            self.client.receive_data(reply)
        return events

    def to_client(self, frame: bytes) -> Output:
        """Deliver server bytes to the client; the client's automatic replies go back."""
        events = self.client.receive_data(frame)
        for reply in self.client.data_to_send():
            self.server.receive_data(reply)
        return events
