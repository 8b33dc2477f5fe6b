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
        if type(packet) is str:
            if type(websocket) is WebSocket:
                websocket.send_text(packet)  # narrowed: compiled, a direct call
            else:
                websocket.send_text(packet)
        else:
            websocket.send_binary(packet)  # type: ignore[arg-type]

    def send_many(self, packets: list[str | bytes]) -> None:
        self.websocket.send_messages(packets)

    def send_encoded(self, encoded: Encoded) -> None:
        websocket = self.websocket
        packet = encoded.packet
        if websocket.can_share_frames:
            frame = encoded.frame
            if frame is None:
                if type(packet) is str:
                    frame = build_frame(Opcode.TEXT, packet.encode())
                else:
                    frame = build_frame(Opcode.BINARY, packet)  # type: ignore[arg-type]
                encoded.frame = frame
            if type(websocket) is WebSocket:
                # Narrowed: compiled, a direct call rather than one through the protocol.
                websocket.send_frame(frame)
            else:
                websocket.send_frame(frame)
        elif type(packet) is str:
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
