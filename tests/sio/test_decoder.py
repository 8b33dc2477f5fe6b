"""Decoding: the spec's byte vectors, socket.io-parser's validation rules, the decoder's states."""

from __future__ import annotations

import re

import orjson
import pytest

from tether.sio import MAX_ACK_ID, RESERVED_EVENTS, DecodeError, Decoder, Packet, PacketType

P = PacketType
PH0 = '{"_placeholder":true,"num":0}'
PH1 = '{"_placeholder":true,"num":1}'


def decode(*messages: str | bytes, max_attachments: int = 10) -> Packet | None:
    """Feed ``messages`` to a new decoder; return what the last one gave."""
    decoder = Decoder(max_attachments=max_attachments)
    result = None
    for message in messages:
        if isinstance(message, str):
            result = decoder.feed_text(message)
        else:
            result = decoder.feed_binary(message)
    return result


VALID: list[tuple[list[str | bytes], Packet]] = [
    # Connection to a namespace.
    (["0"], Packet(P.CONNECT)),
    (["0/admin,"], Packet(P.CONNECT, "/admin")),
    (["0/admin"], Packet(P.CONNECT, "/admin")),
    (
        ['0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}'],
        Packet(P.CONNECT, "/admin", {"sid": "oSO0OpakMV_3jnilAAAA"}),
    ),
    (['0{"token":"123"}'], Packet(P.CONNECT, "/", {"token": "123"})),
    (
        ['4{"message":"Not authorized"}'],
        Packet(P.CONNECT_ERROR, "/", {"message": "Not authorized"}),
    ),
    (['4/admin,"Unauthorized"'], Packet(P.CONNECT_ERROR, "/admin", "Unauthorized")),
    # Sending and receiving data.
    (['2["foo"]'], Packet(P.EVENT, "/", ["foo"])),
    (['2/admin,["bar"]'], Packet(P.EVENT, "/admin", ["bar"])),
    (['2[1,"a",{}]'], Packet(P.EVENT, "/", [1, "a", {}])),
    (["2[1.5]"], Packet(P.EVENT, "/", [1.5])),
    (['2["connection"]'], Packet(P.EVENT, "/", ["connection"])),
    (['2 ["a"] '], Packet(P.EVENT, "/", ["a"])),
    (['2/,["a"]'], Packet(P.EVENT, "/", ["a"])),
    (['2/a b/c,["a"]'], Packet(P.EVENT, "/a b/c", ["a"])),
    (['2/ü,["é","😀"]'], Packet(P.EVENT, "/ü", ["é", "😀"])),
    (
        ['51-["baz",' + PH0 + "]", b"\x01\x02\x03\x04"],
        Packet(P.EVENT, "/", ["baz", b"\x01\x02\x03\x04"]),
    ),
    (
        ['52-/admin,["baz",' + PH0 + "," + PH1 + "]", b"\x01\x02", b"\x03\x04"],
        Packet(P.EVENT, "/admin", ["baz", b"\x01\x02", b"\x03\x04"]),
    ),
    # Acknowledgement.
    (['212["foo"]'], Packet(P.EVENT, "/", ["foo"], 12)),
    (['20["foo"]'], Packet(P.EVENT, "/", ["foo"], 0)),
    (['2007["foo"]'], Packet(P.EVENT, "/", ["foo"], 7)),
    (["312[]"], Packet(P.ACK, "/", [], 12)),
    (['3/admin,13["bar"]'], Packet(P.ACK, "/admin", ["bar"], 13)),
    (["3/admin,13[null]"], Packet(P.ACK, "/admin", [None], 13)),
    ([f'2{MAX_ACK_ID}["a"]'], Packet(P.EVENT, "/", ["a"], MAX_ACK_ID)),
    (
        ['51-14["foo",' + PH0 + "]", b"\x01\x02\x03\x04"],
        Packet(P.EVENT, "/", ["foo", b"\x01\x02\x03\x04"], 14),
    ),
    (
        ['61-15["bar",' + PH0 + "]", b"\x01\x02\x03\x04"],
        Packet(P.ACK, "/", ["bar", b"\x01\x02\x03\x04"], 15),
    ),
    (["61-/admin,15[" + PH0 + "]", b""], Packet(P.ACK, "/admin", [b""], 15)),
    # Disconnection from a namespace.
    (["1"], Packet(P.DISCONNECT)),
    (["1/admin,"], Packet(P.DISCONNECT, "/admin")),
    (["1/admin"], Packet(P.DISCONNECT, "/admin")),
    # socket.io-parser reads an ack id after any type.
    (["01"], Packet(P.CONNECT, "/", None, 1)),
    (["1/a,2"], Packet(P.DISCONNECT, "/a", None, 2)),
    (['43"no"'], Packet(P.CONNECT_ERROR, "/", "no", 3)),
]


