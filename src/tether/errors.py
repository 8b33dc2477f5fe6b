"""Errors raised to users of the Socket.IO API."""

from __future__ import annotations

from typing import Any


class TetherError(Exception):
    """Base class of tether's public errors."""


class ConnectionRefusedError(TetherError):
    """Raise in a connection middleware or handler to refuse the connection.

    The client receives a CONNECT_ERROR packet with ``{"message": message, "data": data}``.
    """

    def __init__(self, message: str = "Connection refused", data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def payload(self) -> dict[str, Any]:
        """The CONNECT_ERROR payload."""
        if self.data is None:
            return {"message": self.message}
        return {"message": self.message, "data": self.data}


class AckTimeoutError(TetherError, TimeoutError):
    """No acknowledgement (or not all of them) arrived in time.

    ``responses`` holds the answers that did arrive, for a broadcast.
    """

    def __init__(
        self, message: str = "operation has timed out", responses: list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.responses = responses or []


class DisconnectedError(TetherError):
    """The socket disconnected before its acknowledgement arrived."""


class InvalidAckError(TetherError, ValueError):
    """An acknowledgement that does not match the ``result`` type ``emit_with_ack`` asked for.

    ``ack`` is the answer as it came (for example the error object of a server that refused
    the payload: ``{"error": "invalid_payload", ...}``), ``details`` pydantic's errors
    (``[{"loc": [...], "msg": ..., "type": ...}]``).
    """

    def __init__(self, event: str, ack: Any, details: list[dict[str, Any]]) -> None:
        super().__init__(f"the acknowledgement of {event!r} does not match the result type")
        self.event = event
        self.ack = ack
        self.details = details
