"""Engine.IO v4 packets and payloads (protocol spec, "Packet encoding" and "Payload")."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tether.eio.errors import ParseError
from tether.eio.packet import (
    SEPARATOR,
    Packet,
    PacketType,
    decode_payload,
    decode_text,
    encode_payload,
    encode_payload_part,
    encode_text,
    split_payload,
)


@pytest.mark.parametrize(
    ("packet_type", "data", "encoded"),
    [
        (PacketType.OPEN, '{"sid":"x"}', '0{"sid":"x"}'),
        (PacketType.CLOSE, "", "1"),
        (PacketType.PING, "probe", "2probe"),
        (PacketType.PONG, "probe", "3probe"),
        (PacketType.MESSAGE, "hello é", "4hello é"),
        (PacketType.UPGRADE, "", "5"),
        (PacketType.NOOP, "", "6"),
    ],
)
def test_text_packets_round_trip(packet_type: PacketType, data: str, encoded: str) -> None:
    assert encode_text(packet_type, data) == encoded
    assert decode_text(encoded) == Packet(packet_type, data)


@pytest.mark.parametrize("bad", ["", "7", "9x", "a", "b", "-1", " 4"])
def test_decode_text_rejects_unknown_types(bad: str) -> None:
    with pytest.raises(ParseError):
        decode_text(bad)


def test_payload_example_from_the_spec() -> None:
    # "4hello\x1e4€" and a binary part "bAQIDBA==" (bytes 1..4)
    payload = "4hello" + SEPARATOR + "4€" + SEPARATOR + "bAQIDBA=="
    assert split_payload(payload) == ["4hello", "4€", b"\x01\x02\x03\x04"]
    assert decode_payload(payload) == [
        Packet(PacketType.MESSAGE, "hello"),
        Packet(PacketType.MESSAGE, "€"),
        Packet(PacketType.MESSAGE, b"\x01\x02\x03\x04"),
    ]
    assert encode_payload(["4hello", "4€", b"\x01\x02\x03\x04"]) == payload


def test_encode_payload_part() -> None:
    assert encode_payload_part("4x") == "4x"
    assert encode_payload_part(b"") == "b"
    assert encode_payload_part(b"\xff") == "b/w=="


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "4a" + SEPARATOR,
        SEPARATOR + "4a",
        "4a" + SEPARATOR + SEPARATOR + "4b",
        "b!!!",
        "bAQ=",
        "x",
        "bé",
    ],
)
def test_malformed_payloads_are_refused_whole(bad: str) -> None:
    with pytest.raises(ParseError):
        split_payload(bad)


def test_empty_binary_part_is_an_empty_message() -> None:
    assert split_payload("b") == [b""]


messages = st.one_of(
    st.text().map(lambda s: "4" + s.replace(SEPARATOR, "")),
    st.binary(max_size=300),
)


@given(st.lists(messages, min_size=1, max_size=20))
def test_payload_round_trip(parts: list[str | bytes]) -> None:
    assert split_payload(encode_payload(parts)) == parts


@given(st.text(max_size=200))
def test_split_payload_never_fails_otherwise(text: str) -> None:
    try:
        parts = split_payload(text)
    except ParseError:
        return
    for part in parts:
        if isinstance(part, str):
            assert decode_text(part).type in PacketType


@given(st.binary(max_size=200))
def test_base64_parts_decode_exactly(data: bytes) -> None:
    assert split_payload("b" + base64.b64encode(data).decode()) == [data]