@pytest.mark.parametrize(("messages", "packet"), VALID)
def test_spec_vectors(messages: list[str | bytes], packet: Packet) -> None:
    assert decode(*messages) == packet


def test_nested_binaries() -> None:
    header = (
        '53-["n",{"l":['
        + PH1
        + ',[{"deep":[[{"_placeholder":true,"num":2}]]}]]},'
        + PH0
        + ","
        + PH0
        + "]"
    )
    decoder = Decoder()
    assert decoder.feed_text(header) is None
    assert decoder.awaiting_attachments == 3
    assert decoder.feed_binary(b"0") is None
    assert decoder.awaiting_attachments == 2
    assert decoder.feed_binary(b"1") is None
    packet = decoder.feed_binary(b"2")
    assert decoder.awaiting_attachments == 0
    # Placeholders may come in any order, and one attachment may be used twice, as in JS.
    assert packet == Packet(P.EVENT, "/", ["n", {"l": [b"1", [{"deep": [[b"2"]]}]]}, b"0", b"0"])


@pytest.mark.parametrize(
    "value",
    [
        '{"_placeholder":false,"num":0}',
        '{"_placeholder":1,"num":0}',
        '{"_placeholder":"true","num":0}',
        '{"num":0}',
    ],
)
def test_only_placeholder_true_is_a_placeholder(value: str) -> None:
    packet = decode(f'51-["a",{value},{PH0}]', b"x")
    assert packet is not None
    assert packet.data[1] == orjson.loads(value)
    assert packet.data[2] == b"x"


def test_big_integers() -> None:
    packet = decode('2["a",18446744073709551615,18446744073709551616,-9223372036854775809,1e300]')
    assert packet is not None
    assert packet.data[1:] == [2**64 - 1, float(2**64), -float(2**63), 1e300]
    assert type(packet.data[1]) is int
    assert type(packet.data[2]) is float


# --- invalid packets -------------------------------------------------------------------------

