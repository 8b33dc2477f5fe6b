"""The WebSocket error tree.

::

    WebSocketError
    ├── HandshakeError        the opening handshake is refused (carries the HTTP status to answer
    │                         with on the server side, or the status received on the client side)
    ├── ProtocolError         the peer broke RFC 6455/7692 framing rules (carries a close code)
    └── InvalidStateError     local misuse: sending on a connection that can no longer send

``Connection.receive_data`` never raises: a ``ProtocolError`` raised while parsing is turned into
a ``ConnectionFailed`` event and a close frame with its code.  Errors caused by the local caller
(bad arguments, sending after close) raise ``ValueError`` or ``InvalidStateError``.
"""

from __future__ import annotations


class WebSocketError(Exception):
    """Base class of every WebSocket error."""


class HandshakeError(WebSocketError):
    """The opening handshake failed.

    On the server side ``status`` and ``headers`` describe the HTTP response to send instead of
    ``101 Switching Protocols``.  On the client side ``status`` is the status that the server
    answered with (``101`` when the status was right but a header was wrong).
    """

    def __init__(
        self, reason: str, *, status: int = 400, headers: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.headers: list[tuple[str, str]] = list(headers) if headers else []

    def response_bytes(self) -> bytes:
        """An HTTP/1.1 error response for this refusal, with the reason as a plain-text body."""
        body = (self.reason + "\n").encode()
        phrase = _REASON_PHRASES.get(self.status, "Error")
        lines = [f"HTTP/1.1 {self.status} {phrase}"]
        lines.extend(f"{name}: {value}" for name, value in self.headers)
        lines.append("Content-Type: text/plain; charset=utf-8")
        lines.append(f"Content-Length: {len(body)}")
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class ProtocolError(WebSocketError):
    """The peer violated the protocol; ``code`` is the close code to fail the connection with."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


class InvalidStateError(WebSocketError):
    """The local side tried to send on a connection whose state forbids it."""


_REASON_PHRASES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    426: "Upgrade Required",
    500: "Internal Server Error",
}
