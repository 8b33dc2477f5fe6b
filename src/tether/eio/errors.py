"""The Engine.IO error tree.

::

    EngineIOError
    ├── ParseError            a packet or payload the peer sent is malformed
    ├── StateError            a session asked to make a transition its state does not allow
    └── RequestError          an HTTP request the server refuses (carries code, message, status)

``RequestError`` codes and messages are the ones Node's ``engine.io`` answers with, so clients
that inspect them behave the same::

    0 Transport unknown    1 Session ID unknown    2 Bad handshake method
    3 Bad request          4 Forbidden             5 Unsupported protocol version
"""

from __future__ import annotations

import enum


class EngineIOError(Exception):
    """Base class of every Engine.IO error."""


class ParseError(EngineIOError):
    """A malformed packet or payload from the peer."""


class StateError(EngineIOError):
    """A transition the session's state does not allow (a bug in the layer driving it)."""


class ErrorCode(enum.IntEnum):
    """The error codes of the handshake/request errors, as the JSON body carries them."""

    UNKNOWN_TRANSPORT = 0
    UNKNOWN_SID = 1
    BAD_HANDSHAKE_METHOD = 2
    BAD_REQUEST = 3
    FORBIDDEN = 4
    UNSUPPORTED_PROTOCOL_VERSION = 5


_MESSAGES = {
    ErrorCode.UNKNOWN_TRANSPORT: "Transport unknown",
    ErrorCode.UNKNOWN_SID: "Session ID unknown",
    ErrorCode.BAD_HANDSHAKE_METHOD: "Bad handshake method",
    ErrorCode.BAD_REQUEST: "Bad request",
    ErrorCode.FORBIDDEN: "Forbidden",
    ErrorCode.UNSUPPORTED_PROTOCOL_VERSION: "Unsupported protocol version",
}


class RequestError(EngineIOError):
    """A request the server refuses; answered with ``status`` and a JSON body."""

    def __init__(self, code: ErrorCode, status: int = 400, detail: str = "") -> None:
        self.code = code
        self.status = status
        self.message = _MESSAGES[code]
        self.detail = detail
        super().__init__(f"{self.message}: {detail}" if detail else self.message)

    def body(self) -> bytes:
        """The JSON body Node sends with this error."""
        return b'{"code":%d,"message":"%s"}' % (self.code, self.message.encode())
