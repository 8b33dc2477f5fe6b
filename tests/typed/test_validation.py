"""tether.typed.validation: the arguments converted and the acknowledgement serialized from a
handler's annotations (pydantic), without a server (tests/typed/test_dispatch.py has one)."""

from __future__ import annotations

import dataclasses
import datetime
import enum
from typing import Any, Literal

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from tether.typed.signature import SignatureError, event_signature
from tether.typed.validation import InvalidPayload, Validator, build


class Author(BaseModel):
    name: str
    id: int


class Message(BaseModel):
    text: str
    author: Author
    tags: list[str] = []


class Blob(BaseModel):
    name: str
    data: bytes


@dataclasses.dataclass
class Point:
    x: float
    y: float


class Move(TypedDict):
    to: Point
    speed: int


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Stamp(BaseModel):
    at: datetime.datetime


class Opaque:
    """Neither a pydantic type nor one it knows."""


def validator(func: Any, *, socket: bool = True) -> Validator:
    built = build(event_signature(func, receives_socket=socket), offset=1 if socket else 0)
    assert built is not None
    return built


def invalid(v: Validator, args: list[Any]) -> list[dict[str, Any]]:
    with pytest.raises(InvalidPayload) as caught:
        v.arguments(args)
    return caught.value.details


def test_nothing_to_enforce_builds_no_validator() -> None:
    def bare(socket, *args):  # type: ignore[no-untyped-def]
        return args

    def free(socket: Any, x: Any, y: object, *rest: Any) -> tuple[Any, ...]:
        return rest

    def returns_none(socket: Any, x: Any) -> None:
        pass

    for func in (bare, free, returns_none):
        assert build(event_signature(func, receives_socket=True), offset=1) is None


def test_models_nested_are_converted_and_the_socket_passes() -> None:
    def chat(socket: Any, msg: Message, count: int = 1) -> None:
        pass

    v = validator(chat)
    socket = object()
    args = v.arguments([socket, {"text": "hi", "author": {"name": "ann", "id": "7"}}])
    assert args[0] is socket
    assert args[1] == Message(text="hi", author=Author(name="ann", id=7))
    assert v.arguments([socket, {"text": "a", "author": {"name": "b", "id": 1}}, 3])[2] == 3


def test_dataclass_typeddict_enum_literal_union() -> None:
    def move(m: Move, color: Color, mode: Literal["walk", "run"], n: int | str) -> None:
        pass

    v = validator(move, socket=False)
    args = v.arguments([{"to": {"x": 1, "y": 2.5}, "speed": 3}, "red", "run", "x"])
    assert args == [{"to": Point(1.0, 2.5), "speed": 3}, Color.RED, "run", "x"]
    assert isinstance(args[0]["to"], Point)
    details = invalid(v, [{"to": {"x": 1}, "speed": 3}, "green", "fly", None])
    assert [(d["loc"], d["type"]) for d in details] == [
        ([0, "to", "y"], "missing"),
        ([1], "enum"),
        ([2], "literal_error"),
        ([3, "int"], "int_type"),
        ([3, "str"], "string_type"),
    ]


def test_details_never_echo_the_input() -> None:
    def chat(socket: Any, msg: Message) -> None:
        pass

    details = invalid(validator(chat), [None, {"text": "s3cret-value", "author": "nope"}])
    assert details == [
        {
            "loc": [0, "author"],
            "msg": details[0]["msg"],
            "type": "model_type",
        }
    ]
    assert "s3cret" not in repr(details) and "nope" not in repr(details)


def test_arity_missing_and_extra_arguments() -> None:
    def add(socket: Any, a: int, b: int = 0) -> int:
        return a + b

    v = validator(add)
    assert invalid(v, [None]) == [
        {"loc": [], "msg": "expected 1 to 2 arguments, got 0", "type": "arguments"}
    ]
    assert invalid(v, [None, 1, 2, 3])[0]["msg"] == "expected 1 to 2 arguments, got 3"

    def one(x: int) -> None:
        pass

    assert invalid(validator(one, socket=False), [])[0]["msg"] == "expected 1 argument, got 0"


def test_variadic_arguments() -> None:
    def tags(socket: Any, first: int, *rest: str) -> None:
        pass

    v = validator(tags)
    assert v.arguments([None, "1", "a", "b"]) == [None, 1, "a", "b"]
    assert [d["loc"] for d in invalid(v, [None, "x", "a", 2])] == [[0], [2]]
    assert invalid(v, [None])[0]["msg"] == "expected at least 1 argument, got 0"


def test_unannotated_and_any_parameters_pass_the_same_object() -> None:
    def mixed(socket: Any, raw: Any, plain, n: int) -> None:  # type: ignore[no-untyped-def]
        pass

    payload = {"deep": [1, 2]}
    other = ["x"]
    args = validator(mixed).arguments([None, payload, other, "5"])
    assert args[1] is payload and args[2] is other and args[3] == 5


def test_bytes_parameters_and_models_with_bytes() -> None:
    def upload(socket: Any, blob: Blob, raw: bytes) -> Blob:
        return blob

    v = validator(upload)
    args = v.arguments([None, {"name": "f", "data": b"\x00\xff"}, b"\x01"])
    assert args[1] == Blob(name="f", data=b"\x00\xff") and args[2] == b"\x01"
    # Binary stays binary in the acknowledgement (JSON mode would make it text).
    assert v.result(Blob(name="f", data=b"\x00\xff")) == {"name": "f", "data": b"\x00\xff"}

    def raw(socket: Any) -> bytes:
        return b""

    assert validator(raw).result(b"\xfe") == b"\xfe"


def test_return_serialization() -> None:
    def chat(socket: Any) -> Message:
        raise NotImplementedError

    sent = validator(chat).result(Message(text="t", author=Author(name="a", id=1)))
    assert sent == {"text": "t", "author": {"name": "a", "id": 1}, "tags": []}

    def stamp(socket: Any) -> Stamp:
        raise NotImplementedError

    at = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert validator(stamp).result(Stamp(at=at)) == {"at": "2026-01-02T03:04:05Z"}

    def several(socket: Any) -> tuple[Point, Color]:
        raise NotImplementedError

    # A returned tuple is several ack arguments: it stays a tuple.
    assert validator(several).result((Point(1, 2), Color.BLUE)) == ({"x": 1, "y": 2}, "blue")

    def mixed(socket: Any) -> dict[str, Any]:
        raise NotImplementedError

    assert validator(mixed).result({"b": b"\x00", "c": Color.RED, "t": (1,)}) == {
        "b": b"\x00",
        "c": "red",
        "t": [1],
    }


def test_a_return_value_that_does_not_match_raises() -> None:
    def chat(socket: Any) -> Message:
        raise NotImplementedError

    with pytest.raises(Exception, match="Expected `Message`"):
        validator(chat).result({"text": 1})


def test_an_annotation_pydantic_cannot_validate_is_refused() -> None:
    def handler(socket: Any, thing: Opaque) -> None:
        pass

    with pytest.raises(SignatureError, match="cannot validate"):
        build(event_signature(handler, receives_socket=True), offset=1)
