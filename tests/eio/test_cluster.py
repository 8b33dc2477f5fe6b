"""The cluster engine's messages and lock rules (tether.eio.cluster), without I/O."""

from __future__ import annotations

import msgpack
import pytest

from tether.eio.cluster import (
    ClusterOptions,
    MessageType,
    decode_message,
    encode_message,
    from_packet,
    lockable,
    new_node_id,
    to_packet,
)
from tether.eio.errors import ParseError


def test_message_types_are_numbered_as_nodes() -> None:
    assert [t.name for t in MessageType] == [
        "ACQUIRE_LOCK",
        "ACQUIRE_LOCK_RESPONSE",
        "DRAIN",
        "PACKET",
        "UPGRADE",
        "UPGRADE_RESPONSE",
        "CLOSE",
    ]
    assert [int(t) for t in MessageType] == list(range(7))


def test_a_message_round_trips_with_its_source() -> None:
    message = {
        "requestId": 3,
        "senderId": "a1b2c3",
        "type": 0,
        "data": {"sid": "x" * 20, "transportName": "polling", "type": "read"},
    }
    raw = encode_message(message)
    assert msgpack.unpackb(raw)["_source"] == "_eio"
    decoded = decode_message(raw)
    assert decoded is not None
    assert decoded["type"] is MessageType.ACQUIRE_LOCK
    assert decoded["data"] == message["data"]
    assert decoded["requestId"] == 3


def test_a_message_as_node_writes_it_is_read() -> None:
    # @msgpack/msgpack writes a Buffer as bin and strings as str; _source comes last.
    raw = msgpack.packb(
        {
            "senderId": "0f0f0f",
            "recipientId": "a1b2c3",
            "type": 2,
            "data": {
                "sid": "s" * 20,
                "packets": [
                    {"type": "message", "data": '2["hi"]'},
                    {"type": "message", "data": b"\x01\x02"},
                    {"type": "ping"},
                ],
            },
            "_source": "_eio",
        },
        use_bin_type=True,
    )
    decoded = decode_message(raw)
    assert decoded is not None and decoded["type"] is MessageType.DRAIN
    assert [to_packet(p) for p in decoded["data"]["packets"]] == ['42["hi"]', b"\x01\x02", "2"]


@pytest.mark.parametrize(
    "raw",
    [
        b"\xc1",  # never used in MessagePack
        msgpack.packb([1, 2]),
        msgpack.packb({"senderId": "a", "type": 0, "data": {}}),  # no _source
        msgpack.packb({"senderId": "a", "type": 0, "data": {}, "_source": "other"}),
        msgpack.packb({"senderId": "a", "type": 9, "data": {}, "_source": "_eio"}),
        msgpack.packb({"type": 0, "data": {}, "_source": "_eio"}),  # no sender
        msgpack.packb({"senderId": "a", "type": 0, "data": [], "_source": "_eio"}),
    ],
)
def test_what_is_not_a_message_is_ignored(raw: bytes) -> None:
    assert decode_message(raw) is None


@pytest.mark.parametrize(
    ("encoded", "packet"),
    [
        ("4hello", {"type": "message", "data": "hello"}),
        ("4", {"type": "message", "data": ""}),
        ("2", {"type": "ping"}),
        ("3probe", {"type": "pong", "data": "probe"}),
        ("6", {"type": "noop"}),
        ("1", {"type": "close"}),
        (b"\x00\xff", {"type": "message", "data": b"\x00\xff"}),
    ],
)
def test_packets_travel_as_nodes_packet_objects(
    encoded: str | bytes, packet: dict[str, object]
) -> None:
    assert from_packet(encoded) == packet
    assert to_packet(packet) == encoded


@pytest.mark.parametrize(
    "packet",
    [None, "4hi", {"type": "nope"}, {"type": "ping", "data": b"x"}, {"type": "message", "data": 3}],
)
def test_a_bad_packet_is_a_parse_error(packet: object) -> None:
    with pytest.raises(ParseError):
        to_packet(packet)


@pytest.mark.parametrize(
    ("transport", "lock", "state", "expected"),
    # state: (on polling, an upgrade under way, a GET pending at the owner)
    [
        # A GET only while none is pending at the owner; a POST any time while on polling.
        ("polling", "read", (True, False, False), True),
        ("polling", "read", (True, False, True), False),
        ("polling", "write", (True, False, True), True),
        ("polling", "write", (True, True, False), True),
        ("polling", "write", (False, False, False), False),
        ("polling", "read", (False, False, False), False),
        # A WebSocket only while polling and no upgrade is under way.
        ("websocket", "read", (True, False, True), True),
        ("websocket", "read", (True, True, False), False),
        ("websocket", "read", (False, False, False), False),
        ("webtransport", "read", (True, False, False), True),
        ("carrier-pigeon", "read", (True, False, False), False),
    ],
)
def test_lock_rules(
    transport: str, lock: str, state: tuple[bool, bool, bool], expected: bool
) -> None:
    polling, upgrading, poll_pending = state
    got = lockable(transport, lock, polling=polling, upgrading=upgrading, poll_pending=poll_pending)
    assert got is expected


def test_channels_and_node_ids() -> None:
    options = ClusterOptions()
    assert options.channel() == "engine.io#"
    assert options.channel("abc123") == "engine.io#abc123#"
    assert ClusterOptions(channel_prefix="p").channel("n") == "p#n#"
    node = new_node_id()
    assert len(node) == 6 and int(node, 16) >= 0


def test_defaults_are_nodes_and_negative_durations_are_refused() -> None:
    options = ClusterOptions()
    assert (options.response_timeout, options.noop_upgrade_interval) == (1.0, 0.2)
    assert options.delayed_connection_timeout == 0.3
    with pytest.raises(ValueError, match="response_timeout"):
        ClusterOptions(response_timeout=-1)
