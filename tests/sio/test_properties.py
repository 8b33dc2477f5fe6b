"""Property tests: round trips, and a decoder that only ever raises DecodeError."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tether.sio import (
    MAX_ACK_ID,
    RESERVED_EVENTS,
    DecodeError,
    Decoder,
    Packet,
    PacketType,
    encode,
    encode_ack,
    encode_event,
)
from tether.sio.decoder import _decode_text

P = PacketType

# Any code point, lone surrogates included (a Python str can hold them, JSON text cannot).
any_text = st.text(st.characters(exclude_categories=()), max_size=30)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
# "_placeholder" keys are left out: {"_placeholder": true, "num": 0} in the data of a binary
# packet is read as a placeholder, in socket.io-parser as here.
keys = st.text(max_size=10).filter(lambda key: key != "_placeholder")
binaries = st.binary(max_size=16)


def json_like(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4)
        ),
        max_leaves=16,
    )


payloads = json_like(scalars | binaries)
plain_objects = st.dictionaries(keys, json_like(scalars), max_size=4)
event_names = st.text(max_size=12).filter(lambda name: name not in RESERVED_EVENTS)
namespaces = st.just("/") | st.text(st.characters(exclude_characters=","), max_size=10).map(
    lambda name: "/" + name
)
ack_ids = st.none() | st.integers(min_value=0, max_value=MAX_ACK_ID)


def feed_all(decoder: Decoder, parts: list[str | bytes]) -> Packet | None:
    """Feed the encoded ``parts``; only the last one may complete the packet."""
    first = parts[0]
    assert isinstance(first, str)
    result = decoder.feed_text(first)
    for part in parts[1:]:
        assert result is None
        assert isinstance(part, bytes)
        result = decoder.feed_binary(part)
    return result


@given(namespaces, event_names, st.lists(payloads, max_size=4), ack_ids)
def test_event_round_trip(nsp: str, event: str, args: list[Any], ack_id: int | None) -> None:
    parts = encode_event(nsp, event, args, ack_id)
    assert parts == encode(Packet(P.EVENT, nsp, [event, *args], ack_id))
    packet = feed_all(Decoder(max_attachments=1000), parts)
    assert packet == Packet(P.EVENT, nsp, [event, *args], ack_id)


@given(namespaces, st.lists(payloads, max_size=4), st.integers(min_value=0, max_value=MAX_ACK_ID))
def test_ack_round_trip(nsp: str, args: list[Any], ack_id: int) -> None:
    packet = feed_all(Decoder(max_attachments=1000), encode_ack(nsp, ack_id, args))
    assert packet == Packet(P.ACK, nsp, args, ack_id)


@given(
    st.sampled_from([P.CONNECT, P.CONNECT_ERROR, P.DISCONNECT]),
    namespaces,
    st.none() | plain_objects | st.text(max_size=10),
)
def test_other_packets_round_trip(ptype: PacketType, nsp: str, data: Any) -> None:
    if ptype is P.DISCONNECT:
        data = None
    elif ptype is P.CONNECT and isinstance(data, str):
        data = {"s": data}
    elif ptype is P.CONNECT_ERROR and data is None:
        data = "refused"
    packet = Packet(ptype, nsp, data)
    assert Decoder().feed_text(str(encode(packet)[0])) == packet


def check_decoder(decoder: Decoder, messages: list[str | bytes]) -> None:
    """Only DecodeError may escape; an accepted packet re-encodes to an equal packet."""
    for message in messages:
        try:
            if isinstance(message, str):
                packet = decoder.feed_text(message)
            else:
                packet = decoder.feed_binary(message)
        except DecodeError:
            assert decoder.awaiting_attachments == 0
            continue
        if packet is not None:
            again = feed_all(Decoder(max_attachments=1000), encode(packet))
            assert again == packet


@given(any_text)
def test_random_text_never_crashes(text: str) -> None:
    check_decoder(Decoder(), [text])


@given(st.lists(any_text | st.binary(max_size=8), max_size=8))
def test_random_messages_never_crash(messages: list[str | bytes]) -> None:
    check_decoder(Decoder(), messages)


# Packets built from plausible and implausible pieces, to get past the header checks.
_pieces = st.tuples(
    st.sampled_from("0123456789 -/a"),
    st.sampled_from(["", "1-", "2-", "0-", "11-", "-", "1", "a-", "٣-"]),
    st.sampled_from(["", "/", "/admin,", "/admin", "/a,b,", ","]),
    st.sampled_from(["", "0", "12", "9007199254740991", "9007199254740992", "99999999999999999"]),
    st.sampled_from(
        [
            "",
            " ",
            '["a"]',
            '["a",{"_placeholder":true,"num":0}]',
            '["a",{"_placeholder":true,"num":1}]',
            '["a",{"_placeholder":true,"num":0.0}]',
            "[1]",
            "[]",
            '["connect"]',
            '{"a":1}',
            '"s"',
            "[",
            '["\\ud800"]',
            '["a",1e999]',
            "null",
        ]
    ),
)
structured = _pieces.map("".join)


@given(st.lists(structured | st.binary(max_size=4), max_size=6))
def test_structured_messages_never_crash(messages: list[str | bytes]) -> None:
    check_decoder(Decoder(max_attachments=2), messages)


@given(
    namespaces,
    event_names,
    st.lists(payloads, max_size=3),
    ack_ids,
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 2), any_text), max_size=4),
)
def test_mutated_packets_never_crash(
    nsp: str,
    event: str,
    args: list[Any],
    ack_id: int | None,
    edits: list[tuple[int, int, str]],
) -> None:
    parts = encode_event(nsp, event, args, ack_id)
    text = str(parts[0])
    for position, action, insert in edits:
        at = position % (len(text) + 1)
        if action == 0:  # insert
            text = text[:at] + insert + text[at:]
        elif action == 1:  # delete
            text = text[:at] + text[at + len(insert) :]
        else:  # replace
            text = text[:at] + insert + text[at + len(insert) :]
    check_decoder(Decoder(), [text, *parts[1:]])


def general_path(text: str, max_attachments: int) -> tuple[Packet, int] | str:
    """What the general header parser makes of ``text``: the packet and its attachment
    count, or the error message."""
    try:
        return _decode_text(text, max_attachments)
    except DecodeError as exc:
        return str(exc)


def fast_paths(text: str, max_attachments: int) -> tuple[Packet, int] | str:
    """What :meth:`Decoder.feed_text` (with its shortcuts) makes of ``text``."""
    decoder = Decoder(max_attachments=max_attachments)
    try:
        packet = decoder.feed_text(text)
    except DecodeError as exc:
        return str(exc)
    if packet is None:
        pending = decoder._pending
        assert pending is not None
        return pending, decoder.awaiting_attachments
    return packet, 0


# Headers around the shortcuts' edges: EVENT/ACK/BINARY_EVENT/BINARY_ACK to "/" or not.
_near_shortcuts = st.tuples(
    st.sampled_from("23564"),
    st.sampled_from(["", "1-", "2-", "0-", "00-", "11-", "-", "a-", "\u0663-", "3-"]),
    st.sampled_from(["", "", "/", "/admin,"]),
    st.sampled_from(["", "0", "07", "12", "\u0663", " ", "9007199254740991", "9007199254740992"]),
    st.sampled_from(
        [
            '["a"]',
            '["a",{"_placeholder":true,"num":0}]',
            '["a",{"_placeholder":true,"num":2}]',
            "[1]",
            "[]",
            '["connect"]',
            '{"a":1}',
            "[",
            '["\\ud800"]',
        ]
    ),
).map("".join)


@settings(max_examples=500)
@given(structured | _near_shortcuts, st.integers(0, 3))
def test_shortcuts_decode_as_the_general_path(text: str, max_attachments: int) -> None:
    # The shortcuts for "/" (EVENT/ACK with or without ack id, binary ones) must agree with
    # the general path on every input, errors included.
    assert fast_paths(text, max_attachments) == general_path(text, max_attachments)
