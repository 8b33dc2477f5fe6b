"""Placeholders: deconstruct() and reconstruct() on their own."""

from __future__ import annotations

import doctest
from typing import Any

import pytest

import tether.sio
from tether.sio import DecodeError, deconstruct, is_binary, reconstruct


def test_package_docstring_examples() -> None:
    assert doctest.testmod(tether.sio).failed == 0


@pytest.mark.parametrize(
    ("value", "binary"),
    [(b"", True), (bytearray(), True), (memoryview(b""), True), ("", False), ([b""], False)],
)
def test_is_binary(value: object, binary: bool) -> None:
    assert is_binary(value) is binary


def test_deconstruct_without_binary_copies_containers() -> None:
    data = {"a": (1, [2, {"b": None}])}
    payload, buffers = deconstruct(data)
    assert payload == {"a": [1, [2, {"b": None}]]}
    assert buffers == []
    assert payload is not data


def test_deconstruct_top_level_binary() -> None:
    assert deconstruct(b"x") == ({"_placeholder": True, "num": 0}, [b"x"])


def test_deconstruct_keeps_other_objects() -> None:
    marker = object()
    payload, buffers = deconstruct([marker, b"q"])
    assert payload[0] is marker
    assert buffers == [b"q"]


def test_reconstruct_scalars_and_top_level_placeholder() -> None:
    assert reconstruct(None, []) is None
    assert reconstruct("s", [b"x"]) == "s"
    assert reconstruct({"_placeholder": True, "num": 0}, [b"x"]) == b"x"
    assert reconstruct({"a": 1}, []) == {"a": 1}


def test_reconstruct_is_in_place() -> None:
    data: Any = {"a": [{"_placeholder": True, "num": 1}], "b": {"_placeholder": True, "num": 0}}
    inner = data["a"]
    assert reconstruct(data, [b"0", b"1"]) is data
    assert data == {"a": [b"1"], "b": b"0"}
    assert data["a"] is inner


def test_reconstruct_deep_nesting_without_recursion() -> None:
    data: Any = {"_placeholder": True, "num": 0}
    for _ in range(50_000):
        data = [{"k": data}]
    result = reconstruct(data, [b"end"])
    for _ in range(50_000):
        result = result[0]["k"]
    assert result == b"end"


def test_reconstruct_bad_num_at_top_level() -> None:
    with pytest.raises(DecodeError, match="got 3"):
        reconstruct({"_placeholder": True, "num": 3}, [b"x"])
    with pytest.raises(DecodeError, match=r"0\.\.-1, got str"):
        reconstruct({"_placeholder": True, "num": "0"}, [])


def test_round_trip() -> None:
    data = ["e", {"x": [b"1", bytearray(b"2")], "y": (memoryview(b"3"),)}]
    payload, buffers = deconstruct(data)
    assert reconstruct(payload, buffers) == ["e", {"x": [b"1", b"2"], "y": [b"3"]}]
