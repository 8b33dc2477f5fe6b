"""What the client keeps per namespace and per handler, its errors and small helpers."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tether.errors import TetherError
from tether.handlers import ack_args, ack_value, read_handler
from tether.typed.validation import Validator

__all__ = ["ack_args", "ack_value"]

Handler = Callable[..., Any]
H = TypeVar("H", bound=Handler)
Auth = Mapping[str, Any] | Callable[[], Mapping[str, Any] | Awaitable[Mapping[str, Any]]] | None

#: Events a client may not emit (they name what happens to the socket).
RESERVED = frozenset({"connect", "connect_error", "disconnect", "disconnecting"})
#: Events of the connection as a whole, not of one namespace.
MANAGER_EVENTS = frozenset(
    {"reconnect_attempt", "reconnect", "reconnect_error", "reconnect_failed"}
)


class ConnectError(TetherError, ConnectionError):
    """``connect()`` failed: the server is unreachable, or refused a namespace.

    ``data`` is the server's CONNECT_ERROR ``data`` (``None`` when there was none).
    """

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


@dataclass(slots=True)
class Callback:
    fn: Handler
    is_coroutine: bool
    #: What the annotations of an event handler enforce (``None``: called as it is).
    validator: Validator | None = None


def make_callback(fn: Handler, event: str | None = None) -> Callback:
    """A handler, read once. With ``event`` (an event the server sends, not one of
    :data:`RESERVED` or :data:`MANAGER_EVENTS`), a signature that cannot be called raises
    ``TypeError`` now and annotations get their validator (:mod:`tether.typed.validation`)."""
    validator = None
    if event is not None:
        validator = read_handler(
            fn,
            event,
            receives_socket=False,
            validate=event not in RESERVED and event not in MANAGER_EVENTS,
        )
    return Callback(fn, inspect.iscoroutinefunction(fn), validator)


@dataclass(slots=True)
class NamespaceState:
    name: str
    active: bool = True  # wants to be connected (False after a server or client disconnect)
    connected: bool = False
    sid: str | None = None
    pid: str | None = None
    offset: str | None = None
    recovered: bool = False
    buffer: list[tuple[list[str | bytes], int | None]] = field(default_factory=list)
    received: list[tuple[list[Any], int | None]] = field(default_factory=list)
    acks: dict[int, asyncio.Future[list[Any]]] = field(default_factory=dict)
    next_id: int = 0
    waiter: asyncio.Future[None] | None = None