INVALID: list[tuple[str, str]] = [
    # The type.
    ("", "empty packet"),
    ("7", "unknown packet type '7'"),
    ("9", "unknown packet type"),
    ("999", "unknown packet type"),
    ("a", "unknown packet type"),
    (" 2", "unknown packet type"),
    ("-", "unknown packet type"),
    ('٢["a"]', "unknown packet type"),
    # The attachment count.
    ("5", "illegal attachments"),
    ("51", "illegal attachments"),
    ('5["a"]', "illegal attachments"),
    ("5a-", "illegal attachments"),
    ("51.23-", "illegal attachments"),
    ('5-["a"]', "illegal attachments"),
    ('50-["a"]', "illegal attachments: a binary packet needs at least one"),
    ("6000-[]", "illegal attachments"),
    ('5 1-["a"]', "illegal attachments"),
    ('51 -["a"]', "illegal attachments"),
    ('5+1-["a"]', "illegal attachments"),
    ('51e1-["a"]', "illegal attachments"),
    ('50x1-["a"]', "illegal attachments"),
    ('5٣-["a"]', "illegal attachments"),
    ('5¹-["a"]', "illegal attachments"),
    ("5" + "9" * 20 + '-["a"]', "illegal attachments"),
    ('511-["a"]', "too many attachments: 11 > 10"),
    ("6999999999-[]", "too many attachments"),
    # The ack id.
    ("2" + "9" * 17 + '["a"]', "invalid ack id: too long"),
    ("2" + "1" * 5000 + '["a"]', "invalid ack id: too long"),
    (f'2{MAX_ACK_ID + 1}["a"]', "invalid ack id"),
    ("29999999999999999[]", "invalid ack id"),
    # JSON that does not parse.
    ('442["some","data"', "invalid payload"),
    ('2["a"', "invalid payload"),
    ('2["a"]x', "invalid payload"),
    ('2/admin,"invalid', "invalid payload"),
    ('2["a",NaN]', "invalid payload"),
    ('2["a",Infinity]', "invalid payload"),
    ('2["a",-Infinity]', "invalid payload"),
    ('2["a",1e400]', "invalid payload"),
    ('2["a","\ud800"]', "invalid payload"),
    ('2["a","\x00"]', "invalid payload"),
    ('2\ufeff["a"]', "invalid payload"),
    ("2['a']", "invalid payload"),
    ('2["a",' + "[" * 1100 + "]" * 1100 + "]", "invalid payload"),
    ("2 ", "invalid payload"),
    # Payloads of the wrong shape for their type.
    ("0[]", "CONNECT payload must be an object"),
    ('0/admin,"invalid"', "CONNECT payload must be an object"),
    ("0null", "CONNECT payload must be an object"),
    ("0 1", "CONNECT payload must be an object"),
    ("1/admin,{}", "DISCONNECT has no payload"),
    ("1{}", "DISCONNECT has no payload"),
    ("1null", "DISCONNECT has no payload"),
    ("1 1", "DISCONNECT has no payload"),
    ("2", "EVENT needs a payload"),
    ("212", "EVENT needs a payload"),
    ('2/admin["a"]', "EVENT needs a payload"),
    ("2/admin,", "EVENT needs a payload"),
    ("2/admin,{}", "an EVENT needs an array"),
    ('2"foo"', "an EVENT needs an array"),
    ("2{}", "an EVENT needs an array"),
    ("2null", "an EVENT needs an array"),
    ("2[]", "an EVENT needs an array"),
    ('2[{"toString":"foo"}]', "an EVENT needs an array"),
    ('2[true,"foo"]', "an EVENT needs an array"),
    ('2[false,"foo"]', "an EVENT needs an array"),
    ('2[null,"bar"]', "an EVENT needs an array"),
    ('2[["a"]]', "an EVENT needs an array"),
    ('2["disconnect","123"]', "'disconnect' is a reserved event name"),
    *[(f'2["{name}"]', "reserved event name") for name in sorted(RESERVED_EVENTS)],
    ('2/x,1["connect"]', "reserved event name"),
    ("3", "ACK needs a payload"),
    ("31", "ACK needs a payload"),
    ("3{}", "an ACK needs an array"),
    ('31"x"', "an ACK needs an array"),
    ("4", "CONNECT_ERROR needs a payload"),
    ("4[]", "CONNECT_ERROR payload must be a string or an object"),
    ("4 1", "CONNECT_ERROR payload must be a string or an object"),
    ("4null", "CONNECT_ERROR payload must be a string or an object"),
    # Binary packets are checked like their plain types.
    ("51-", "EVENT needs a payload"),
    ("51-/a,", "EVENT needs a payload"),
    ('51-{"a":1}', "an EVENT needs an array"),
    ('51-["connect",' + PH0 + "]", "reserved event name"),
    ("61-1", "ACK needs a payload"),
    ("61-1" + PH0, "an ACK needs an array"),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_text(text: str, message: str) -> None:
    decoder = Decoder()
    with pytest.raises(DecodeError, match=re.escape(message)):
        decoder.feed_text(text)
    # The decoder is ready for the next packet (the caller closes the connection anyway).
    assert decoder.awaiting_attachments == 0
    assert decoder.feed_text('2["ok"]') == Packet(P.EVENT, "/", ["ok"])


def test_max_attachments() -> None:
    header = '53-["hello",' + PH0 + "," + PH1 + ',{"_placeholder":true,"num":2}]'
    with pytest.raises(DecodeError, match=r"^too many attachments: 3 > 2$"):
        decode(header, max_attachments=2)
    assert decode(header, b"a", b"b", b"c", max_attachments=3) == Packet(
        P.EVENT, "/", ["hello", b"a", b"b", b"c"]
    )
    with pytest.raises(DecodeError, match="too many attachments"):
        decode('51-["a",' + PH0 + "]", max_attachments=0)
    with pytest.raises(ValueError, match="max_attachments"):
        Decoder(max_attachments=-1)


@pytest.mark.parametrize(
    "placeholder",
    [
        '{"_placeholder":true,"num":1}',
        '{"_placeholder":true,"num":-1}',
        '{"_placeholder":true,"num":"0"}',
        '{"_placeholder":true,"num":0.0}',
        '{"_placeholder":true,"num":0.5}',
        '{"_placeholder":true,"num":true}',
        '{"_placeholder":true,"num":false}',
        '{"_placeholder":true,"num":null}',
        '{"_placeholder":true,"num":[0]}',
        '{"_placeholder":true,"num":' + "[" * 1000 + "]" * 1000 + "}",
        '{"_placeholder":true,"num":18446744073709551615}',
        '{"_placeholder":true}',
    ],
)
def test_invalid_placeholder(placeholder: str) -> None:
    decoder = Decoder()
    assert decoder.feed_text(f'51-["a",{{"x":[{placeholder}]}}]') is None
    with pytest.raises(DecodeError, match=r"^illegal attachments: placeholder num must be"):
        decoder.feed_binary(b"data")
    assert decoder.awaiting_attachments == 0
    assert decoder.feed_text('2["ok"]') == Packet(P.EVENT, "/", ["ok"])


def test_binary_when_none_is_expected() -> None:
    decoder = Decoder()
    with pytest.raises(DecodeError, match=r"^got binary data when not reconstructing a packet$"):
        decoder.feed_binary(b"x")
    assert decoder.feed_text('51-["a",' + PH0 + "]") is None
    assert decoder.feed_binary(b"x") == Packet(P.EVENT, "/", ["a", b"x"])
    with pytest.raises(DecodeError, match="not reconstructing"):
        decoder.feed_binary(b"x")


def test_text_while_attachments_are_awaited() -> None:
    decoder = Decoder()
    assert decoder.feed_text('52-["a",' + PH0 + "," + PH1 + "]") is None
    assert decoder.feed_binary(b"x") is None
    with pytest.raises(DecodeError, match=r"^got plaintext data when reconstructing a packet$"):
        decoder.feed_text('2["b"]')
    # Reset: the next text packet is decoded, the stray attachment is refused.
    assert decoder.awaiting_attachments == 0
    assert decoder.feed_text('2["b"]') == Packet(P.EVENT, "/", ["b"])
    with pytest.raises(DecodeError, match="not reconstructing"):
        decoder.feed_binary(b"y")


def test_reset_drops_a_partial_packet() -> None:
    decoder = Decoder()
    assert decoder.feed_text('61-3["a",' + PH0 + "]") is None
    decoder.reset()
    assert decoder.awaiting_attachments == 0
    assert decoder.feed_text("31[]") == Packet(P.ACK, "/", [], 1)


def test_a_decoder_decodes_a_stream() -> None:
    decoder = Decoder()
    stream: list[str | bytes] = [
        "0",
        '2["a"]',
        '51-1["b",' + PH0 + "]",
        b"B",
        '2/x,3["c"]',
        "62-/x,4[" + PH1 + "," + PH0 + "]",
        b"0",
        b"1",
        "1",
    ]
    out = []
    for message in stream:
        packet = (
            decoder.feed_text(message) if isinstance(message, str) else decoder.feed_binary(message)
        )
        if packet is not None:
            out.append(packet)
    assert out == [
        Packet(P.CONNECT),
        Packet(P.EVENT, "/", ["a"]),
        Packet(P.EVENT, "/", ["b", b"B"], 1),
        Packet(P.EVENT, "/x", ["c"], 3),
        Packet(P.ACK, "/x", [b"1", b"0"], 4),
        Packet(P.DISCONNECT),
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('2["a","\\ud800"]', "\ud800"),
        ('2["a","x\\udc00y"]', "x\udc00y"),
        ('2["a",{"k":"\\ud83d"}]', {"k": "\ud83d"}),
    ],
)
def test_escaped_lone_surrogates_decode_as_javascript_writes_them(text: str, value: object) -> None:
    # JSON.stringify writes a string cut inside an emoji as "\ud83d": the official client
    # sends that, so it must be accepted (orjson refuses it; the standard library does not).
    packet = Decoder().feed_text(text)
    assert packet is not None
    assert packet.data == ["a", value]


def test_json_constants_stay_invalid_on_the_fallback_path() -> None:
    for text in ('2["\\ud800",NaN]', '2["\\ud800",Infinity]'):
        with pytest.raises(DecodeError):
            Decoder().feed_text(text)
