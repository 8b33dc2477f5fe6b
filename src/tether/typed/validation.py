"""Validation of event payloads and serialization of acknowledgements, from a handler's
annotations (pydantic v2, the optional extra ``tether[typed]``).

:func:`build` reads an :class:`~tether.typed.signature.EventSignature` once, when the handler
is registered, and returns a :class:`Validator`, or ``None`` when there is nothing to enforce
(no annotation but ``Any``, ``object`` or ``-> None``) or pydantic is not installed (then the
annotations are documentation only, and a warning says so once). Per event, the arguments
are converted by one ``TypeAdapter.validate_python`` call over a tuple type built at
registration; the return value is serialized by its annotation's adapter.

The error objects a client gets in its acknowledgement (with ``ack_errors``, the default)::

    {"error": "invalid_payload", "event": "chat", "details": [{"loc": [0, "text"],
     "msg": "Field required", "type": "missing"}]}
    {"error": "handler_error", "event": "chat"}

``loc`` starts with the index of the argument; the input is never echoed back. A wrong
number of arguments gives one detail with ``"type": "arguments"`` and an empty ``loc``.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from tether.errors import InvalidAckError
from tether.typed.signature import UNANNOTATED, EventSignature, SignatureError

log = logging.getLogger("tether")

T = TypeVar("T")


def _free(annotation: Any) -> bool:
    """Whether an annotation enforces nothing (the argument is passed as it came)."""
    return annotation is UNANNOTATED or annotation is Any or annotation is object


#: ``-> tuple[Any, ...]`` (an echo's arguments back): nothing to serialize either.
_ANY_TUPLE: Any = tuple[Any, ...]

_warned = False
_available: bool | None = None


class InvalidPayload(Exception):
    """An event's arguments do not match the handler's annotations."""

    def __init__(self, details: list[dict[str, Any]]) -> None:
        super().__init__(details)
        #: ``[{"loc": [...], "msg": ..., "type": ...}, ...]``
        self.details = details


def invalid_payload(event: str, details: list[dict[str, Any]]) -> dict[str, Any]:
    """The acknowledgement answering an event whose payload is invalid."""
    return {"error": "invalid_payload", "event": event, "details": details}


def handler_error(event: str) -> dict[str, Any]:
    """The acknowledgement answering an event whose handler raised (no exception text: it
    stays in the server's log)."""
    return {"error": "handler_error", "event": event}


class Validator:
    """Converts an event's arguments and serializes the acknowledgement of one handler.

    Built by :func:`build`; ``offset`` leading arguments (the socket of a server handler)
    are passed through untouched.
    """

    __slots__ = (
        "_fixed",
        "_fixed_count",
        "_multi",
        "_rest",
        "_serialize",
        "offset",
        "signature",
    )

    def __init__(
        self,
        signature: EventSignature,
        offset: int,
        fixed_count: int,
        fixed: dict[int, Any],
        rest: Any,
        serialize: Callable[[Any], Any] | None,
    ) -> None:
        self.signature = signature
        self.offset = offset
        #: How many parameters before ``*args`` (or in all, without).
        self._fixed_count = fixed_count
        #: How many of them an event fills -> the TypeAdapter of their tuple (none when
        #: no parameter is checked).
        self._fixed = fixed
        self._rest = rest  # the TypeAdapter of list[V] for an annotated *args, else None
        self._serialize = serialize
        # A returned tuple is sent as several arguments: keep it one once serialized.
        self._multi = typing.get_origin(signature.returns) is tuple

    def arguments(self, args: list[Any]) -> list[Any]:
        """The converted arguments (the first ``offset`` unchanged); raises
        :class:`InvalidPayload`."""
        offset = self.offset
        sig = self.signature
        count = len(args) - offset
        if count < sig.min_args or (sig.max_args is not None and count > sig.max_args):
            raise InvalidPayload([_arity_detail(sig, count)])
        fixed_count = self._fixed_count
        used = min(count, fixed_count)
        adapter = self._fixed.get(used)
        rest = self._rest
        if adapter is None and (rest is None or count <= fixed_count):
            return args
        errors: list[dict[str, Any]] = []
        head = args[offset : offset + used]
        if adapter is not None:
            try:
                head = list(adapter.validate_python(head))
            except _validation_error() as exc:
                errors.extend(_details(exc, 0))
        tail = args[offset + used :]
        if rest is not None and tail:
            try:
                tail = rest.validate_python(tail)
            except _validation_error() as exc:
                errors.extend(_details(exc, used))
        if errors:
            raise InvalidPayload(errors)
        return [*args[:offset], *head, *tail]

    def result(self, value: Any) -> Any:
        """The handler's return value as sent: serialized by the return annotation (models
        and dataclasses become dicts, ``bytes`` stay bytes). Raises when it does not match."""
        serialize = self._serialize
        if serialize is None:
            return value
        dumped = serialize(value)
        if self._multi and type(dumped) is list:
            return tuple(dumped)
        return dumped


def build(sig: EventSignature, *, offset: int = 0) -> Validator | None:
    """The validator of a handler with this signature, or ``None`` when there is nothing to
    enforce or pydantic is not installed.

    ``offset``: leading call arguments that are not the payload (1 for a server handler's
    socket). Raises :class:`~tether.typed.signature.SignatureError` when pydantic cannot
    validate an annotation.
    """
    params = [p for p in sig.params if not p.variadic]
    variadic = next((p for p in sig.params if p.variadic), None)
    checked_params = any(not _free(p.annotation) for p in sig.params)
    returns = sig.returns
    checked_return = not _free(returns) and returns is not None and returns != _ANY_TUPLE
    if not checked_params and not checked_return:
        return None
    if not available():
        not_enforced()
        return None
    from pydantic import TypeAdapter

    try:
        fixed: dict[int, Any] = {}
        if any(not _free(p.annotation) for p in params):
            for count in range(sig.min_args, len(params) + 1):
                items = tuple(_annotation(p.annotation) for p in params[:count])
                if items:
                    fixed[count] = TypeAdapter(tuple[items])  # type: ignore[valid-type]
        rest = None
        if variadic is not None and not _free(variadic.annotation):
            rest = TypeAdapter(list[variadic.annotation])  # type: ignore[name-defined]
        serialize = _serializer(TypeAdapter, returns) if checked_return else None
    except Exception as exc:
        if isinstance(exc, SignatureError):
            raise
        raise SignatureError(f"cannot validate the annotations of a handler: {exc}") from exc
    return Validator(sig, offset, len(params), fixed, rest, serialize)


def available() -> bool:
    """Whether pydantic can be imported (annotations are enforced)."""
    global _available
    if _available is None:
        try:
            import pydantic  # noqa: F401
        except ImportError:
            _available = False
        else:
            _available = True
    return _available


def not_enforced() -> None:
    """Say once that handlers' annotations are not enforced (pydantic is not installed)."""
    global _warned
    if not _warned:
        _warned = True
        log.warning(
            "handler annotations are not enforced: pydantic is not installed "
            "(pip install 'tether[typed]')"
        )


#: The adapters of the ``result`` types asked of ``emit_with_ack`` (at most this many kept).
_ACK_ADAPTERS_MAX = 256
_ack_adapters: dict[Any, Any] = {}


def typed_ack(event: str, value: Any, result: type[T]) -> T:
    """Validate and convert an acknowledgement (as ``emit_with_ack`` returns it: ``None``, one
    value or a tuple) to the type ``result``; raises :class:`~tether.errors.InvalidAckError`
    when it does not match, and ``RuntimeError`` without pydantic."""
    adapter = _ack_adapters.get(result)
    if adapter is None:
        if not available():
            raise RuntimeError(
                "emit_with_ack(result=...) needs pydantic: pip install 'tether[typed]'"
            )
        from pydantic import TypeAdapter

        if len(_ack_adapters) >= _ACK_ADAPTERS_MAX:
            _ack_adapters.clear()
        adapter = _ack_adapters[result] = TypeAdapter(result)
    try:
        converted: T = adapter.validate_python(value)
    except _validation_error() as error:
        exc: Any = error
        raise InvalidAckError(
            event,
            value,
            [
                {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
                for error in exc.errors(
                    include_url=False, include_context=False, include_input=False
                )
            ],
        ) from None
    return converted


def _annotation(annotation: Any) -> Any:
    return Any if annotation is UNANNOTATED else annotation


def _serializer(adapter_type: Any, returns: Any) -> Callable[[Any], Any]:
    adapter = adapter_type(returns)
    if not _holds_bytes(adapter.core_schema):

        def as_json(value: Any) -> Any:
            return adapter.dump_python(value, mode="json", warnings="error")

        return as_json

    # JSON mode would turn bytes into text: dump in Python mode, then make the rest JSON.
    from pydantic_core import to_jsonable_python

    def jsonable(value: Any) -> Any:
        kind = type(value)
        if kind is dict:
            return {
                k if type(k) is str else str(to_jsonable_python(k)): jsonable(v)
                for k, v in value.items()
            }
        if kind is list or kind is tuple:
            return [jsonable(v) for v in value]
        if value is None or kind in (str, int, float, bool, bytes):
            return value
        if isinstance(value, bytearray | memoryview):
            return bytes(value)
        return to_jsonable_python(value)

    def keeping_bytes(value: Any) -> Any:
        return jsonable(adapter.dump_python(value, mode="python", warnings="error"))

    return keeping_bytes


def _holds_bytes(schema: Any) -> bool:
    """Whether a core schema may produce bytes (a ``bytes`` or an ``Any`` somewhere)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") in ("bytes", "any"):
                return True
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return False


def _validation_error() -> type[Exception]:
    from pydantic import ValidationError

    return ValidationError


def _details(exc: Any, start: int) -> list[dict[str, Any]]:
    return [
        {
            "loc": [error["loc"][0] + start, *error["loc"][1:]] if error["loc"] else [],
            "msg": error["msg"],
            "type": error["type"],
        }
        for error in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def _arity_detail(sig: EventSignature, count: int) -> dict[str, Any]:
    low, high = sig.min_args, sig.max_args
    if high is None:
        expected = f"at least {low}"
    elif low == high:
        expected = str(low)
    else:
        expected = f"{low} to {high}"
    plural = "" if (high if high is not None else low) == 1 else "s"
    return {
        "loc": [],
        "msg": f"expected {expected} argument{plural}, got {count}",
        "type": "arguments",
    }
