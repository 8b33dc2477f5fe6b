"""The WebSocket transport: one Engine.IO packet per WebSocket message.

Text packets travel as text messages, binary messages as binary ones with no type byte. What
the WebSocket receives goes straight to the session (it is the WebSocket's handler), in the
read callback: no task, no queue.
"""

from __future__ import annotations

from typing import ClassVar

from tether._compiled import mypyc_attr
from tether.aio.transports.base import TransportOwner
from tether.aio.websocket import DETACHED, WebSocket
from tether.eio.encoded import Encoded
from tether.eio.packet import PING
from tether.http.exchange import WebSocketChannel
from tether.ws.frames import Opcode, build_frame


@mypyc_attr(allow_interpreted_subclasses=True)
class WebSocketTransport:
    """One session's WebSocket."""

    name: ClassVar[str] = "websocket"
    handles_upgrades: ClassVar[bool] = True
    upgrades_to: ClassVar[tuple[str, ...]] = ()

    __slots__ = ("owner", "websocket")

    def __init__(self, owner: TransportOwner, websocket: WebSocketChannel | None = None) -> None:
        if websocket is None:
            raise TypeError("the WebSocket transport is built with its WebSocket")
        self.owner = owner
        self.websocket = websocket

    @property
    def writable(self) -> bool:
        return not self.websocket.paused

    def send(self, packet: str | bytes) -> None:
        websocket = self.websocket
        if type(websocket) is WebSocket:
            native: WebSocket = websocket  # narrowed: compiled, direct calls
            if type(packet) is str:
                native.send_text(packet)
            else:
                native.send_binary(packet)  # type: ignore[arg-type]
        elif type(packet) is str:
            websocket.send_text(packet)
        else:
            websocket.send_binary(packet)  # type: ignore[arg-type]

    def send_many(self, packets: list[str | bytes]) -> None:
        websocket = self.websocket
        if type(websocket) is WebSocket:
            native: WebSocket = websocket  # narrowed: compiled, a direct call
            native.send_messages(packets)
        else:
            websocket.send_messages(packets)

    def send_encoded(self, encoded: Encoded) -> None:
        websocket = self.websocket
        if type(websocket) is WebSocket:
            # Narrowed: compiled, direct attribute reads and calls rather than ones through
            # the protocol, once per recipient of a broadcast.
            native: WebSocket = websocket
            if native.can_share_frames:
                native.send_frame(_shared_frame(encoded))
                return
        elif websocket.can_share_frames:
            websocket.send_frame(_shared_frame(encoded))
            return
        packet = encoded.packet
        if type(packet) is str:
            websocket.send_text(packet, encoded.compress)
        else:
            websocket.send_binary(packet, encoded.compress)  # type: ignore[arg-type]

    def send_ping(self) -> None:
        self.websocket.send_text(PING)
        self.owner.session.ping_sent()

    def close(self) -> None:
        websocket = self.websocket
        websocket.handler = DETACHED
        code = self.owner.session.websocket_close_code
        if code is None:
            websocket.abort()
        elif code == 1000:
            websocket.close(code)
        else:
            websocket.fail(code)  # a protocol error: the close frame, then TCP at once


def _shared_frame(encoded: Encoded) -> bytes:
    """The WebSocket frame of ``encoded``, built once for every recipient."""
    frame = encoded.frame
    if frame is None:
        packet = encoded.packet
        if type(packet) is str:
            frame = build_frame(Opcode.TEXT, packet.encode())
        else:
            frame = build_frame(Opcode.BINARY, packet)  # type: ignore[arg-type]
        encoded.frame = frame
    return frame
