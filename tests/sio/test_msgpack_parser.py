"""The msgpack parser (``tether.sio.msgpack_parser``) and the parser seam (``tether.sio.parsers``):
every packet type, binary, validation, garbage, property tests, and agreement byte for byte
with the npm ``socket.io-msgpack-parser`` 3.0.2 both ways (tests/interop/msgpack_codec.mjs)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tether
from tests.interop.harness import INTEROP_DIR, require_node
from tether.client import Client
from tether.sio import MAX_ACK_ID, DecodeError, EncodeError, Packet, PacketType, notepack2
from tether.sio.msgpack_parser import MsgpackDecoder, encode, encode_ack, encode_event
from tether.sio.parsers import JSON, MSGPACK, Parser, resolve

CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR = (
    PacketType.CONNECT,
    PacketType.DISCONNECT,
    PacketType.EVENT,
    PacketType.ACK,
    PacketType.CONNECT_ERROR,
)


def decode(data: bytes) -> Packet:
    return MsgpackDecoder().feed_binary(data)


def pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]


# -- encoding ---------------------------------------------------------------------------------


def test_every_packet_type_is_one_binary_map() -> None:
    cases = [
        (Packet(CONNECT, "/", {"sid": "abc"}), {"type": 0, "data": {"sid": "abc"}, "nsp": "/"}),
        (Packet(CONNECT, "/admin"), {"type": 0, "nsp": "/admin"}),
        (Packet(DISCONNECT, "/admin"), {"type": 1, "nsp": "/admin"}),
        (Packet(EVENT, "/", ["a", 1], 7), {"type": 2, "data": ["a", 1], "id": 7, "nsp": "/"}),
        (Packet(ACK, "/x", [b"\x00"], 0), {"type": 3, "data": [b"\x00"], "id": 0, "nsp": "/x"}),
        (
            Packet(CONNECT_ERROR, "/", {"message": "no"}),
            {"type": 4, "data": {"message": "no"}, "nsp": "/"},
        ),
        # No binary types on this wire: an EVENT/ACK carries its binary itself.
        (
            Packet(PacketType.BINARY_EVENT, "/", ["b", b"\x01"]),
            {"type": 2, "data": ["b", b"\x01"], "nsp": "/"},
        ),
        (
            Packet(PacketType.BINARY_ACK, "/", [b"\x01"], 3),
            {"type": 3, "data": [b"\x01"], "id": 3, "nsp": "/"},
        ),
    ]
    for packet, expected in cases:
        parts = encode(packet)
        assert len(parts) == 1 and isinstance(parts[0], bytes)
        assert parts[0] == pack(expected)  # the key order too: type, data, id, nsp
        assert decode(parts[0]) == Packet(
            {5: EVENT, 6: ACK}.get(int(packet.type), packet.type),
            packet.nsp,
            packet.data,
            packet.id,
        )


def test_the_shortcuts_match_encode() -> None:
    assert encode_event("/", "e", [1, b"\x02"]) == encode(Packet(EVENT, "/", ["e", 1, b"\x02"]))
    assert encode_event("/n", "e", (), 5) == encode(Packet(EVENT, "/n", ["e"], 5))
    assert encode_ack("/n", 5, (1, "x")) == encode(Packet(ACK, "/n", [1, "x"], 5))
    assert encode_ack("/", 1, []) == encode(Packet(ACK, "/", [], 1))


def test_binary_of_every_kind_and_dates() -> None:
    when = dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    (data,) = encode_event("/", "e", [bytearray(b"ab"), memoryview(b"cd"), (1, 2), when])
    # notepack's Date: fixext 8 of type 0, milliseconds.
    millis = (1704164645678).to_bytes(8, "big")
    assert decode(data).data == ["e", b"ab", b"cd", [1, 2], when]
    assert b"\xd7\x00" + millis in data
    # A naive datetime is taken as UTC.
    assert encode_event("/", "e", [when.replace(tzinfo=None)]) == encode_event("/", "e", [when])


def test_what_cannot_be_encoded_raises_encode_error() -> None:
    for bad in ({1, 2}, object(), 2**64, _deep(5000)):
        with pytest.raises(EncodeError):
            encode_event("/", "e", [bad])
    assert issubclass(EncodeError, TypeError)


def _deep(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


# -- decoding ---------------------------------------------------------------------------------


def test_what_the_javascript_client_sends() -> None:
    # socket.io-client: {type, data, options, id, nsp}; `undefined` is fixext 1 of type 0.
    undefined = msgpack.ExtType(0, b"\x00")
    event = {"type": 2, "data": ["chat", "hi"], "options": {"compress": True}, "id": 3, "nsp": "/"}
    assert decode(pack(event)) == Packet(EVENT, "/", ["chat", "hi"], 3)
    connect = {"type": 0, "data": undefined, "nsp": "/admin"}
    assert decode(pack(connect)) == Packet(CONNECT, "/admin", None, None)
    # An ArrayBuffer or typed array from Node: ext type 0.
    arraybuffer = {"type": 2, "data": ["b", msgpack.ExtType(0, b"\x01\x02\x03")], "nsp": "/"}
    assert decode(pack(arraybuffer)).data == ["b", b"\x01\x02\x03"]
    other = {"type": 2, "data": ["x", msgpack.ExtType(5, b"z")], "nsp": "/"}
    assert decode(pack(other)).data == ["x", [5, b"z"]]
    # Node's server: CONNECT {sid, pid: undefined}.
    sid = {"type": 0, "data": {"sid": "s", "pid": undefined}, "nsp": "/"}
    assert decode(pack(sid)).data == {"sid": "s", "pid": None}


def _event(*items: bytes) -> bytes:
    """An EVENT "e" with these MessagePack values as arguments."""
    count = (len(items) + 1).to_bytes(2, "big")
    head = b"\x83\xa4type\x02\xa4data\xdc" + count + b"\xa1e"
    return head + b"".join(items) + b"\xa3nsp\xa1/"


def test_type_0_extensions_are_told_apart_by_their_format() -> None:
    millis = (1704164645678).to_bytes(8, "big")
    when = dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    undefined = b"\xd4\x00\x00"
    date = b"\xd7\x00" + millis
    buffer0 = b"\xc7\x01\x00\x00"  # ArrayBuffer([0]): the bytes of undefined
    buffer8 = b"\xc7\x08\x00" + millis  # an 8-byte ArrayBuffer: the bytes of the date
    far = (8_000_000_000_000_000).to_bytes(8, "big")
    cases: list[tuple[tuple[bytes, ...], list[Any]]] = [
        ((undefined,), [None]),
        ((date,), [when]),
        ((buffer0,), [b"\x00"]),
        ((buffer8,), [millis]),
        ((b"\xc7\x03\x00abc",), [b"abc"]),
        # Both readings in one message: the plain reader settles it.
        ((undefined, buffer0), [None, b"\x00"]),
        ((date, buffer8, undefined), [when, millis, None]),
        # More dates than searches allowed: read again in Python.
        ((date,) * 70, [when] * 70),
        # Out of Python's range: kept as bytes.
        ((b"\xd7\x00" + far,), [far]),
    ]
    for items, expected in cases:
        assert decode(_event(*items)).data == ["e", *expected], items
        assert notepack2.read(_event(*items))["data"] == ["e", *expected], items
    # Over SLOW_LIMIT, a message with both readings keeps the likelier ones.
    pad = b"p" * notepack2.SLOW_LIMIT
    big = _event(undefined, buffer0, date, buffer8, b"\xc6" + len(pad).to_bytes(4, "big") + pad)
    assert decode(big).data == ["e", None, None, when, when, pad]


def test_the_plain_reader_reads_every_format() -> None:
    values: list[Any] = [
        *(None, True, False, 0, 127, -32, -33, 255, 65535, 2**32 - 1, 2**64 - 1),
        *(-128, -32768, -(2**31), -(2**63), 1.5, "", "x" * 31, "é" * 200, "y" * 70000),
        *(b"", b"z" * 300, b"w" * 70000, list(range(20)), {f"k{i}": i for i in range(20)}),
        [[[]]],
        msgpack.ExtType(5, b"abc"),
        msgpack.ExtType(7, b"x" * 300),
        msgpack.Timestamp(1, 5),
    ]
    packed = msgpack.packb(values, use_bin_type=True)
    expected = msgpack.unpackb(packed, raw=False, timestamp=3, ext_hook=lambda c, d: [c, d])
    assert notepack2.read(packed) == expected
    assert notepack2.read(b"\xca\x3f\xc0\x00\x00") == 1.5  # float 32
    assert notepack2.read(b"\xd6\x09abcd") == [9, b"abcd"]
    assert notepack2.read(b"\xa3" + "\ud83d".encode("utf-8", "surrogatepass")) == "\ud83d"
    bad = [b"", b"\xc1", b"\x92\x01", b"\x01\x02", b"\xd9\x05ab", b"\x81\x90\x01"]
    for data in [*bad, b"\x91" * 300 + b"\xc0"]:
        with pytest.raises((ValueError, TypeError)):
            notepack2.read(data)


def test_lone_surrogates_as_javascript_writes_them() -> None:
    (data,) = encode_event("/", "e", ["a\ud83d"])
    assert b"a\xed\xa0\xbd" in data  # what notepack writes for a lone high surrogate
    assert decode(data).data == ["e", "a\ud83d"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([2, ["a"]], "a map"),
        ({"data": ["a"], "nsp": "/"}, "packet type"),
        ({"type": 5, "data": ["a"], "nsp": "/"}, "packet type"),
        ({"type": 6, "data": ["a"], "id": 1, "nsp": "/"}, "packet type"),
        ({"type": -1, "data": ["a"], "nsp": "/"}, "packet type"),
        ({"type": True, "data": ["a"], "nsp": "/"}, "packet type"),
        ({"type": 2.0, "data": ["a"], "nsp": "/"}, "packet type"),
        ({"type": "2", "data": ["a"], "nsp": "/"}, "packet type"),
        ({"type": 2, "data": ["a"]}, "namespace"),
        ({"type": 2, "data": ["a"], "nsp": "admin"}, "namespace"),
        ({"type": 2, "data": ["a"], "nsp": b"/"}, "namespace"),
        ({"type": 2, "data": ["a"], "id": -1, "nsp": "/"}, "packet id"),
        ({"type": 2, "data": ["a"], "id": 1.5, "nsp": "/"}, "packet id"),
        ({"type": 2, "data": ["a"], "id": MAX_ACK_ID + 1, "nsp": "/"}, "packet id"),
        ({"type": 2, "data": ["a"], "id": "1", "nsp": "/"}, "packet id"),
        ({"type": 2, "nsp": "/"}, "EVENT"),
        ({"type": 2, "data": [], "nsp": "/"}, "EVENT"),
        ({"type": 2, "data": {"a": 1}, "nsp": "/"}, "EVENT"),
        ({"type": 2, "data": [None], "nsp": "/"}, "EVENT"),
        ({"type": 2, "data": ["connect"], "nsp": "/"}, "reserved"),
        ({"type": 3, "data": "x", "id": 1, "nsp": "/"}, "ACK"),
        ({"type": 0, "data": ["x"], "nsp": "/"}, "CONNECT"),
        ({"type": 1, "data": {}, "nsp": "/"}, "DISCONNECT"),
        ({"type": 4, "data": 1, "nsp": "/"}, "CONNECT_ERROR"),
    ],
)
def test_invalid_packets_are_refused(value: Any, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode(pack(value))


def test_garbage_and_text_are_refused() -> None:
    decoder = MsgpackDecoder()
    for data in (b"", b"\xc1", b"\x81", b"\x82\xa1a", pack({"type": 2}) + b"\x00", b"\x81\x90\x01"):
        with pytest.raises(DecodeError, match="msgpack parser"):
            decoder.feed_binary(data)
    with pytest.raises(DecodeError, match="text message"):
        decoder.feed_text('2["a"]')
    with pytest.raises(DecodeError, match="text message"):
        decoder.feed('2["a"]')
    assert decoder.feed(pack({"type": 2, "data": ["a"], "nsp": "/"})) == Packet(EVENT, "/", ["a"])
    assert decoder.awaiting_attachments == 0
    decoder.reset()
    # Nesting beyond the unpacker's limit is an error, not a crash.
    with pytest.raises(DecodeError):
        decoder.feed_binary(b"\x91" * 100_000 + b"\xc0")


# -- properties -------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=20)
)
payloads = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
namespaces = st.just("/") | st.text(max_size=10).map(lambda s: "/" + s)
event_names = st.text(max_size=10).filter(
    lambda s: s not in tether.sio.RESERVED_EVENTS
) | st.integers(min_value=-(2**63), max_value=2**64 - 1)
ack_ids = st.none() | st.integers(min_value=0, max_value=MAX_ACK_ID)


@given(namespaces, event_names, st.lists(payloads, max_size=4), ack_ids)
def test_events_round_trip(nsp: str, name: Any, args: list[Any], ack_id: int | None) -> None:
    (data,) = encode_event(nsp, name, args, ack_id)
    assert decode(data) == Packet(EVENT, nsp, [name, *args], ack_id)


@given(
    st.sampled_from([CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR]),
    namespaces,
    payloads,
    ack_ids,
)
def test_any_packet_decodes_to_itself_or_is_refused(
    ptype: PacketType, nsp: str, data: Any, ack_id: int | None
) -> None:
    (encoded,) = encode(Packet(ptype, nsp, data, ack_id))
    try:
        packet = decode(encoded)
    except DecodeError:
        return
    assert packet == Packet(ptype, nsp, data, ack_id)


@settings(max_examples=500)
@given(
    st.binary(max_size=64)
    | payloads.map(pack)
    | st.dictionaries(st.sampled_from(["type", "nsp", "data", "id", "x"]), payloads).map(pack)
)
def test_garbage_never_crashes(data: bytes) -> None:
    try:
        packet = MsgpackDecoder().feed_binary(data)
    except DecodeError:
        return
    assert isinstance(packet, Packet) and packet.nsp.startswith("/")


# -- the seam ---------------------------------------------------------------------------------


def test_resolve() -> None:
    assert resolve(None) is JSON and resolve("json") is JSON and resolve("msgpack") is MSGPACK
    # The default is the JSON parser's own functions: nothing in between.
    assert JSON.encode is tether.sio.encode and JSON.encode_event is tether.sio.encode_event
    assert JSON.encode_ack is tether.sio.encode_ack
    assert type(JSON.new_decoder(10)) is tether.sio.Decoder
    with pytest.raises(ValueError, match="unknown parser"):
        resolve("yaml")
    with pytest.raises(TypeError, match="decoder"):
        resolve(object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown parser"):
        tether.Server(parser="bson")
    with pytest.raises(ValueError, match="unknown parser"):
        Client(parser="bson")


class Ndjson:
    """A parser of the application's: one JSON text message per packet, binary refused."""

    name = "ndjson"

    def encode(self, packet: Packet) -> list[str | bytes]:
        return [json.dumps([int(packet.type), packet.nsp, packet.data, packet.id])]

    def decoder(self) -> Ndjson.Decoder:
        return Ndjson.Decoder()

    class Decoder:
        def feed(self, message: str | bytes) -> Packet | None:
            ptype, nsp, data, ack_id = json.loads(message)
            return Packet(PacketType(ptype), nsp, data, ack_id)


