"""A message encoded once for many sessions (a broadcast)."""

from __future__ import annotations


class Encoded:
    """A message encoded once for many sessions: the Engine.IO packet, and a slot for its
    WebSocket frame, which the first WebSocket transport to send it builds and every other
    one then writes as the same bytes.

    Args:
        data: a Socket.IO packet's text part (sent as ``4<data>``) or a binary attachment.
        compress: False: never compressed, even with permessage-deflate (a broadcast's
            ``compress(False)``).
    """

    __slots__ = ("compress", "frame", "packet")

    def __init__(self, data: str | bytes, compress: bool = True) -> None:
        self.packet: str | bytes = "4" + data if type(data) is str else data
        #: The unmasked, uncompressed WebSocket frame of :attr:`packet`, once built.
        self.frame: bytes | None = None
        self.compress = compress
