"""What the server and the client share: python-socketio's ``data`` argument, handlers
called sync or async, and what they need of a class-based namespace."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol


class NamespaceHandler(Protocol):
    """A class-based namespace (``AsyncNamespace``, ``AsyncClientNamespace``)."""

    namespace: str

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Run the handler of ``event``."""


def event_args(data: Any) -> list[Any]:
    """python-socketio's ``data``: a tuple is several arguments, ``None`` none, else one."""
    if isinstance(data, tuple):
        return list(data)
    return [] if data is None else [data]


def positional_count(func: Callable[..., Any]) -> int:
    """How many positional arguments ``func`` takes (a large number for ``*args``)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 99
    count = 0
    for param in params:
        if param.kind is param.VAR_POSITIONAL:
            return 99
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


async def call(func: Callable[..., Any], *args: Any) -> Any:
    """Call a handler, sync or async."""
    result = func(*args)
    if inspect.isawaitable(result):
        result = await result
    return result
