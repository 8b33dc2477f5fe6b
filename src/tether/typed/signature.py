"""What a handler's signature says about an event, read once when the handler is registered.

A server-side handler receives the socket first (``handler(socket, *payload)``); a client-side
one (``tether.Client.on``) and a socket's own listener (``socket.on``) receive the payload
only. Everything after that is the event's payload: one parameter per argument the client
sends. The return annotation is the acknowledgement: ``None`` for none, ``tuple[A, B]`` for
several arguments (as a returned tuple is sent), any other type for one.

Nothing here validates anything: :mod:`tether.typed.validation` builds validators from these
signatures, and the contract tools (``tether typegen``, ``tether asyncapi``) describe them.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The annotation of a parameter or return value that has none.
UNANNOTATED: Any = inspect.Parameter.empty

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class SignatureError(TypeError):
    """A handler whose signature cannot receive what the event delivers (raised when it is
    registered, not when the first event arrives)."""


class UnresolvedAnnotations(SignatureError):
    """A handler's annotations name something that cannot be found at registration (a name
    imported under ``TYPE_CHECKING`` or local to a function, with ``from __future__ import
    annotations``)."""


@dataclass(frozen=True, slots=True)
class Param:
    """One payload parameter of a handler."""

    name: str
    #: The resolved annotation, or :data:`UNANNOTATED`.
    annotation: Any
    #: Whether the client must send this argument (no default value).
    required: bool
    #: Whether this is ``*args`` (then it takes every remaining argument, each of
    #: ``annotation``).
    variadic: bool = False


@dataclass(frozen=True, slots=True)
class EventSignature:
    """The payload a handler accepts and the acknowledgement it returns."""

    #: The payload parameters, in order (the socket parameter of a server handler excluded).
    params: tuple[Param, ...]
    #: The return annotation, unwrapped from ``Awaitable``/``Coroutine``; :data:`UNANNOTATED`
    #: when there is none.
    returns: Any
    #: The fewest payload arguments the handler accepts.
    min_args: int
    #: The most payload arguments it accepts; ``None`` with ``*args``.
    max_args: int | None

    @property
    def annotated(self) -> bool:
        """Whether any payload parameter or the return value has an annotation."""
        return self.returns is not UNANNOTATED or any(
            p.annotation is not UNANNOTATED for p in self.params
        )

    @property
    def ack(self) -> tuple[Any, ...] | None:
        """The acknowledgement's argument types: ``None`` when unannotated, ``()`` for a
        handler annotated ``-> None``, the items of a ``tuple[...]`` return, else one type."""
        returns = self.returns
        if returns is UNANNOTATED:
            return None
        if returns is None or returns is type(None):
            return ()
        if typing.get_origin(returns) is tuple:
            items = typing.get_args(returns)
            if len(items) == 2 and items[1] is Ellipsis:
                return (returns,)  # tuple[X, ...]: one argument of any length is ambiguous
            return items
        return (returns,)

    def accepts(self, count: int) -> bool:
        """Whether the handler can be called with ``count`` payload arguments."""
        return self.min_args <= count and (self.max_args is None or count <= self.max_args)


def event_signature(
    func: Callable[..., Any], *, receives_socket: bool, resolve: bool = True
) -> EventSignature:
    """Read the payload and acknowledgement of ``func``.

    ``receives_socket``: the handler's first positional parameter is the socket (a server
    handler registered with ``io.on`` or ``namespace.on``); it is not part of the payload.
    ``resolve``: read the annotations (``False``: the parameters only, all unannotated).

    Raises :class:`SignatureError` when ``func`` cannot be called the way events call it
    (no parameter for the socket, keyword-only parameters without defaults), and
    :class:`UnresolvedAnnotations` when its annotations cannot be resolved.
    """
    target = _unwrap(func)
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        # A builtin without a signature: accept anything, annotate nothing.
        return EventSignature((), UNANNOTATED, 0, None)
    hints = _hints(target) if resolve else {}
    unresolved = hints.pop(_UNRESOLVED, None)
    params: list[Param] = []
    skip_socket = receives_socket
    max_args: int | None = 0
    for parameter in signature.parameters.values():
        kind = parameter.kind
        if kind in _POSITIONAL:
            if skip_socket:
                skip_socket = False
                continue  # its annotation may name what is imported under TYPE_CHECKING
            params.append(
                Param(
                    parameter.name,
                    hints.get(parameter.name, UNANNOTATED),
                    parameter.default is inspect.Parameter.empty,
                )
            )
            if max_args is not None:
                max_args += 1
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            skip_socket = False
            params.append(
                Param(parameter.name, hints.get(parameter.name, UNANNOTATED), False, True)
            )
            max_args = None
        elif (
            kind is inspect.Parameter.KEYWORD_ONLY and parameter.default is inspect.Parameter.empty
        ):
            raise SignatureError(
                f"{_name(func)}: keyword-only parameter {parameter.name!r} needs a default "
                "(events pass their arguments by position)"
            )
    if skip_socket:
        raise SignatureError(f"{_name(func)} must accept the socket as its first parameter")
    if unresolved is not None:
        needed = [p.name for p in params if p.name in unresolved]
        if "return" in unresolved:
            needed.append("return")
        if needed:
            raise UnresolvedAnnotations(
                f"{_name(func)}: cannot resolve the annotations of {', '.join(needed)}: "
                f"{unresolved[needed[0]]}"
            )
    min_args = 0
    for param in params:
        if param.required and not param.variadic:
            min_args += 1
    return EventSignature(tuple(params), _returns(hints), min_args, max_args)


def _unwrap(func: Callable[..., Any]) -> Callable[..., Any]:
    if isinstance(func, functools.partial):
        return func  # inspect.signature understands partials; their hints are the wrapped ones
    if not inspect.isfunction(func) and not inspect.ismethod(func):
        call = getattr(type(func), "__call__", None)  # noqa: B004 - callable objects
        if call is not None and not isinstance(func, type):
            bound: Callable[..., Any] = getattr(func, "__call__")  # noqa: B004, B009
            return bound
    return func


#: The key under which :func:`_hints` lists what it could not resolve (name -> error).
_UNRESOLVED = "<unresolved>"


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    target: Any = func.func if isinstance(func, functools.partial) else func
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:
        pass
    # One at a time: those that resolve, and what the others failed with.
    inner: Any = inspect.unwrap(target)
    inner = getattr(inner, "__func__", inner)
    annotations = getattr(inner, "__annotations__", None) or {}
    namespace = getattr(inner, "__globals__", {})
    hints: dict[str, Any] = {}
    unresolved: dict[str, str] = {}
    for name, annotation in annotations.items():
        probe = types.SimpleNamespace(__annotations__={name: annotation}, __globals__=namespace)
        try:
            hints.update(typing.get_type_hints(probe, include_extras=True))
        except Exception as exc:
            unresolved[name] = f"{type(exc).__name__}: {exc}"
    if unresolved:
        hints[_UNRESOLVED] = unresolved
    return hints


def _returns(hints: dict[str, Any]) -> Any:
    if "return" not in hints:
        return UNANNOTATED
    returns = hints["return"]
    origin = typing.get_origin(returns)
    if origin is not None and origin in _AWAITABLES:
        args = typing.get_args(returns)
        return args[-1] if args else UNANNOTATED
    if returns is type(None):
        return None
    return returns


_AWAITABLES = {
    typing.get_origin(typing.Awaitable[int]),
    typing.get_origin(typing.Coroutine[Any, Any, int]),
    types.CoroutineType,
}


def _name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or repr(func)
