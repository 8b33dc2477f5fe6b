"""Differential tests against the reference parser, npm ``socket.io-parser``.

The copy used is the one the npm ``socket.io`` package in ``tests/interop`` depends on (4.2.7
when written). Every case is run through both decoders (and encoders) and the results must be
the same, except for the deliberate differences listed in ``tether.sio.decoder``, which are
checked to be real: the reference accepts those inputs, we refuse them.

Needs Node.js and ``npm ci`` in ``tests/interop`` (``make setup-node``).
"""

from __future__ import annotations

import base64
import json
import random
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.sio.test_decoder import INVALID, PH0, PH1, VALID
from tether.sio import MAX_ACK_ID, DecodeError, Decoder, EncodeError, Packet, PacketType, encode

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "reference_parser.cjs"
NODE_MODULES = HERE.parent / "interop" / "node_modules"

Messages = list[str | bytes]


# --- running both sides ----------------------------------------------------------------------


def to_wire(value: Any) -> Any:
    """JSON-friendly form of decoded data: bytes become {"$bin": base64}."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bin": base64.b64encode(value).decode()}
    if isinstance(value, list | tuple):
        return [to_wire(item) for item in value]
    if isinstance(value, dict):
        return {key: to_wire(item) for key, item in value.items()}
    return value


def packet_to_wire(packet: Packet) -> dict[str, Any]:
    out: dict[str, Any] = {"type": int(packet.type), "nsp": packet.nsp}
    if packet.data is not None:
        out["data"] = to_wire(packet.data)
    if packet.id is not None:
        out["id"] = packet.id
    return out


def message_to_wire(message: str | bytes) -> dict[str, str]:
    if isinstance(message, str):
        return {"t": message}
    return {"b": base64.b64encode(message).decode()}


def ours_decode(messages: Messages) -> dict[str, Any]:
    decoder = Decoder()
    packets: list[dict[str, Any]] = []
    for message in messages:
        try:
            if isinstance(message, str):
                packet = decoder.feed_text(message)
            else:
                packet = decoder.feed_binary(message)
        except DecodeError as exc:
            return {"packets": packets, "error": str(exc)}
        if packet is not None:
            packets.append(packet_to_wire(packet))
    return {"packets": packets, "error": None}


def ours_encode(packet: dict[str, Any]) -> Any:
    data = from_wire(packet["data"]) if "data" in packet else None
    try:
        parts = encode(Packet(PacketType(packet["type"]), packet["nsp"], data, packet.get("id")))
    except EncodeError as exc:
        return {"error": str(exc)}
    return [message_to_wire(part) for part in parts]


def from_wire(value: Any) -> Any:
    if isinstance(value, list):
        return [from_wire(item) for item in value]
    if isinstance(value, dict):
        if isinstance(value.get("$bin"), str):
            return base64.b64decode(value["$bin"])
        return {key: from_wire(item) for key, item in value.items()}
    return value


def run_reference(decode: list[Messages], encode: list[dict[str, Any]]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "socket.io" / "package.json").is_file():
        pytest.fail(
            "the reference parser needs Node.js and `make setup-node` (npm ci in tests/interop)",
            pytrace=False,
        )
    request = {
        "decode": [[message_to_wire(m) for m in messages] for messages in decode],
        "encode": encode,
    }
    done = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- corpora ---------------------------------------------------------------------------------

# Inputs the reference accepts by accident and we refuse (see the tether.sio.decoder docstring).
STRICTER: list[Messages] = [
    [""],
    ["\t"],
    ["2"],
    ["212"],
    ["2/admin,"],
    ['2/admin["a"]'],
    ["3"],
    ["31"],
    ["4"],
    ["51-", b"x"],
    ["61-1", b"x"],
    ["2" + "9" * 17 + '["a"]'],
    [f'2{MAX_ACK_ID + 1}["a"]'],
    ['5 1-["a",' + PH0 + "]", b"x"],
    ['51e0-["a",' + PH0 + "]", b"x"],
    ['50x1-["a",' + PH0 + "]", b"x"],
    ['51-["a",{"_placeholder":true,"num":0.0}]', b"x"],
    ['51-["a",{"_placeholder":true,"num":0.5}]', b"x"],
    ['2["a",1e400]'],
    ['2["a",' + "[" * 1100 + "]" * 1100 + "]"],
]
# Both accept, with a different result: JavaScript reads the space as an ack id of 0.
DIFFERENT: list[Messages] = [['2 ["a"]'], ['0 {"a":1}']]


def generated_decode_cases(count: int, seed: int) -> list[Messages]:
    """Packets assembled from pieces, none of which triggers a documented difference."""
    rng = random.Random(seed)
    types = "0123456789a/"
    attachments = ["", "1-", "2-", "0-", "3-", "11-", "-", "1", "a-", "01-"]
    namespaces = ["", "/", "/admin,", "/admin", "/a,b,", ",", "/é,"]
    ids = ["", "0", "7", "12", "007", str(MAX_ACK_ID)]
    payloads = [
        '["a"]',
        '["a",' + PH0 + "]",
        '["a",' + PH1 + "," + PH0 + "]",
        '["a",{"x":[' + PH0 + "]}]",
        '["a",{"_placeholder":true,"num":1}]',
        '["a",{"_placeholder":true,"num":-1}]',
        '["a",{"_placeholder":true,"num":"0"}]',
        '["a",{"_placeholder":false,"num":0}]',
        "[" + PH0 + "]",
        "[1,2]",
        "[1.5]",
        "[true]",
        "[]",
        '["connect"]',
        '["newListener",1]',
        '{"a":1}',
        '{"a":' + PH0 + "}",
        '"s"',
        "null",
        "1",
        "[",
        '["a"]]',
        '["é","😀"]',
    ]
    cases: list[Messages] = []
    for _ in range(count):
        text = (
            rng.choice(types)
            + rng.choice(attachments)
            + rng.choice(namespaces)
            + rng.choice(ids)
            + rng.choice(payloads)
        )
        messages: Messages = [text]
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            follow_ups: Messages = ['2["b"]', b"\x00\x01", b"", b"z"]
            messages.append(rng.choice(follow_ups))
        cases.append(messages)
    return cases


def random_data(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(10 if depth < 3 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.randrange(-(2**53) + 1, 2**53)
    if kind == 3:
        alphabet = 'aé😀\x00\x1f\x7f\u2028"\\/\n\t'
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(6)))
    if kind in (4, 5, 6):
        return {"$bin": base64.b64encode(rng.randbytes(rng.randrange(4))).decode()}
    if kind in (7, 8):
        return [random_data(rng, depth + 1) for _ in range(rng.randrange(4))]
    # Letters only: JavaScript puts integer-like keys first, whatever the insertion order.
    return {
        rng.choice("abcxyz") + str(i) + "k": random_data(rng, depth + 1)
        for i in range(rng.randrange(4))
    }


def generated_encode_cases(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    cases: list[dict[str, Any]] = []
    for _ in range(count):
        packet: dict[str, Any] = {"type": rng.choice([2, 3]), "nsp": rng.choice(["/", "/admin"])}
        packet["data"] = ["ev", *(random_data(rng) for _ in range(rng.randrange(4)))]
        if rng.random() < 0.5:
            packet["id"] = rng.randrange(1000)
        cases.append(packet)
    return cases


FIXED_ENCODE: list[dict[str, Any]] = [
    {"type": 0, "nsp": "/"},
    {"type": 0, "nsp": "/admin", "data": {"sid": "oSO0OpakMV_3jnilAAAA"}},
    {"type": 1, "nsp": "/admin"},
    {"type": 4, "nsp": "/", "data": {"message": "Not authorized"}},
    {"type": 4, "nsp": "/", "data": "Unauthorized"},
    {"type": 2, "nsp": "/", "data": ["foo"], "id": 12},
    {"type": 3, "nsp": "/admin", "data": [], "id": 13},
    {"type": 2, "nsp": "/admin", "data": ["baz", {"$bin": "AQI="}, {"$bin": "AwQ="}]},
    {"type": 3, "nsp": "/", "data": ["bar", {"$bin": "AQIDBA=="}], "id": 15},
    {"type": 2, "nsp": "", "data": ["x"]},
]


@cache
def reference_results() -> tuple[list[Messages], list[dict[str, Any]], dict[str, Any]]:
    """Run every case through the reference parser once (one Node process)."""
    decode_cases: list[Messages] = [
        *(messages for messages, _ in VALID),
        *(list[str | bytes]([text]) for text, _ in INVALID),
        *STRICTER,
        *DIFFERENT,
        *generated_decode_cases(3000, seed=5),
    ]
    encode_cases = [*FIXED_ENCODE, *generated_encode_cases(500, seed=7)]
    return decode_cases, encode_cases, run_reference(decode_cases, encode_cases)


# --- the tests -------------------------------------------------------------------------------


def test_reference_version() -> None:
    _, _, reference = reference_results()
    major, minor, *_ = reference["version"].split(".")
    assert (int(major), int(minor)) == (4, 2)


# Characters JavaScript's Number() reads as whitespace, hence as 0 or as nothing, in a header.
JS_SPACES = frozenset(" \t\n\v\f\r\u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff") | frozenset(
    map(chr, range(0x2000, 0x200B))
)


def documented_difference(messages: Messages, ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    """Name the documented difference that explains a disagreement, or "" if none does."""
    error = ours["error"] or ""
    first = messages[0]
    if isinstance(first, str):
        header = first.split("[", 1)[0].split('"', 1)[0]
        if first == "" or any(char in JS_SPACES for char in header + first[-1:]):
            return "whitespace or nothing read as a number"
        if any(char in header[1:] for char in "xXeE+.") and first[:1] in "56":
            return "attachment count in another notation"
    if "needs a payload" in error:
        # The packet we refused is the next one the reference returns (if it got that far).
        rest = theirs["packets"][len(ours["packets"]) :]
        if not rest or "data" not in rest[0]:
            return "missing payload"
    if error.startswith("invalid ack id"):
        return "ack id out of range"
    if error.startswith("illegal attachments: placeholder num"):
        return "placeholder num not an int"
    if error.startswith("invalid payload: ") and any(
        word in error for word in ("surrogate", "depth limit", "infinity")
    ):
        return "JSON orjson refuses"
    return ""


def test_decoders_agree() -> None:
    cases, _, reference = reference_results()
    unexplained = []
    explained: dict[str, int] = {}
    for messages, theirs in zip(cases, reference["decode"], strict=True):
        ours = ours_decode(messages)
        if ours["packets"] == theirs["packets"] and (ours["error"] is None) == (
            theirs["error"] is None
        ):
            continue
        reason = documented_difference(messages, ours, theirs)
        if reason:
            explained[reason] = explained.get(reason, 0) + 1
        else:
            unexplained.append((messages, ours, theirs))
    assert unexplained == []
    # Every documented difference is real: the reference parser does accept such input.
    assert set(explained) == {
        "whitespace or nothing read as a number",
        "attachment count in another notation",
        "missing payload",
        "ack id out of range",
        "placeholder num not an int",
        "JSON orjson refuses",
    }
    assert sum(explained.values()) < len(cases) // 10


@pytest.mark.parametrize("index", range(len(STRICTER)))
def test_documented_stricter_cases(index: int) -> None:
    cases, _, reference = reference_results()
    position = cases.index(STRICTER[index])
    theirs = reference["decode"][position]
    ours = ours_decode(STRICTER[index])
    assert theirs["error"] is None
    assert len(theirs["packets"]) == 1
    assert ours["error"] is not None
    assert ours["packets"] == []


@pytest.mark.parametrize("index", range(len(DIFFERENT)))
def test_documented_different_cases(index: int) -> None:
    cases, _, reference = reference_results()
    theirs = reference["decode"][cases.index(DIFFERENT[index])]
    ours = ours_decode(DIFFERENT[index])
    assert theirs["error"] is None
    assert ours["error"] is None
    assert theirs["packets"][0]["id"] == 0
    assert "id" not in ours["packets"][0]
    assert {**theirs["packets"][0], "id": None} == {**ours["packets"][0], "id": None}


def test_encoders_agree() -> None:
    _, cases, reference = reference_results()
    assert len(cases) == len(reference["encode"])
    for packet, theirs in zip(cases, reference["encode"], strict=True):
        assert ours_encode(packet) == theirs, packet