def test_a_parser_object() -> None:
    parser = Ndjson()
    assert isinstance(parser, Parser)
    codec = resolve(parser)
    assert codec.name == "ndjson"
    assert codec.encode_event("/a", "e", [1], 2) == ['[2, "/a", ["e", 1], 2]']
    assert codec.encode_ack("/", 2, (3,)) == ['[3, "/", [3], 2]']
    decoder = codec.new_decoder(10)
    assert decoder.feed_text('[2, "/", ["e"], null]') == Packet(EVENT, "/", ["e"])
    assert decoder.awaiting_attachments == 0
    # What the application's decoder raises is a parse error for the session.
    with pytest.raises(DecodeError, match="JSONDecodeError"):
        decoder.feed_text("{")
    decoder.reset()


async def test_a_parser_object_end_to_end() -> None:
    from tests.support import serving

    io = tether.Server(parser=Ndjson())

    @io.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    async with serving(io) as port:
        client = Client(parser=Ndjson())
        await client.connect(f"http://127.0.0.1:{port}", transports=("websocket",))
        assert await client.emit_with_ack("echo", 1, "two", timeout=2) == (1, "two")
        await client.disconnect()


# -- the npm package, byte for byte -----------------------------------------------------------


def _tagged(value: Any) -> Any:
    """``value`` for msgpack_codec.mjs's JSON: bytes as {"$bin": hex}."""
    if isinstance(value, bytes):
        return {"$bin": value.hex()}
    if isinstance(value, list):
        return [_tagged(v) for v in value]
    if isinstance(value, dict):
        return {k: _tagged(v) for k, v in value.items()}
    return value


