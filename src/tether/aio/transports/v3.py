"""The transports of Engine.IO v3 sessions (Socket.IO v2 clients, ``allow_eio3``).

They are the v4 transports with v3's framing (:mod:`tether.eio.v3`): polling answers are
v3 payloads (text, or XHR2 binary when the client supports it and a binary message is in
them) and POST bodies are read as either; over WebSocket a binary message carries its type
byte. Everything else (buffering, flushing, closing, upgrading) is the v4 transports' own.
"""

from __future__ import annotations

import logging
from typing import ClassVar, cast

from tether.aio.transports.base import TransportKind, TransportOwner
from tether.aio.transports.polling import PollingTransport
from tether.aio.transports.websocket import WebSocketTransport
from tether.eio.encoded import Encoded
from tether.eio.errors import ParseError
from tether.eio.session import Reason, State
from tether.eio.v3 import (
    SessionV3,
    decode_frame,
    decode_payload,
    encode_base64_packet,
    encode_frame,
    encode_payload,
)
from tether.http.exchange import Responder, WebSocketChannel, WebSocketHandler
from tether.http.messages import TEXT_PLAIN, Headers

log = logging.getLogger("tether.engine")

OCTET_STREAM: Headers = [("Content-Type", "application/octet-stream")]


class PollingV3Transport(PollingTransport):
    """Long-polling with v3 payloads."""

    __slots__ = ()

    def _respond(self, responder: Responder, packets: list[str | bytes]) -> None:
        session = cast(SessionV3, self.owner.session)
        payload = encode_payload(packets, session.supports_binary)
        if type(payload) is str:
            self.owner.answer(responder, 200, TEXT_PLAIN, payload.encode())
        else:
            self.owner.answer(responder, 200, OCTET_STREAM, payload)  # type: ignore[arg-type]

    def flush(self) -> None:
        self._flush_scheduled = False
        poll = self.poll
        session = self.owner.session
        if poll is None or not session.buffer:
            return
        self.poll = None
        self._respond(poll, session.take())

    def release(self, packet: str) -> None:
        poll, self.poll = self.poll, None
        if poll is not None:
            self._respond(poll, [packet])

    def split(self, body: bytes) -> list[str | bytes]:
        """The packets of a POST's body in v3's framing (text or XHR2 binary payloads)."""
        return decode_payload(body)

    def close(self) -> None:
        poll, self.poll = self.poll, None
        session = self.owner.session
        if poll is None:
            return
        if session.state is State.CLOSED:
            self._respond(poll, [session.pending_get_answer()])
        else:
            self.deliver_close(poll)

    def deliver_close(self, responder: Responder) -> None:
        self._flush_scheduled = False
        session = self.owner.session
        # Buffered packets first, the close packet with the next GET (see closing_payload).
        packets: list[str | bytes] = (
            session.take() if session.buffer else [session.closing_payload()]
        )
        self._respond(responder, packets)


class _Frames:
    """The WebSocket's handler for a v3 session: strips the type byte of binary frames."""

    __slots__ = ("owner",)

    def __init__(self, owner: WebSocketHandler) -> None:
        self.owner = owner

    def on_text(self, text: str) -> None:
        self.owner.on_text(text)

    def on_binary(self, data: bytes) -> None:
        try:
            message = decode_frame(data)
        except ParseError:
            cast(TransportOwner, self.owner).close_now(Reason.PARSE_ERROR)
            return
        self.owner.on_binary(message)

    def on_websocket_close(self, code: int, error: bool) -> None:
        self.owner.on_websocket_close(code, error)


class WebSocketV3Transport(WebSocketTransport):
    """A WebSocket with v3 binary frames (or base64 text packets for a ``b64=1`` client)."""

    __slots__ = ("_binary",)

    upgrades_to: ClassVar[tuple[str, ...]] = ()

    def __init__(self, owner: TransportOwner, websocket: WebSocketChannel | None = None) -> None:
        super().__init__(owner, websocket)
        self._binary = cast(SessionV3, owner.session).supports_binary
        self.websocket.handler = _Frames(cast(WebSocketHandler, owner))

    def _frame(self, packet: str | bytes) -> str | bytes:
        if type(packet) is str:
            return packet
        data = cast(bytes, packet)
        return encode_frame(data) if self._binary else encode_base64_packet(data)

    def send(self, packet: str | bytes) -> None:
        super().send(self._frame(packet))

    def send_many(self, packets: list[str | bytes]) -> None:
        self.websocket.send_messages([self._frame(p) for p in packets])

    def send_encoded(self, encoded: Encoded) -> None:
        packet = encoded.packet
        if type(packet) is str:
            super().send_encoded(encoded)  # a text frame is the same in v3 and v4: shared
        elif self._binary:
            self.websocket.send_binary(encode_frame(cast(bytes, packet)), encoded.compress)
        else:
            self.websocket.send_text(encode_base64_packet(cast(bytes, packet)), encoded.compress)

    def send_ping(self) -> None:
        """Never called: in v3 the client pings."""


#: The v3 transports, by name (as :data:`tether.aio.transports.TRANSPORTS` for v4).
TRANSPORTS_V3: dict[str, TransportKind] = {
    PollingV3Transport.name: PollingV3Transport,
    WebSocketV3Transport.name: WebSocketV3Transport,
}
