"""tether.typed.signature: the payload and the acknowledgement read from a handler."""

from __future__ import annotations

import functools
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import pytest

from tether.typed.signature import (
    UNANNOTATED,
    SignatureError,
    UnresolvedAnnotations,
    event_signature,
)


@dataclass
class Chat:
    text: str


class FakeSocket:
    pass


def test_server_handler_skips_the_socket() -> None:
    async def chat(socket: FakeSocket, msg: Chat, count: int = 1) -> str:
        return msg.text

    sig = event_signature(chat, receives_socket=True)
    assert [p.name for p in sig.params] == ["msg", "count"]
    assert [p.annotation for p in sig.params] == [Chat, int]
    assert [p.required for p in sig.params] == [True, False]
    assert (sig.min_args, sig.max_args) == (1, 2)
    assert sig.returns is str
    assert sig.ack == (str,)
    assert sig.annotated
    assert sig.accepts(1) and sig.accepts(2)
    assert not sig.accepts(0) and not sig.accepts(3)


def test_client_handler_has_no_socket() -> None:
    def tick(n: int) -> None:
        pass

    sig = event_signature(tick, receives_socket=False)
    assert [p.annotation for p in sig.params] == [int]
    assert sig.returns is None
    assert sig.ack == ()


def test_unannotated_handler() -> None:
    def echo(socket, *args):  # type: ignore[no-untyped-def]
        return args

    sig = event_signature(echo, receives_socket=True)
    assert not sig.annotated
    assert sig.ack is None
    assert sig.params[0].variadic and sig.params[0].annotation is UNANNOTATED
    assert (sig.min_args, sig.max_args) == (0, None)
    assert sig.accepts(7)


def test_tuple_return_is_several_ack_arguments() -> None:
    def add(socket: Any, a: int, b: int) -> tuple[int, str]:
        return a + b, "ok"

    assert event_signature(add, receives_socket=True).ack == (int, str)

    def many(socket: Any) -> tuple[int, ...]:
        return (1, 2)

    assert event_signature(many, receives_socket=True).ack == (tuple[int, ...],)


def test_awaitable_return_is_unwrapped() -> None:
    def later(socket: Any) -> Awaitable[int]:
        raise NotImplementedError

    assert event_signature(later, receives_socket=True).returns is int


def test_callable_object_partial_and_method() -> None:
    class Handler:
        def __call__(self, socket: Any, x: int) -> int:
            return x

        def method(self, socket: Any, y: str) -> None:
            pass

    assert [p.name for p in event_signature(Handler(), receives_socket=True).params] == ["x"]
    assert [p.name for p in event_signature(Handler().method, receives_socket=True).params] == ["y"]

    def base(prefix: str, socket: Any, value: int) -> str:
        return prefix

    sig = event_signature(functools.partial(base, "p"), receives_socket=True)
    assert [(p.name, p.annotation) for p in sig.params] == [("value", int)]


def test_refusals_at_registration() -> None:
    def nothing() -> None:
        pass

    with pytest.raises(SignatureError, match="socket as its first parameter"):
        event_signature(nothing, receives_socket=True)

    def keyword(socket: Any, *, flag: bool) -> None:
        pass

    with pytest.raises(SignatureError, match="keyword-only parameter 'flag'"):
        event_signature(keyword, receives_socket=True)

    def unresolved(socket: Any, x: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
        pass

    with pytest.raises(SignatureError, match="cannot resolve"):
        event_signature(unresolved, receives_socket=True)


def test_variadic_socket_only() -> None:
    def anything(*args: Any) -> None:
        pass

    sig = event_signature(anything, receives_socket=True)
    assert sig.max_args is None and sig.params[0].variadic


def test_only_the_payload_and_return_annotations_must_resolve() -> None:
    # The socket's annotation may name what is imported under TYPE_CHECKING.
    def handler(socket: NotImported, x: int) -> str:  # type: ignore[name-defined]  # noqa: F821
        return ""

    sig = event_signature(handler, receives_socket=True)
    assert [(p.name, p.annotation) for p in sig.params] == [("x", int)] and sig.returns is str

    def payload(socket: Any, x: NotImported) -> None:  # type: ignore[name-defined]  # noqa: F821
        pass

    with pytest.raises(UnresolvedAnnotations, match="annotations of x: NameError"):
        event_signature(payload, receives_socket=True)
    sig = event_signature(payload, receives_socket=True, resolve=False)
    assert sig.params[0].annotation is UNANNOTATED and sig.returns is UNANNOTATED
