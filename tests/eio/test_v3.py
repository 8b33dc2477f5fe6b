"""Engine.IO v3 payloads, frames and session (tether.eio.v3), without I/O."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tether.eio import v3
from tether.eio.errors import ErrorCode, ParseError, RequestError
from tether.eio.handshake import RequestKind, route
from tether.eio.session import Beat, Control

TRANSPORTS = {"polling": False, "websocket": True}

# -- text payloads ---------------------------------------------------------------------------


def test_text_payload_counts_utf16_code_units() -> None:
    # "é" is one code unit, the emoji two (a surrogate pair in JavaScript), as String.length.
    assert v3.encode_payload_text(["4hello", "2"]) == "6:4hello1:2"
    assert v3.encode_payload_text(["4é"]) == "2:4é"
    assert v3.encode_payload_text(["4😀"]) == "3:4😀"
    assert v3.decode_payload_text("3:4😀1:2") == ["4😀", "2"]
    assert v3.decode_payload_text("2:4é6:4hello") == ["4é", "4hello"]


def test_text_payload_binary_is_b4_base64() -> None:
    assert v3.encode_payload_text([b"\x00\x01\x02"]) == "6:b4AAEC"
    assert v3.decode_payload_text("6:b4AAEC2:40") == [b"\x00\x01\x02", "40"]


def test_empty_packets_are_skipped() -> None:
    assert v3.decode_payload_text("0:1:2") == ["2"]
    assert v3.encode_payload_text([]) == "0:"  # Node's empty payload
    assert v3.decode_payload_text("0:") == []


@pytest.mark.parametrize(
    "payload",
    [
        "",  # empty
        "4hello",  # no length
        ":4",  # empty length
        "x:4",  # not a number
        "-1:4",
        "1.0:4",
        "\uff17:4hello",  # a non-ASCII digit (fullwidth 7)
        "12345678901:4",  # too many digits
        "7:4hello",  # past the end
        "6:4hello2",  # a dangling length
        "1:9",  # unknown type
        "3:b5A",  # base64 that is not a message
        "4:b4A",  # bad base64
        "2:4😀",  # the length splits a surrogate pair
        "3:4é",  # past the end (counted in UTF-16)
    ],
)
def test_malformed_text_payloads_are_refused(payload: str) -> None:
    with pytest.raises(ParseError):
        v3.decode_payload_text(payload)


# -- binary payloads -------------------------------------------------------------------------


def test_binary_payload_layout() -> None:
    # 0 = text, the length digits as bytes 0-9, 255, the UTF-8 bytes; 1 = binary with its
    # type byte 4.
    payload = v3.encode_payload_binary(["4é", b"\x07" * 10])
    assert payload == b"\x00\x03\xff4\xc3\xa9" + b"\x01\x01\x01\xff\x04" + b"\x07" * 10
    assert v3.decode_payload_binary(payload) == ["4é", b"\x07" * 10]


def test_payload_is_binary_only_when_needed_and_allowed() -> None:
    assert v3.encode_payload(["4a"], supports_binary=True) == "2:4a"
    assert v3.encode_payload(["4a", b"\x01"], supports_binary=False) == "2:4a6:b4AQ=="
    assert v3.encode_payload(["4a", b"\x01"], supports_binary=True) == (
        b"\x00\x02\xff4a\x01\x02\xff\x04\x01"
    )


def test_decode_payload_tells_binary_from_text_by_its_first_byte() -> None:
    assert v3.decode_payload(b"2:4a") == ["4a"]
    assert v3.decode_payload(b"\x00\x02\xff4a\x01\x02\xff\x04\x01") == ["4a", b"\x01"]
    with pytest.raises(ParseError):
        v3.decode_payload(b"2:4\xff")  # not UTF-8


@pytest.mark.parametrize(
    "payload",
    [
        b"\x02\x01\xff4",  # neither text nor binary
        b"\x00\x01",  # no 255
        b"\x00\xff",  # no digits
        b"\x00\x0a\xff" + b"4" * 10,  # a digit byte above 9
        b"\x00" + b"\x01" * 11 + b"\xff",  # too many digits
        b"\x00\x05\xff4ab",  # past the end
        b"\x01\x02\xff\x03\x01",  # binary that is not a message
        b"\x01\x00\xff",  # binary without its type byte
        b"\x00\x02\xff\xc3(",  # not UTF-8
        b"\x00\x01\xff9",  # unknown type
    ],
)
def test_malformed_binary_payloads_are_refused(payload: bytes) -> None:
    with pytest.raises(ParseError):
        v3.decode_payload_binary(payload)


_text_packets = st.builds(
    lambda t, data: t + data,
    st.sampled_from("0123456"),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
)
_packets = st.lists(st.one_of(_text_packets, st.binary(max_size=40)), max_size=8)


@given(_packets)
def test_text_payload_round_trip(packets: list[str | bytes]) -> None:
    assert v3.decode_payload(v3.encode_payload_text(packets).encode()) == packets


@given(_packets)
def test_binary_payload_round_trip(packets: list[str | bytes]) -> None:
    encoded = v3.encode_payload_binary(packets)
    assert v3.decode_payload(encoded) == packets if packets else encoded == b""


@given(st.binary(max_size=200))
def test_any_body_decodes_or_is_refused_cleanly(body: bytes) -> None:
    try:
        packets = v3.decode_payload(body)
    except ParseError:
        return
    # What decodes is never larger than the body it came from.
    assert sum(len(p) for p in packets) <= len(body)


@given(st.text(max_size=60))
def test_any_text_decodes_or_is_refused_cleanly(text: str) -> None:
    with contextlib.suppress(ParseError):
        v3.decode_payload_text(text)


# -- frames, packets, open ------------------------------------------------------------------


def test_websocket_binary_frames_carry_the_type_byte() -> None:
    assert v3.encode_frame(b"\x01\x02") == b"\x04\x01\x02"
    assert v3.decode_frame(b"\x04\x01\x02") == b"\x01\x02"
    for frame in (b"", b"\x01\x01"):
        with pytest.raises(ParseError):
            v3.decode_frame(frame)


def test_open_packet_has_no_max_payload() -> None:
    assert v3.open_packet("abc", ["websocket"], 25, 20) == (
        '0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}'
    )


# -- routing --------------------------------------------------------------------------------


def test_eio3_is_refused_unless_allowed() -> None:
    query = {"EIO": "3", "transport": "polling"}
    with pytest.raises(RequestError) as info:
        route("GET", query, False, TRANSPORTS)
    assert info.value.code is ErrorCode.UNSUPPORTED_PROTOCOL_VERSION
    assert route("GET", query, False, TRANSPORTS, allow_eio3=True)[0] is RequestKind.HANDSHAKE
    for other in ("2", "5", ""):
        with pytest.raises(RequestError):
            route("GET", {**query, "EIO": other}, False, TRANSPORTS, allow_eio3=True)


def test_jsonp_is_refused() -> None:
    with pytest.raises(RequestError) as info:
        route("GET", {"EIO": "3", "transport": "polling", "j": "0"}, False, TRANSPORTS, True)
    assert info.value.code is ErrorCode.BAD_REQUEST
    assert "JSONP" in str(info.value)


# -- the session ----------------------------------------------------------------------------


def make_session(**kw: object) -> v3.SessionV3:
    options: dict[str, object] = {
        "websocket": False,
        "ping_interval": 25.0,
        "ping_timeout": 20.0,
        "max_buffer": 1000,
        "now": 100.0,
    }
    options.update(kw)
    return v3.SessionV3("sid", **options)  # type: ignore[arg-type]


def test_the_deadline_is_interval_plus_timeout_and_client_pings_move_it() -> None:
    session = make_session()
    assert session.deadline == 145.0
    assert session.ping("2", 110.0) == "3"
    assert session.deadline == 155.0
    assert session.ping("2probe", 120.0) == "3probe"
    assert session.deadline == 165.0


def test_the_server_never_pings_a_v3_client() -> None:
    session = make_session()
    assert session.heartbeat(145.0) is Beat.TIMED_OUT


def test_receive_text_v3() -> None:
    session = make_session()
    assert session.receive_text("4hi") == "hi"
    assert session.receive_text("b4AQI=") == b"\x01\x02"
    assert session.receive_text("1") is Control.CLOSE
    for stray in ("2", "3", "5", "6", "0"):
        assert session.receive_text(stray) is None
    for bad in ("", "9", "bAQI=", "b4!"):
        with pytest.raises(ParseError):
            session.receive_text(bad)


def test_supports_binary_is_kept() -> None:
    assert make_session().supports_binary is True
    assert make_session(supports_binary=False).supports_binary is False
