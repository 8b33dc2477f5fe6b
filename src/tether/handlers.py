"""User callables, inspected once when registered: sync or coroutine, and how to call them.

Nothing here inspects a handler per event: :func:`wrap` decides at registration time.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeGuard, TypeVar

from tether.typed import validation
from tether.typed.signature import SignatureError, UnresolvedAnnotations, event_signature
from tether.typed.validation import Validator, build

log = logging.getLogger("tether")

#: A decorated handler or middleware: the decorators give it back with its own type.
F = TypeVar("F", bound=Callable[..., Any])

#: Events a server emits to itself, about the socket: ``connection`` handlers get
#: ``(socket)``, ``disconnect``/``disconnecting`` ones ``(socket, reason)``, ``error`` ones
#: ``(socket, exception)``. Their arity is checked at registration; nothing is validated.
#: (The number is how many arguments follow the socket; ``None``: not checked.)
LIFECYCLE_EVENTS: dict[str, int | None] = {
    "connection": 0,
    "connect": 0,
    "disconnect": 1,
    "disconnecting": 1,
    "error": None,
}

#: The running loop of this thread, or ``None`` (without raising, unlike get_running_loop).
_running_loop = asyncio.events._get_running_loop

#: Strong references to running handler tasks (asyncio only keeps weak ones).
_tasks: set[asyncio.Task[Any]] = set()


class Handler:
    """A registered callable, whether it is a coroutine function, and the validator its
    annotations call for (``None`` for an unannotated handler: it is called as it is)."""

    __slots__ = ("func", "is_async", "validator")

    def __init__(self, func: Callable[..., Any], validator: Validator | None = None) -> None:
        self.func = func
        self.is_async = inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
            getattr(func, "__call__", None)  # noqa: B004 - callable objects with async __call__
        )
        self.validator = validator

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Handler) and other.func == self.func

    def __hash__(self) -> int:
        return hash(self.func)


def event_handler(func: Callable[..., Any], event: str, *, receives_socket: bool) -> Handler:
    """The :class:`Handler` of ``event`` on the server, read once: a signature that cannot
    receive events raises :class:`~tether.typed.signature.SignatureError` (a ``TypeError``)
    now, and annotations get their validator (see :mod:`tether.typed.validation`), except
    for the :data:`LIFECYCLE_EVENTS`, whose arity only is checked."""
    validator = read_handler(
        func,
        event,
        receives_socket=receives_socket,
        validate=event not in LIFECYCLE_EVENTS,
        arity=LIFECYCLE_EVENTS.get(event),
    )
    return Handler(func, validator)


def read_handler(
    func: Callable[..., Any],
    event: str,
    *,
    receives_socket: bool,
    validate: bool,
    arity: int | None = None,
) -> Validator | None:
    """Check that ``func`` can receive ``event`` (and exactly ``arity`` arguments after the
    socket, when given) and return the validator of its annotations when ``validate``.

    Annotations that cannot be resolved (names imported under ``TYPE_CHECKING``) raise
    :class:`~tether.typed.signature.UnresolvedAnnotations` only when they would be enforced
    (``validate``, with pydantic installed); otherwise the arity is read without them.
    """
    try:
        sig = event_signature(func, receives_socket=receives_socket)
    except UnresolvedAnnotations:
        if validate and validation.available():
            raise
        sig = event_signature(func, receives_socket=receives_socket, resolve=False)
        if validate:
            validation.not_enforced()
        validate = False
    if arity is not None and not sig.accepts(arity):
        name = getattr(func, "__qualname__", None) or repr(func)
        parts = (["the socket"] if receives_socket else []) + (["one argument"] if arity else [])
        given = " and ".join(parts) or "no argument"
        raise SignatureError(f"{name}: a {event!r} handler is called with {given} only")
    return build(sig, offset=1 if receives_socket else 0) if validate else None


def spawn(awaitable: Awaitable[Any], what: str) -> asyncio.Task[Any]:
    """Run a coroutine as a task, keep it referenced, log what it raises."""

    async def guarded() -> Any:
        try:
            return await awaitable
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("error in %s", what)
            return None

    task = asyncio.get_running_loop().create_task(guarded())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


def off_loop(loop: asyncio.AbstractEventLoop | None) -> TypeGuard[asyncio.AbstractEventLoop]:
    """Thread safety of the server-side API: whether the caller is outside the thread running
    ``loop`` (a Flask view, a worker thread), so that it must hand its call to the loop
    (``loop.call_soon_threadsafe``) instead of doing it.

    ``loop`` is the server's loop, ``None`` before it started (nothing to race with).
    """
    # The common case first, in one C call: the caller runs in the server's loop.
    return loop is not None and _running_loop() is not loop and loop.is_running()


def check_loop(loop: asyncio.AbstractEventLoop | None, what: str) -> None:
    """Raise a clear error when a coroutine of the server-side API (one that waits for an
    answer) is awaited in another loop than the server's."""
    if loop is None or not loop.is_running():
        return
    if _running_loop() is not loop:
        raise RuntimeError(
            f"{what} must be awaited in the server's event loop; from another thread use "
            "asyncio.run_coroutine_threadsafe(coro, loop)"
        )


def ack_args(result: Any) -> list[Any]:
    """The ACK arguments of a handler's return value: none for ``None``, a tuple's items,
    else the value itself."""
    if result is None:
        return []
    if type(result) is tuple:
        return list(result)
    return [result]


def ack_value(args: list[Any]) -> Any:
    """What ``emit_with_ack`` returns for the arguments of an ACK: ``None`` for none, the
    argument for one, a tuple for several."""
    if not args:
        return None
    if len(args) == 1:
        return args[0]
    return tuple(args)