def _untagged(value: Any) -> Any:
    if isinstance(value, list):
        return [_untagged(v) for v in value]
    if isinstance(value, dict):
        if "$bin" in value or "$ab" in value:
            return bytes.fromhex(value.get("$bin", value.get("$ab")))
        if "$undefined" in value:
            return None
        return {k: _untagged(v) for k, v in value.items()}
    return value


def _node_codec(request: dict[str, Any]) -> dict[str, Any]:
    node = require_node()
    done = subprocess.run(
        [node, str(INTEROP_DIR / "msgpack_codec.mjs")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=INTEROP_DIR,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


WHEN = dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
PACKETS = [
    Packet(CONNECT, "/", None),
    Packet(CONNECT, "/admin", {"token": "t", "n": 1}),
    Packet(CONNECT, "/", {"sid": "abc", "pid": "xyz"}),
    Packet(DISCONNECT, "/chat"),
    Packet(
        EVENT, "/", ["hello", "wörld ☃ 🎉", 1, -1, -33, 200, -200, 70000, -70000, 2**40, -(2**40)]
    ),
    Packet(EVENT, "/", ["floats", 1.5, -0.25, 3.14159, True, False, None]),
    Packet(EVENT, "/", ["bin", b"", b"\x00\x01\xff", b"x" * 300, b"y" * 70000], 12),
    Packet(EVENT, "/nsp", ["nested", {"a": [1, {"b": b"\x02"}], "s" * 40: "t" * 300}], 2**32),
    Packet(EVENT, "/", ["list", list(range(20)), {str(i): i for i in range(20)}]),
    Packet(ACK, "/", [], 0),
    Packet(ACK, "/admin", ["ok", b"\x05"], 99),
    Packet(CONNECT_ERROR, "/", {"message": "Not authorized", "data": {"code": 42}}),
    Packet(CONNECT_ERROR, "/x", "a string"),
]


def _as_node_object(packet: Packet) -> dict[str, Any]:
    # The same key order as ours (the order Node's server writes): type, data, id, nsp.
    value: dict[str, Any] = {"type": int(packet.type)}
    if packet.data is not None:
        value["data"] = _tagged(packet.data)
    if packet.id is not None:
        value["id"] = packet.id
    value["nsp"] = packet.nsp
    return value


@pytest.mark.interop
def test_byte_for_byte_with_the_npm_parser() -> None:
    ours = [encode(p)[0] for p in PACKETS]
    result = _node_codec(
        {"encode": [_as_node_object(p) for p in PACKETS], "decode": [b.hex() for b in ours]}  # type: ignore[union-attr]
    )
    # Node's encoder writes what ours writes...
    assert result["encoded"] == [[b.hex()] for b in ours]  # type: ignore[union-attr]
    # ...and Node's decoder reads ours back as the packets.
    for packet, decoded in zip(PACKETS, result["decoded"], strict=True):
        assert "error" not in decoded, decoded
        assert decoded["type"] == int(packet.type) and decoded["nsp"] == packet.nsp
        assert _untagged(decoded.get("data")) == packet.data
        assert decoded.get("id") == packet.id
    # Ours reads Node's, including what only Node writes (undefined, ArrayBuffer as ext 0).
    extra = [
        {"type": 0, "data": {"$undefined": True}, "nsp": "/"},
        {"type": 0, "data": {"sid": "s", "pid": {"$undefined": True}}, "nsp": "/"},
        {
            "type": 2,
            "data": ["ab", {"$ab": "0102"}, {"$undefined": True}],
            "options": {"compress": True},
            "nsp": "/",
        },
        # Type-0 extensions of every meaning: a Date, ArrayBuffers that look like undefined
        # and like a Date, undefined.
        {
            "type": 2,
            "data": ["t0", {"$date": 1704164645678}, {"$ab": "00"}, {"$ab": "0000018cc820db2e"}],
            "nsp": "/",
        },
        {"type": 2, "data": ["t0", {"$date": 1704164645678}, {"$undefined": True}], "nsp": "/"},
    ]
    back = _node_codec({"encode": [_as_node_object(p) for p in PACKETS] + extra})
    decoded = [decode(bytes.fromhex(parts[0])) for parts in back["encoded"]]
    assert decoded[: len(PACKETS)] == PACKETS
    assert decoded[len(PACKETS) :] == [
        Packet(CONNECT, "/", None),
        Packet(CONNECT, "/", {"sid": "s", "pid": None}),
        Packet(EVENT, "/", ["ab", b"\x01\x02", None]),
        Packet(EVENT, "/", ["t0", WHEN, b"\x00", bytes.fromhex("0000018cc820db2e")]),
        Packet(EVENT, "/", ["t0", WHEN, None]),
    ]


@pytest.mark.interop
def test_the_npm_decoder_refuses_what_ours_refuses() -> None:
    bad = [
        {"type": 5, "data": ["a"], "nsp": "/"},
        {"type": 2, "data": "a", "nsp": "/"},
        {"type": 2, "data": ["a"], "nsp": 1},
        {"type": 1, "data": {}, "nsp": "/"},
        {"type": 2, "data": ["a"], "id": "1", "nsp": "/"},
    ]
    result = _node_codec({"decode": [pack(v).hex() for v in bad]})
    for value, decoded in zip(bad, result["decoded"], strict=True):
        assert "error" in decoded, value
        with pytest.raises(DecodeError):
            decode(pack(value))


_FRAGMENTS = [
    b"\xd4\x00\x00",  # undefined
    b"\xc7\x01\x00\x00",  # ArrayBuffer([0])
    b"\xd7\x00\x00\x00\x01\x8c\xc8\x20\xdb\x2e",  # a Date
    b"\xc7\x08\x00\x00\x00\x01\x8c\xc8\x20\xdb\x2e",  # an ArrayBuffer with the same bytes
    b"\xc7\x02\x00\x01\x02",
    b"\xc4\x03\xd4\x00\x00",  # bin holding the bytes of undefined
    b"\xc4\x04\xc7\x01\x00\x00",  # bin holding those of ArrayBuffer([0])
    b"\xc0",
    b"\x01",
]


@settings(max_examples=300)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=40))
def test_the_fast_and_the_plain_reading_agree(fragments: list[bytes]) -> None:
    data = b"\xdc" + len(fragments).to_bytes(2, "big") + b"".join(fragments)
    assert notepack2.unpack(data) == notepack2.read(data)
