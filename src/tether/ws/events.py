"""Control events that ``Connection.receive_data`` returns next to messages.

A complete text message comes out as a plain ``str`` and a binary one as plain ``bytes``; only
the rarer control traffic gets these small objects.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class Ping:
    """The peer sent a ping; the pong reply is already queued in ``data_to_send()``."""

    payload: bytes = b""


@dataclasses.dataclass(frozen=True, slots=True)
class Pong:
    """The peer sent a pong (solicited or not)."""

    payload: bytes = b""


@dataclasses.dataclass(frozen=True, slots=True)
class Close:
    """The peer closed the connection; ``code`` is 1005 when its close frame had no payload.

    If we had not sent a close frame yet, the reply is already queued in ``data_to_send()``.
    """

    code: int
    reason: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionFailed:
    """The peer broke the protocol; a close frame with ``code`` is queued and input stops."""

    code: int
    reason: str = ""


#: Everything ``receive_data`` returns that is not a message.
Event = Ping | Pong | Close | ConnectionFailed
