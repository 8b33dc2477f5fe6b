"""What the server and the client share: python-socketio's ``data`` argument, handlers
called sync or async, and what they need of a class-based namespace."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from functools import partial
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


#: Events a catch-all (``"*"``) handler never receives.
RESERVED = frozenset({"connect", "connect_error", "disconnect"})


def find_handler(
    handlers: Mapping[str, Mapping[str, Any]],
    namespace_handlers: Mapping[str, NamespaceHandler],
    event: str,
    namespace: str,
    args: tuple[Any, ...],
) -> tuple[Any, tuple[Any, ...]]:
    """The handler of ``event`` and its arguments, in python-socketio's order: the
    namespace's handler, its catch-all, the ``'*'`` namespace's, its catch-all, a
    class-based namespace (the namespace's, then ``'*'``); ``(None, args)`` if none."""
    table = handlers.get(namespace)
    if table is not None:
        if event in table:
            return table[event], args
        if event not in RESERVED and "*" in table:
            return table["*"], (event, *args)
    table = handlers.get("*")
    if table is not None:
        if event in table:
            return table[event], (namespace, *args)
        if event not in RESERVED and "*" in table:
            return table["*"], (event, namespace, *args)
    ns_handler = namespace_handlers.get(namespace)
    if ns_handler is not None:
        return partial(ns_handler.trigger_event, event), args
    ns_handler = namespace_handlers.get("*")
    if ns_handler is not None:
        return partial(ns_handler.trigger_event, event), (namespace, *args)
    return None, args
