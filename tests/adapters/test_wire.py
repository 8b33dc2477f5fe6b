"""The sans-I/O wire of the Redis adapter: notepack's MessagePack and the messages, checked
directly and against notepack.io itself (the npm package Node's adapters use)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.interop.harness import INTEROP_DIR, require_node
from tether.adapters import notepack
from tether.adapters.base import BroadcastFlags, BroadcastOptions
from tether.adapters.cluster.wire import (
    Channels,
    ProtocolError,
    decode_broadcast,
    decode_message,
    decode_opts,
    encode_broadcast,
    encode_json,
    encode_opts,
)
from tether.sio import Packet, PacketType

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


@given(values)
def test_notepack_round_trips(value: object) -> None:
    assert notepack.unpack(notepack.pack(value)) == value


@given(st.binary())
def test_notepack_unpack_raises_only_its_error(data: bytes) -> None:
    with contextlib.suppress(notepack.NotepackError):
        notepack.unpack(data)


def test_notepack_details() -> None:
    # Dates are timestamps (extension -1), a naive one taken as UTC.
    moment = dt.datetime(2026, 11, 23, 12, 0, 0, 500000, tzinfo=dt.UTC)
    assert notepack.unpack(notepack.pack(moment)) == moment
    assert notepack.unpack(notepack.pack(moment.replace(tzinfo=None))) == moment
    # What notepack 2 wrote: undefined as fixext 1 of type 0, ArrayBuffer as ext of type 0.
    assert notepack.unpack(bytes.fromhex("d40000")) is None
    assert notepack.unpack(bytes.fromhex("c7030000aabb")[:-1] + b"\xcc") == b"\x00\xaa\xcc"
    # Any other extension comes back as [type, bytes], as notepack does.
    assert notepack.unpack(bytes.fromhex("d5050102")) == [5, b"\x01\x02"]
    assert notepack.pack({"s": {1}, "b": bytearray(b"x"), "m": memoryview(b"y")}) == (
        notepack.pack({"s": [1], "b": b"x", "m": b"y"})
    )
    with pytest.raises(notepack.NotepackError):
        notepack.pack(object())
    with pytest.raises(notepack.NotepackError):
        notepack.pack(2**64)
    with pytest.raises(notepack.NotepackError):
        notepack.unpack(b"\x92\x01")


NODE_ROUND_TRIP = """
import msgpack from "notepack.io";
import { createInterface } from "node:readline";
const out = [];
for await (const line of createInterface({ input: process.stdin })) {
  const [kind, payload] = JSON.parse(line);
  if (kind === "decode") {
    // Decode what Python packed, describe it, pack it again.
    const value = msgpack.decode(Buffer.from(payload, "hex"));
    const describe = (v) => Buffer.isBuffer(v) ? {buffer: v.toString("hex")}
      : v instanceof Date ? {date: v.toISOString()}
      : Array.isArray(v) ? v.map(describe)
      : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, describe(x)]))
      : v;
    out.push({ described: describe(value), repacked: msgpack.encode(value).toString("hex") });
  } else {
    // Values only Node makes: undefined, Date, typed arrays, ArrayBuffer.
    const made = {
      undefinedInArray: [1, undefined, 2],
      undefinedInObject: { a: undefined, b: 1 },
      date: new Date(Date.UTC(2026, 10, 23, 12, 0, 0, 250)),
      oldDate: new Date(Date.UTC(1960, 0, 1)),
      u8: new Uint8Array([1, 2, 3]),
      u16: new Uint16Array([1, 0xffff]),
      ab: new Uint8Array([9, 8]).buffer,
      big: 2 ** 53 - 1,
      neg: -(2 ** 40),
      float: 1.5,
    };
    out.push({ packed: msgpack.encode(made).toString("hex") });
  }
}
process.stdout.write(JSON.stringify(out));
"""


def run_node(lines: list[object]) -> list[dict[str, object]]:
    node = require_node()
    script = INTEROP_DIR / ".notepack_check.mjs"
    script.write_text(NODE_ROUND_TRIP)
    try:
        done = subprocess.run(
            [node, str(script)],
            input="\n".join(json.dumps(line) for line in lines) + "\n",
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    finally:
        script.unlink()
    result: list[dict[str, object]] = json.loads(done.stdout)
    return result


@pytest.mark.interop
def test_notepack_agrees_with_notepack_io() -> None:
    moment = dt.datetime(2026, 11, 23, 12, 0, 0, 250000, tzinfo=dt.UTC)
    sent: list[object] = [
        {"uid": "abc", "n": [0, 1, -1, 127, 128, -33, 65535, 2**32, -(2**31) - 1, 2**53 - 1]},
        {"bin": b"\x00\x01\xff", "long": b"x" * 70000, "text": "é" * 40, "none": None},
        [True, False, 1.25, -0.5, "", {"nested": [[], {}]}],
        {"when": moment},
    ]
    answers = run_node([["decode", notepack.pack(v).hex()] for v in sent] + [["make", None]])
    described = [a["described"] for a in answers[:-1]]
    assert described[0] == sent[0]
    assert described[1] == {
        "bin": {"buffer": "0001ff"},
        "long": {"buffer": "78" * 70000},
        "text": "é" * 40,
        "none": None,
    }
    assert described[2] == sent[2]
    assert described[3] == {"when": {"date": "2026-11-23T12:00:00.250Z"}}
    for value, answer in zip(sent, answers[:-1], strict=True):
        assert notepack.unpack(bytes.fromhex(str(answer["repacked"]))) == value
    made = notepack.unpack(bytes.fromhex(str(answers[-1]["packed"])))
    assert made == {
        "undefinedInArray": [1, None, 2],
        "undefinedInObject": {"b": 1},
        "date": dt.datetime(2026, 11, 23, 12, 0, 0, 250000, tzinfo=dt.UTC),
        "oldDate": dt.datetime(1960, 1, 1, tzinfo=dt.UTC),
        "u8": b"\x01\x02\x03",
        "u16": b"\x01\xff",  # Buffer.from(typed array) keeps the low byte of each item
        "ab": b"\x09\x08",
        "big": 2**53 - 1,
        "neg": -(2**40),
        "float": 1.5,
    }


def test_channels() -> None:
    channels = Channels("socket.io", "/chat")
    assert channels.broadcast == "socket.io#/chat#"
    assert channels.broadcast_pattern == "socket.io#/chat#*"
    assert channels.request == "socket.io-request#/chat#"
    assert channels.response == "socket.io-response#/chat#"
    assert channels.specific_response("u1") == "socket.io-response#/chat#u1#"
    assert channels.for_rooms(frozenset({"r"})) == "socket.io#/chat#r#"
    assert channels.for_rooms(frozenset({"r", "s"})) == "socket.io#/chat#"
    assert channels.for_rooms(frozenset()) == "socket.io#/chat#"
    assert channels.room_of("socket.io#/chat#r#") == "r"
    assert channels.room_of("socket.io#/chat#") == ""
    assert channels.room_of("socket.io#/other#") is None
    assert channels.room_of("socket.io#/chat#r") is None


def test_broadcast_messages_round_trip() -> None:
    opts = BroadcastOptions(
        frozenset({"a", "b"}),
        frozenset({"c"}),
        BroadcastFlags(volatile=True, compress=False, timeout=1.5),
    )
    packet = Packet(PacketType.EVENT, "/x", ["ev", b"\x01", {"k": None}])
    uid, decoded, decoded_opts = decode_broadcast(encode_broadcast("u", packet, opts))
    assert (uid, decoded, decoded_opts) == ("u", packet, opts)
    assert encode_opts(opts) == {
        "rooms": ["a", "b"],
        "except": ["c"],
        "flags": {"volatile": True, "compress": False, "timeout": 1500},
    }
    assert encode_opts(BroadcastOptions())["flags"] == {}


def test_what_node_may_send_is_read_leniently() -> None:
    # A packet without nsp is for "/", a binary event is an event, numbers name rooms.
    message = notepack.pack(["n", {"type": 5, "data": ["e", b"x"]}, {"rooms": [7, 1.0]}])
    _, packet, opts = decode_broadcast(message)
    assert packet == Packet(PacketType.EVENT, "/", ["e", b"x"])
    assert opts.rooms == {"7", "1"}
    assert decode_opts(None) == BroadcastOptions()
    assert decode_opts({"flags": None}) == BroadcastOptions()


@pytest.mark.parametrize(
    "message",
    [
        notepack.pack("x"),
        notepack.pack(["u", {"type": 0, "data": ["e"]}, {}]),
        notepack.pack(["u", {"type": 2, "data": []}, {}]),
        notepack.pack(["u", {"type": 2, "data": [1]}, {}]),
        notepack.pack(["u", {"type": 2, "data": ["e"], "nsp": 1}, {}]),
        notepack.pack(["u", {"type": 2, "data": ["e"]}, {"rooms": "r"}]),
        notepack.pack(["u", {"type": 2, "data": ["e"]}, {"rooms": [True]}]),
        notepack.pack(["u", {"type": 2, "data": ["e"]}, {"flags": [1]}]),
        notepack.pack(["u", {"type": 2, "data": ["e"]}, {"flags": {"timeout": "1"}}]),
        notepack.pack(["u", "packet", {}]),
        notepack.pack(["u", {"type": 2, "data": ["e"]}, 3]),
        b"\xc1",
    ],
)
def test_bad_broadcasts_raise_protocol_errors(message: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_broadcast(message)


def test_requests_and_responses() -> None:
    assert decode_message(b'{"type": 1, "requestId": "r"}') == {"type": 1, "requestId": "r"}
    assert decode_message(notepack.pack({"type": 9, "packet": b"\x01"})) == {
        "type": 9,
        "packet": b"\x01",
    }
    assert json.loads(encode_json({"data": [b"\x01\x02", {1}, (2,)]})) == {
        "data": [{"type": "Buffer", "data": [1, 2]}, [1], [2]]
    }
    for bad in (b"{", b"[1]", notepack.pack([1]), b"\xc1"):
        with pytest.raises(ProtocolError):
            decode_message(bad)
    with pytest.raises(TypeError):
        encode_json({"x": object()})
