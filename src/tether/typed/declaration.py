"""Server→client events declared with their payload types (``io.declare("tick", Tick)``).

A declaration is metadata for the contract tools (``tether typegen``, ``tether asyncapi``):
nothing checks what is emitted against it, and emitting stays exactly as fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tether.sio import RESERVED_EVENTS


@dataclass(frozen=True, slots=True)
class Declaration:
    """An event the server sends, with the types of its arguments."""

    event: str
    #: The type of each argument, in order.
    args: tuple[Any, ...]
    #: The acknowledgement the server expects back: ``None`` for none, else the type of each
    #: of its arguments (``()``: an acknowledgement without arguments).
    ack: tuple[Any, ...] | None = None
    #: What the event means, for the generated documentation.
    doc: str | None = None


def declaration(
    event: str, arg_types: tuple[Any, ...], ack: Any = None, doc: str | None = None
) -> Declaration:
    """A :class:`Declaration`, checked: ``ack`` is ``None``, one type, or a tuple of types
    (one per argument of the acknowledgement)."""
    if not isinstance(event, str) or not event:
        raise ValueError("declare: the event name must be a non-empty string")
    if event in RESERVED_EVENTS:
        raise ValueError(f"declare: {event!r} is a reserved event name")
    acks: tuple[Any, ...] | None
    if ack is None:
        acks = None
    elif isinstance(ack, tuple):
        acks = ack
    else:
        acks = (ack,)
    return Declaration(event, tuple(arg_types), acks, doc)
