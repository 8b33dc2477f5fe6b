"""Encoding: the byte vectors of the protocol spec ("Packet encoding" examples) and more."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from typing import Any

import pytest

from tether.sio import EncodeError, Packet, PacketType, encode, encode_ack, encode_event
from tether.sio.binary import MAX_DEPTH

P = PacketType


@pytest.mark.parametrize(
    ("packet", "parts"),
    [
        # Connection to a namespace.
        (Packet(P.CONNECT), ["0"]),
        (
            Packet(P.CONNECT, "/admin", {"sid": "oSO0OpakMV_3jnilAAAA"}),
            ['0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}'],
        ),
        (Packet(P.CONNECT, "/", {"token": "123"}), ['0{"token":"123"}']),
        (
            Packet(P.CONNECT_ERROR, "/", {"message": "Not authorized"}),
            ['4{"message":"Not authorized"}'],
        ),
        (Packet(P.CONNECT_ERROR, "/admin", "Unauthorized"), ['4/admin,"Unauthorized"']),
        # Sending and receiving data.
        (Packet(P.EVENT, "/", ["foo"]), ['2["foo"]']),
        (Packet(P.EVENT, "/admin", ["bar"]), ['2/admin,["bar"]']),
        (Packet(P.EVENT, "/", [1, "a", {}]), ['2[1,"a",{}]']),
        (
            Packet(P.BINARY_EVENT, "/", ["baz", b"\x01\x02\x03\x04"]),
            ['51-["baz",{"_placeholder":true,"num":0}]', b"\x01\x02\x03\x04"],
        ),
        (
            Packet(P.BINARY_EVENT, "/admin", ["baz", b"\x01\x02", b"\x03\x04"]),
            [
                '52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
                b"\x01\x02",
                b"\x03\x04",
            ],
        ),
        # Acknowledgement.
        (Packet(P.EVENT, "/", ["foo"], 12), ['212["foo"]']),
        (Packet(P.ACK, "/", [], 12), ["312[]"]),
        (Packet(P.ACK, "/admin", ["bar"], 13), ['3/admin,13["bar"]']),
        (Packet(P.EVENT, "/", ["foo"], 0), ['20["foo"]']),
        (
            Packet(P.BINARY_EVENT, "/", ["foo", b"\x01\x02\x03\x04"], 14),
            ['51-14["foo",{"_placeholder":true,"num":0}]', b"\x01\x02\x03\x04"],
        ),
        (
            Packet(P.BINARY_ACK, "/", ["bar", b"\x01\x02\x03\x04"], 15),
            ['61-15["bar",{"_placeholder":true,"num":0}]', b"\x01\x02\x03\x04"],
        ),
        (
            Packet(P.BINARY_ACK, "/admin", [b"\x01"], 15),
            ['61-/admin,15[{"_placeholder":true,"num":0}]', b"\x01"],
        ),
        # Disconnection from a namespace.
        (Packet(P.DISCONNECT), ["1"]),
        (Packet(P.DISCONNECT, "/admin"), ["1/admin,"]),
        # An empty namespace is the main one, as in socket.io-parser.
        (Packet(P.EVENT, "", ["x"]), ['2["x"]']),
        (Packet(P.CONNECT, ""), ["0"]),
        # Non-ASCII text is written as is, like JSON.stringify.
        (Packet(P.EVENT, "/ü", ["é", "😀"]), ['2/ü,["é","😀"]']),
    ],
)
def test_spec_vectors(packet: Packet, parts: list[str | bytes]) -> None:
    assert encode(packet) == parts


def test_event_with_binary_becomes_binary_event() -> None:
    parts = encode(Packet(P.EVENT, "/", ["up", {"a": [1, b"x"], "b": b"y"}], 7))
    assert parts == [
        '52-7["up",{"a":[1,{"_placeholder":true,"num":0}],"b":{"_placeholder":true,"num":1}}]',
        b"x",
        b"y",
    ]


def test_ack_with_binary_becomes_binary_ack() -> None:
    assert encode(Packet(P.ACK, "/", [b"\x00"], 3)) == [
        '61-3[{"_placeholder":true,"num":0}]',
        b"\x00",
    ]


@pytest.mark.parametrize(("ptype", "digit"), [(P.BINARY_EVENT, "2"), (P.BINARY_ACK, "3")])
def test_binary_type_without_binary_is_sent_plain(ptype: PacketType, digit: str) -> None:
    # "50-..." announces zero attachments, which socket.io-parser 4.2.7 rejects.
    assert encode(Packet(ptype, "/", ["a"], 1)) == [f'{digit}1["a"]']
    assert encode(Packet(ptype, "/", None, 1)) == [f"{digit}1"]


def test_event_and_ack_without_data() -> None:
    assert encode(Packet(P.EVENT, "/x")) == ["2/x,"]
    assert encode(Packet(P.ACK, "/", None, 5)) == ["35"]


def test_bytearray_and_memoryview_are_copied_to_bytes() -> None:
    buffer = bytearray(b"abc")
    view = memoryview(b"0123456789")[2:5]
    parts = encode_event("/", "e", [buffer, view])
    assert parts[1:] == [b"abc", b"234"]
    assert all(type(part) is bytes for part in parts[1:])
    buffer[0] = ord("z")
    assert parts[1] == b"abc"


def test_bytes_subclass_is_binary() -> None:
    class Blob(bytes):
        pass

    parts = encode_event("/", "e", [Blob(b"q")])
    assert parts == ['51-["e",{"_placeholder":true,"num":0}]', b"q"]
    assert type(parts[1]) is bytes


def test_nested_binaries_are_numbered_in_order() -> None:
    data = {"l": [b"0", (b"1", {"deep": [[b"2"]]})], "z": b"3"}
    parts = encode_event("/", "n", [data, b"4"])
    assert parts[0] == (
        '55-["n",{"l":[{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1},'
        '{"deep":[[{"_placeholder":true,"num":2}]]}]],"z":{"_placeholder":true,"num":3}},'
        '{"_placeholder":true,"num":4}]'
    )
    assert parts[1:] == [b"0", b"1", b"2", b"3", b"4"]


def test_encoding_does_not_modify_the_data() -> None:
    data = {"a": [b"x", {"b": b"y"}]}
    encode_event("/", "e", [data])
    assert data == {"a": [b"x", {"b": b"y"}]}


@pytest.mark.parametrize(
    ("nsp", "event", "args", "ack_id", "expected"),
    [
        ("/", "chat", [{"text": "hello", "n": 1}], None, ['2["chat",{"text":"hello","n":1}]']),
        ("/", "chat", (), None, ['2["chat"]']),
        ("/", "chat", ("a", 1, None, True, 1.5), 42, ['242["chat","a",1,null,true,1.5]']),
        ("/admin", "chat", ["a"], None, ['2/admin,["chat","a"]']),
        ("/admin", "chat", ["a"], 0, ['2/admin,0["chat","a"]']),
        ("/", "bin", [b"\xff"], 9, ['51-9["bin",{"_placeholder":true,"num":0}]', b"\xff"]),
        ("/a", "bin", [b""], None, ['51-/a,["bin",{"_placeholder":true,"num":0}]', b""]),
    ],
)
def test_encode_event(
    nsp: str, event: str, args: Sequence[Any], ack_id: int | None, expected: list[str | bytes]
) -> None:
    assert encode_event(nsp, event, args, ack_id) == expected
    assert encode(Packet(P.EVENT, nsp, [event, *args], ack_id)) == expected


@pytest.mark.parametrize(
    ("nsp", "ack_id", "args", "expected"),
    [
        ("/", 12, [], ["312[]"]),
        ("/", 12, ("ok",), ['312["ok"]']),
        ("/admin", 13, ["bar"], ['3/admin,13["bar"]']),
        ("/", 15, ["bar", b"\x01"], ['61-15["bar",{"_placeholder":true,"num":0}]', b"\x01"]),
        ("/", 1, range(3), ["31[0,1,2]"]),
    ],
)
def test_encode_ack(
    nsp: str, ack_id: int, args: Sequence[Any], expected: list[str | bytes]
) -> None:
    assert encode_ack(nsp, ack_id, args) == expected


def test_orjson_native_types_pass_through() -> None:
    class Color(enum.Enum):
        RED = "red"

    @dataclasses.dataclass
    class Point:
        x: int
        y: int

    assert encode_event("/", "e", [Color.RED, Point(1, 2)]) == ['2["e","red",{"x":1,"y":2}]']


def test_nan_and_infinity_become_null_like_json_stringify() -> None:
    assert encode_event("/", "e", [float("nan"), float("inf")]) == ['2["e",null,null]']


def test_non_string_keys_are_stringified() -> None:
    assert encode_event("/", "e", [{1: "a", None: "b"}]) == ['2["e",{"1":"a","null":"b"}]']
    assert encode(Packet(P.CONNECT, "/", {2: "x"})) == ['0{"2":"x"}']
    assert encode_event("/", "e", [{1: b"a"}]) == [
        '51-["e",{"1":{"_placeholder":true,"num":0}}]',
        b"a",
    ]
    assert encode_ack("/", 1, [{1: "a"}]) == ['31[{"1":"a"}]']


class _Opaque:
    pass


@pytest.mark.parametrize(
    "args",
    [
        [_Opaque()],
        [_Opaque(), b"x"],
        [float("nan"), "\ud800"],
        [{b"key": 1}],
        [{(1, 2): 1}],
    ],
)
def test_unencodable_data(args: list[Any]) -> None:
    with pytest.raises(EncodeError, match="cannot encode packet data"):
        encode_event("/", "e", args)
    with pytest.raises(TypeError):
        encode_ack("/", 1, args)


@pytest.mark.parametrize("ptype", [P.CONNECT, P.CONNECT_ERROR, P.DISCONNECT])
def test_binary_in_a_packet_that_cannot_carry_it(ptype: PacketType) -> None:
    with pytest.raises(EncodeError, match="bytes"):
        encode(Packet(ptype, "/", {"file": b"x"}))


def test_circular_data() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(EncodeError, match="nested deeper"):
        encode_event("/", "e", [loop])
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    with pytest.raises(EncodeError, match="nested deeper"):
        encode_event("/", "e", [cycle, b"x"])


def test_depth_limit() -> None:
    data: Any = b"x"
    for _ in range(200):
        data = [data]
    assert len(encode_event("/", "e", [data])) == 2
    for _ in range(MAX_DEPTH):
        data = [data]
    with pytest.raises(EncodeError, match="nested deeper"):
        encode_event("/", "e", [data])


def test_lone_surrogates_are_escaped_as_javascript_does() -> None:
    assert encode_event("/", "e", ["\ud83d"]) == ['2["e","\\ud83d"]']
    assert encode_event("/", "e", ["\ud83d", b"x"]) == [
        '51-["e","\\ud83d",{"_placeholder":true,"num":0}]',
        b"x",
    ]


def test_integers_beyond_64_bits_are_written_as_json_numbers() -> None:
    assert encode_event("/", "e", [2**64]) == ['2["e",18446744073709551616]']


def test_packet_is_still_a_dataclass_with_its_own_init() -> None:
    """``Packet.__init__`` is written out (so that mypyc compiles it): the record behaves as
    the generated one did, in both builds."""
    packet = Packet(PacketType.EVENT)
    assert (packet.type, packet.nsp, packet.data, packet.id) == (PacketType.EVENT, "/", None, None)
    keyed = Packet(type=PacketType.ACK, nsp="/a", data=[1], id=3)
    assert keyed == Packet(PacketType.ACK, "/a", [1], 3) != Packet(PacketType.ACK, "/a", [1], 4)
    assert repr(keyed) == "Packet(type=<PacketType.ACK: 3>, nsp='/a', data=[1], id=3)"
    assert dataclasses.replace(keyed, id=4).id == 4
    assert [f.name for f in dataclasses.fields(Packet)] == ["type", "nsp", "data", "id"]
    match keyed:
        case Packet(PacketType.ACK, nsp, data, ack_id):
            assert (nsp, data, ack_id) == ("/a", [1], 3)
        case _:
            raise AssertionError("no match")
    with pytest.raises(TypeError):
        Packet()  # type: ignore[call-arg]
    with pytest.raises(AttributeError):
        packet.extra = 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "args",
    [
        [b"\x00\x01"],
        [1, b"ab", "c"],
        [{"nested": b"n"}, b"top"],
        [bytearray(b"ba"), memoryview(b"mv")],
        [{"k": 1}, ["x", b"deep"]],
    ],
)
@pytest.mark.parametrize("nsp", ["/", "/chat"])
def test_binary_arguments_encode_as_the_general_encoder_does(args: list[Any], nsp: str) -> None:
    # Events and acks whose arguments are binary skip the refused orjson call: same output.
    assert encode_event(nsp, "e", args, 7) == encode(Packet(P.EVENT, nsp, ["e", *args], 7))
    assert encode_ack(nsp, 7, args) == encode(Packet(P.ACK, nsp, args, 7))
    assert encode_ack(nsp, 7, tuple(args)) == encode(Packet(P.ACK, nsp, list(args), 7))
