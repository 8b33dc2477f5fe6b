"""What the Engine.IO layer needs of the HTTP layers beneath it, native or ASGI: an answer
to a request, a WebSocket upgrade, a live WebSocket. Both :mod:`tether.aio.http_protocol` (with
:mod:`tether.aio.websocket`) and :mod:`tether.aio.asgi` provide them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from tether.http.messages import Headers, Request
from tether.ws.deflate import DeflateOptions


class WebSocketHandler(Protocol):
    """Receives what one WebSocket connection delivers."""

    def on_text(self, text: str) -> None:
        """A complete text message."""

    def on_binary(self, data: bytes) -> None:
        """A complete binary message."""

    def on_websocket_close(self, code: int, error: bool) -> None:
        """The connection is gone; ``error`` when it failed rather than closed cleanly."""


class Responder(Protocol):
    """Answers one HTTP request (the native server's, or the ASGI one's)."""

    request: Request

    @property
    def connected(self) -> bool:
        """False once the client went away."""

    def send(self, status: int, headers: Headers, body: bytes = b"") -> None:
        """Send the whole response."""

    def on_disconnect(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` if the client goes away before the answer."""


class WebSocketChannel(Protocol):
    """A live WebSocket as the Engine.IO layer uses it (native or ASGI)."""

    handler: WebSocketHandler
    can_share_frames: bool

    @property
    def paused(self) -> bool:
        """True while the peer reads slowly."""

    def send_text(self, text: str, compress: bool = True) -> None:
        """Send a text message (``compress=False``: never compressed)."""

    def send_binary(self, data: bytes, compress: bool = True) -> None:
        """Send a binary message (``compress=False``: never compressed)."""

    def send_messages(self, messages: list[str | bytes]) -> None:
        """Send several messages in order (text for ``str``, binary for ``bytes``)."""

    def send_frame(self, frame: bytes) -> None:
        """Write a prebuilt frame (only when ``can_share_frames``)."""

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with the closing handshake."""

    def abort(self) -> None:
        """Drop the connection."""

    def fail(self, code: int | None, reason: str = "") -> None:
        """Fail the connection: a close frame with ``code`` (``None``: no code) if it can
        still be sent, then the end; what the peer sends afterwards is dropped."""


class Upgrade(Protocol):
    """A WebSocket request waiting for an answer."""

    request: Request

    def open_websocket(
        self,
        handler: WebSocketHandler,
        *,
        max_message_size: int,
        deflate: DeflateOptions | None = None,
        extra_headers: Headers | None = None,
    ) -> WebSocketChannel | None:
        """Accept: answer 101 and return the live WebSocket (``None`` if the handshake was bad)."""

    def reject(self, status: int, headers: Headers, body: bytes = b"") -> None:
        """Refuse with an HTTP answer."""


class HttpApp(Protocol):
    """What the listener serves: plain requests and WebSocket upgrades."""

    def handle_request(self, request: Request, responder: Responder) -> None:
        """Answer ``request`` now or later through ``responder``."""

    def handle_upgrade(self, upgrade: Upgrade) -> None:
        """Accept (``upgrade.open_websocket``) or refuse (``upgrade.reject``) a WebSocket
        request."""
