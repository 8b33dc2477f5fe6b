"""python-socketio's exceptions (``socketio.exceptions``), tied to tether's own errors."""

from __future__ import annotations

from typing import Any

from tether import errors

__all__ = [
    "BadNamespaceError",
    "ConnectionError",
    "ConnectionRefusedError",
    "DisconnectedError",
    "SocketIOError",
    "TimeoutError",
]


class SocketIOError(Exception):
    """Base class of the errors of this API."""


class ConnectionError(SocketIOError):
    """A client could not connect (unreachable server, or a refused namespace)."""


class ConnectionRefusedError(ConnectionError, errors.ConnectionRefusedError):
    """Raise in a ``connect`` handler to refuse the client.

    No argument: the client gets ``"Connection rejected by server"``; one: it is the message;
    two: the message and its data; more: the message and the rest as a list of data.
    """

    def __init__(self, *args: Any) -> None:
        message = str(args[0]) if args else "Connection rejected by server"
        data = None if len(args) < 2 else args[1] if len(args) == 2 else list(args[1:])
        errors.ConnectionRefusedError.__init__(self, message, data)
        self.error_args: dict[str, Any] = self.payload()


class TimeoutError(SocketIOError):
    """``call`` got no answer in time."""


class BadNamespaceError(SocketIOError):
    """A client emitted to a namespace it is not connected to."""


class DisconnectedError(SocketIOError):
    """A client is not connected."""
