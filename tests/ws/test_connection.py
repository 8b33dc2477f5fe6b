"""The Connection state machine: receiving, failing, closing, sending."""

from __future__ import annotations

import os

import pytest

from tether.ws import (
    Close,
    Connection,
    ConnectionFailed,
    DeflateParams,
    InvalidStateError,
    Ping,
    Pong,
    Side,
    State,
)
from tether.ws.frames import Opcode, apply_mask, build_frame

from .helpers import MASK, Pair, client_frame, feed_bytewise, raw_frame


def unmask_client_frame(frame: bytes) -> tuple[int, bytes]:
    """Opcode and payload of a small masked frame a client produced."""
    assert frame[1] & 0x80
    n = frame[1] & 0x7F
    assert n < 126
    return frame[0] & 0x0F, apply_mask(frame[6 : 6 + n], frame[2:6])


class TestReceive:
    def test_text_and_binary(self) -> None:
        server = Connection(Side.SERVER)
        data = client_frame(Opcode.TEXT, "héllo".encode()) + client_frame(
            Opcode.BINARY, b"\x00\xff"
        )
        assert server.receive_data(data) == ["héllo", b"\x00\xff"]
        assert server.data_to_send() == []

    def test_empty_messages(self) -> None:
        server = Connection(Side.SERVER)
        data = client_frame(Opcode.TEXT) + client_frame(Opcode.BINARY)
        assert server.receive_data(data) == ["", b""]

    def test_empty_input(self) -> None:
        assert Connection(Side.SERVER).receive_data(b"") == []

    def test_bytearray_and_memoryview_input(self) -> None:
        server = Connection(Side.SERVER)
        frame = client_frame(Opcode.BINARY, b"abc")
        out = server.receive_data(bytearray(frame[:4]))
        out += server.receive_data(memoryview(frame)[4:])
        assert out == [b"abc"]
        assert type(out[0]) is bytes

    def test_fragmented_with_interleaved_controls(self) -> None:
        server = Connection(Side.SERVER)
        data = (
            client_frame(Opcode.TEXT, b"frag", fin=False)
            + client_frame(Opcode.PING, b"p1")
            + client_frame(Opcode.CONTINUATION, b"ment", fin=False)
            + client_frame(Opcode.PONG, b"p2")
            + client_frame(Opcode.CONTINUATION, b"")
            + client_frame(Opcode.BINARY, b"b1", fin=False)
            + client_frame(Opcode.CONTINUATION, b"b2")
        )
        assert server.receive_data(data) == [Ping(b"p1"), Pong(b"p2"), "fragment", b"b1b2"]
        assert server.data_to_send() == [build_frame(Opcode.PONG, b"p1")]

    def test_every_split_position(self) -> None:
        data = (
            client_frame(Opcode.TEXT, "κόσμε".encode(), fin=False)
            + client_frame(Opcode.PING, b"hi")
            + client_frame(Opcode.CONTINUATION, "€".encode())
            + client_frame(Opcode.BINARY, os.urandom(300))
            + client_frame(Opcode.CLOSE, b"\x03\xe8bye")
        )
        expected = Connection(Side.SERVER).receive_data(data)
        assert len(expected) == 4
        assert expected[0] == Ping(b"hi")
        assert expected[-1] == Close(1000, "bye")
        for cut in range(1, len(data)):
            server = Connection(Side.SERVER)
            got = server.receive_data(data[:cut]) + server.receive_data(data[cut:])
            assert got == expected, cut
            for second in range(cut + 1, min(cut + 8, len(data))):
                server = Connection(Side.SERVER)
                got = server.receive_data(data[:cut])
                got += server.receive_data(data[cut:second])
                got += server.receive_data(data[second:])
                assert got == expected, (cut, second)

    def test_split_positions_of_a_64_bit_length_frame(self) -> None:
        payload = "ü".encode() * 40000
        data = client_frame(Opcode.TEXT, payload) + client_frame(Opcode.BINARY, b"end")
        cuts = [*range(1, 20), *range(len(data) - 30, len(data))]
        for cut in cuts:
            server = Connection(Side.SERVER)
            got = server.receive_data(data[:cut]) + server.receive_data(data[cut:])
            assert got == ["ü" * 40000, b"end"], cut

    def test_bytewise_feeding(self) -> None:
        data = client_frame(Opcode.TEXT, "añb".encode() * 50, fin=False) + client_frame(
            Opcode.CONTINUATION, b"!"
        )
        assert feed_bytewise(Connection(Side.SERVER), data) == ["añb" * 50 + "!"]

    def test_client_side_receives_unmasked(self) -> None:
        client = Connection(Side.CLIENT)
        assert client.receive_data(build_frame(Opcode.TEXT, b"hi")) == ["hi"]
        assert client.receive_data(build_frame(Opcode.PING, b"x")) == [Ping(b"x")]
        (pong,) = client.data_to_send()
        assert unmask_client_frame(pong) == (Opcode.PONG, b"x")

    def test_large_frame_is_streamed_not_buffered(self) -> None:
        server = Connection(Side.SERVER, max_message_size=2_000_000)
        payload = os.urandom(1_000_000)
        frame = client_frame(Opcode.BINARY, payload)
        out = []
        for i in range(0, len(frame), 4096):
            out += server.receive_data(frame[i : i + 4096])
            assert len(server._buf) < 14
        assert out == [payload]

    def test_data_while_closing_is_delivered(self) -> None:
        server = Connection(Side.SERVER)
        server.send_close()
        assert server.state is State.CLOSING
        out = server.receive_data(client_frame(Opcode.TEXT, b"late") + client_frame(Opcode.PING))
        assert out == ["late", Ping(b"")]
        assert server.data_to_send() == []  # no pong after our close

    def test_fail_fast_utf8_off_checks_at_the_end(self) -> None:
        server = Connection(Side.SERVER, fail_fast_utf8=False)
        first = client_frame(Opcode.TEXT, b"\xce", fin=False)
        assert server.receive_data(first) == []
        assert server.receive_data(client_frame(Opcode.CONTINUATION, b"\xba")) == ["κ"]
        assert server.receive_data(first) == []
        out = server.receive_data(client_frame(Opcode.CONTINUATION, b"\xff", fin=False))
        assert out == []
        out = server.receive_data(client_frame(Opcode.CONTINUATION, b""))
        assert out == [ConnectionFailed(1007, "invalid UTF-8 in text")]

    def test_negative_limit_rejected(self) -> None:
        with pytest.raises(ValueError):
            Connection(Side.SERVER, max_message_size=-1)


def close_code_of(frame: bytes) -> int | None:
    payload = frame[2:] if not frame[1] & 0x80 else apply_mask(frame[6:], frame[2:6])
    return int.from_bytes(payload[:2], "big") if payload else None


FAILURES: list[tuple[str, Side, bytes, int]] = [
    ("unmasked client frame", Side.SERVER, build_frame(Opcode.TEXT, b"x"), 1002),
    ("masked server frame", Side.CLIENT, client_frame(Opcode.TEXT, b"x"), 1002),
    ("rsv1 without deflate", Side.SERVER, raw_frame(0xC1, b"x"), 1002),
    ("rsv2", Side.SERVER, raw_frame(0xA1, b"x"), 1002),
    ("rsv3", Side.SERVER, raw_frame(0x91, b"x"), 1002),
    *[(f"opcode {op}", Side.SERVER, raw_frame(0x80 | op), 1002) for op in (3, 4, 5, 6, 7)],
    *[(f"opcode {op}", Side.SERVER, raw_frame(0x80 | op), 1002) for op in (11, 12, 13, 14, 15)],
    ("long ping", Side.SERVER, raw_frame(0x89, b"x" * 126), 1002),
    ("fragmented ping", Side.SERVER, raw_frame(0x09, b"x"), 1002),
    ("orphan continuation", Side.SERVER, client_frame(Opcode.CONTINUATION, b"x"), 1002),
    (
        "text inside fragmented message",
        Side.SERVER,
        client_frame(Opcode.TEXT, b"a", fin=False) + client_frame(Opcode.TEXT, b"b"),
        1002,
    ),
    ("64-bit length with MSB", Side.CLIENT, b"\x82\x7f\x80" + bytes(7), 1002),
    ("invalid UTF-8", Side.SERVER, client_frame(Opcode.TEXT, b"\xff"), 1007),
    ("surrogate", Side.SERVER, client_frame(Opcode.TEXT, b"\xed\xa0\x80"), 1007),
    (
        "UTF-8 broken across fragments",
        Side.SERVER,
        client_frame(Opcode.TEXT, b"\xf4", fin=False)
        + client_frame(Opcode.CONTINUATION, b"\x90\x80\x80"),
        1007,
    ),
    (
        "UTF-8 truncated at message end",
        Side.SERVER,
        client_frame(Opcode.TEXT, b"\xe2\x82", fin=False) + client_frame(Opcode.CONTINUATION),
        1007,
    ),
    ("close payload of 1 byte", Side.SERVER, client_frame(Opcode.CLOSE, b"\x03"), 1002),
    ("close code 1005", Side.SERVER, client_frame(Opcode.CLOSE, b"\x03\xed"), 1002),
    ("close code 999", Side.SERVER, client_frame(Opcode.CLOSE, b"\x03\xe7"), 1002),
    ("close code 5000", Side.SERVER, client_frame(Opcode.CLOSE, b"\x13\x88"), 1002),
    ("close reason not UTF-8", Side.SERVER, client_frame(Opcode.CLOSE, b"\x03\xe8\xff"), 1007),
]


@pytest.mark.parametrize(("name", "side", "data", "code"), FAILURES, ids=[f[0] for f in FAILURES])
def test_failures(name: str, side: Side, data: bytes, code: int) -> None:
    conn = Connection(side)
    events = conn.receive_data(data)
    assert len(events) == 1
    failed = events[0]
    assert isinstance(failed, ConnectionFailed)
    assert failed.code == code
    assert conn.failed
    assert conn.state is State.CLOSED
    assert (conn.close_code, conn.close_reason) == (code, failed.reason)
    assert conn.close_transport_now()
    (close,) = conn.data_to_send()
    assert close[0] == 0x88
    assert close_code_of(close) == code
    assert bool(close[1] & 0x80) == (side is Side.CLIENT)
    # input is ignored from now on
    assert conn.receive_data(client_frame(Opcode.TEXT, b"more")) == []
    assert conn.data_to_send() == []


@pytest.mark.parametrize(("name", "side", "data", "code"), FAILURES, ids=[f[0] for f in FAILURES])
def test_failure_close_frames_carry_no_reason(
    name: str, side: Side, data: bytes, code: int
) -> None:
    # As Node's ws: the code only (engine.io-client's tests expect "" with a 1009).
    conn = Connection(side)
    conn.receive_data(data)
    (close,) = conn.data_to_send()
    payload = close[2:] if side is Side.SERVER else unmask_client_frame(close)[1]
    assert payload == code.to_bytes(2, "big")


class TestFail:
    """``fail()``: an error found above the WebSocket layer fails the connection."""

    def test_fail_an_open_connection(self) -> None:
        server = Connection(Side.SERVER)
        assert server.fail(1002) == build_frame(Opcode.CLOSE, b"\x03\xea")
        assert server.state is State.CLOSED
        assert server.failed
        assert (server.close_code, server.close_reason) == (1002, "")
        assert server.close_transport_now()
        assert not server.can_send
        with pytest.raises(InvalidStateError):
            server.send_text("after")
        assert server.receive_data(client_frame(Opcode.TEXT, b"ignored")) == []
        assert server.receive_data(client_frame(Opcode.CLOSE, b"\x03\xe8")) == []
        assert server.data_to_send() == []
        assert server.fail(1011) == b""
        assert server.close_code == 1002

    def test_fail_with_a_reason_or_without_a_code(self) -> None:
        server = Connection(Side.SERVER)
        assert server.fail(1008, "no") == build_frame(Opcode.CLOSE, b"\x03\xf0no")
        assert server.close_reason == "no"
        server = Connection(Side.SERVER)
        assert server.fail(None) == build_frame(Opcode.CLOSE, b"")
        assert server.close_code == 1005

    def test_fail_on_the_client_side_masks(self) -> None:
        client = Connection(Side.CLIENT)
        assert unmask_client_frame(client.fail(1002)) == (Opcode.CLOSE, b"\x03\xea")

    def test_fail_while_closing_sends_no_second_close_frame(self) -> None:
        server = Connection(Side.SERVER)
        server.send_close(1000)
        assert server.fail(1002) == b""
        assert server.state is State.CLOSED
        assert server.failed
        assert server.close_transport_now()

    def test_fail_after_the_close_handshake_changes_nothing(self) -> None:
        server = Connection(Side.SERVER)
        server.receive_data(client_frame(Opcode.CLOSE, b"\x03\xe8"))
        assert server.fail(1002) == b""
        assert not server.failed
        assert server.close_code == 1000
        assert server.data_to_send() == [build_frame(Opcode.CLOSE, b"\x03\xe8")]

    def test_codes_that_may_not_be_sent_are_refused(self) -> None:
        server = Connection(Side.SERVER)
        with pytest.raises(ValueError):
            server.fail(1006)
        with pytest.raises(ValueError):
            server.fail(1002, "x" * 124)
        assert server.state is State.OPEN


class TestFailFast:
    def test_invalid_utf8_fragment_fails_before_message_end(self) -> None:
        server = Connection(Side.SERVER)
        assert server.receive_data(client_frame(Opcode.TEXT, "κόσμε".encode(), fin=False)) == []
        out = server.receive_data(client_frame(Opcode.CONTINUATION, b"\xf4\x90", fin=False))
        assert out == [ConnectionFailed(1007, "invalid UTF-8 in text")]

    def test_invalid_utf8_inside_a_partial_frame(self) -> None:
        server = Connection(Side.SERVER)
        frame = client_frame(Opcode.TEXT, b"abc\xed\xa0\x80" + b"x" * 100)
        assert server.receive_data(frame[:9]) == []
        assert server.receive_data(frame[9:11]) == [ConnectionFailed(1007, "invalid UTF-8 in text")]

    def test_too_big_fails_on_the_header(self) -> None:
        server = Connection(Side.SERVER, max_message_size=1000)
        header = client_frame(Opcode.BINARY, bytes(1001))[:8]
        assert server.receive_data(header) == [ConnectionFailed(1009, "message too big")]
        assert close_code_of(server.data_to_send()[0]) == 1009

    def test_too_big_across_fragments(self) -> None:
        server = Connection(Side.SERVER, max_message_size=1000)
        assert server.receive_data(client_frame(Opcode.TEXT, b"a" * 600, fin=False)) == []
        head = client_frame(Opcode.CONTINUATION, b"a" * 401)[:8]
        assert server.receive_data(head) == [ConnectionFailed(1009, "message too big")]

    def test_exactly_the_limit(self) -> None:
        server = Connection(Side.SERVER, max_message_size=1000)
        data = client_frame(Opcode.TEXT, b"a" * 600, fin=False)
        data += client_frame(Opcode.CONTINUATION, b"a" * 400)
        assert server.receive_data(data) == ["a" * 1000]
        assert server.receive_data(client_frame(Opcode.BINARY, bytes(1000))) == [bytes(1000)]

    def test_huge_declared_length(self) -> None:
        client = Connection(Side.CLIENT)
        out = client.receive_data(b"\x82\x7f" + (2**62).to_bytes(8, "big"))
        assert out == [ConnectionFailed(1009, "message too big")]


class TestClosing:
    def test_peer_closes_first_server(self) -> None:
        server = Connection(Side.SERVER)
        out = server.receive_data(client_frame(Opcode.CLOSE, b"\x03\xe9going"))
        assert out == [Close(1001, "going")]
        assert server.state is State.CLOSED
        assert (server.close_code, server.close_reason) == (1001, "going")
        assert server.can_send  # the reply is still queued: late answers may go first
        assert server.send_text("late")
        assert server.data_to_send() == [build_frame(Opcode.CLOSE, b"\x03\xe9")]
        assert not server.can_send
        assert server.close_transport_now()
        assert not server.failed
        with pytest.raises(InvalidStateError):
            server.send_text("too late")
        assert server.send_close() == b""

    def test_peer_closes_first_client(self) -> None:
        client = Connection(Side.CLIENT)
        assert client.receive_data(build_frame(Opcode.CLOSE, b"")) == [Close(1005, "")]
        (reply,) = client.data_to_send()
        assert unmask_client_frame(reply) == (Opcode.CLOSE, b"")
        assert not client.close_transport_now()  # the server closes TCP first
        client.receive_eof()
        assert client.close_transport_now()
        assert client.close_code == 1005

    def test_we_close_first(self) -> None:
        pair = Pair()
        frame = pair.server.send_close(4000, "done")
        assert pair.server.state is State.CLOSING
        assert not pair.server.can_send
        assert not pair.server.close_transport_now()
        assert pair.server.send_close() == b""
        with pytest.raises(InvalidStateError):
            pair.server.send_binary(b"x")
        with pytest.raises(InvalidStateError):
            pair.server.send_ping()
        with pytest.raises(InvalidStateError):
            pair.server.send_pong()
        assert pair.client.receive_data(frame) == [Close(4000, "done")]
        (reply,) = pair.client.data_to_send()
        assert pair.server.receive_data(reply) == [Close(4000, "")]
        assert pair.server.state.name == "CLOSED"  # (mypy keeps the CLOSING narrowing)
        assert pair.server.close_transport_now()
        assert pair.server.data_to_send() == []

    def test_send_close_validates(self) -> None:
        server = Connection(Side.SERVER)
        with pytest.raises(ValueError):
            server.send_close(1005)
        with pytest.raises(ValueError):
            server.send_close(1000, "x" * 124)
        assert server.state is State.OPEN
        assert server.send_close(None) == b"\x88\x00"

    def test_input_after_close_is_ignored(self) -> None:
        server = Connection(Side.SERVER)
        data = client_frame(Opcode.CLOSE) + client_frame(Opcode.TEXT, b"x") + b"\xff\xff"
        assert server.receive_data(data) == [Close(1005, "")]
        assert server.receive_data(client_frame(Opcode.PING)) == []

    def test_eof_without_close(self) -> None:
        server = Connection(Side.SERVER)
        server.receive_data(client_frame(Opcode.TEXT, b"abc", fin=False))
        server.receive_eof()
        assert server.state is State.CLOSED
        assert server.close_code == 1006
        assert server.close_transport_now()
        assert not server.can_send
        assert server.receive_data(client_frame(Opcode.TEXT, b"x")) == []
        assert server.send_close() == b""

    def test_eof_after_clean_close_keeps_code(self) -> None:
        server = Connection(Side.SERVER)
        server.receive_data(client_frame(Opcode.CLOSE, b"\x03\xe8"))
        server.receive_eof()
        assert server.close_code == 1000

    def test_eof_while_closing(self) -> None:
        server = Connection(Side.SERVER)
        server.send_close()
        server.receive_eof()
        assert server.close_code == 1006

    def test_failure_after_our_close_sends_nothing_more(self) -> None:
        server = Connection(Side.SERVER)
        server.send_close()
        assert server.receive_data(b"\x81\x00") == [
            ConnectionFailed(1002, "unmasked frame from a client")
        ]
        assert server.data_to_send() == []
        assert server.close_transport_now()


class TestSending:
    def test_server_frames_are_unmasked_and_shareable(self) -> None:
        server = Connection(Side.SERVER)
        assert server.can_share_frames
        assert server.send_text("hé") == build_frame(Opcode.TEXT, "hé".encode())
        assert server.send_binary(b"\x01") == b"\x82\x01\x01"
        assert server.send_ping(b"p") == b"\x89\x01p"
        assert server.send_pong(b"q") == b"\x8a\x01q"

    def test_client_frames_are_masked_with_fresh_keys(self) -> None:
        client = Connection(Side.CLIENT)
        assert not client.can_share_frames
        frames = [client.send_text("hello") for _ in range(100)]
        assert len({frame[2:6] for frame in frames}) > 90
        assert all(unmask_client_frame(f) == (Opcode.TEXT, b"hello") for f in frames)
        assert unmask_client_frame(client.send_ping(b"x")) == (Opcode.PING, b"x")

    def test_deflate_server_cannot_share(self) -> None:
        assert not Connection(Side.SERVER, deflate=DeflateParams()).can_share_frames

    def test_control_payload_limit(self) -> None:
        with pytest.raises(ValueError):
            Connection(Side.SERVER).send_ping(b"x" * 126)


class TestPair:
    def test_round_trips(self) -> None:
        pair = Pair()
        assert pair.to_server(pair.client.send_text("ping?")) == ["ping?"]
        assert pair.to_client(pair.server.send_binary(b"pong!")) == [b"pong!"]
        assert pair.to_server(pair.client.send_ping(b"1")) == [Ping(b"1")]
        assert pair.to_client(pair.server.send_ping(b"2")) == [Ping(b"2")]

    @pytest.mark.parametrize("takeover", [True, False])
    def test_deflate_round_trips(self, takeover: bool) -> None:
        params = DeflateParams(
            server_no_context_takeover=not takeover,
            client_no_context_takeover=not takeover,
            threshold=10,
        )
        pair = Pair(deflate=params)
        text = "Socket.IO says hello " * 20
        for _ in range(3):
            frame = pair.client.send_text(text)
            assert frame[0] & 0x40
            assert len(frame) < len(text)
            assert pair.to_server(frame) == [text]
            frame = pair.server.send_binary(text.encode())
            assert frame[0] & 0x40
            assert pair.to_client(frame) == [text.encode()]
        small = pair.server.send_text("tiny")
        assert not small[0] & 0x40
        assert pair.to_client(small) == ["tiny"]

    @pytest.mark.parametrize("takeover", [True, False])
    def test_deflate_skipped_per_message(self, takeover: bool) -> None:
        params = DeflateParams(
            server_no_context_takeover=not takeover,
            client_no_context_takeover=not takeover,
            threshold=10,
        )
        pair = Pair(deflate=params)
        text = "Socket.IO says hello " * 20
        for compress in (True, False, True, False):
            frame = pair.server.send_text(text, compress=compress)
            assert bool(frame[0] & 0x40) is compress
            assert (len(frame) < len(text)) is compress
            assert pair.to_client(frame) == [text]
            frame = pair.server.send_binary(text.encode(), compress=compress)
            assert bool(frame[0] & 0x40) is compress
            assert pair.to_client(frame) == [text.encode()]
            frame = pair.client.send_text(text, compress=compress)
            assert bool(frame[0] & 0x40) is compress
            assert pair.to_server(frame) == [text]

    def test_deflate_fragmented_and_streamed(self) -> None:
        params = DeflateParams(threshold=0)
        server = Connection(Side.SERVER, deflate=params)
        client = Connection(Side.CLIENT, deflate=params)
        text = "".join(chr(0x400 + i % 200) for i in range(5000))
        frame = client.send_text(text)
        payload = apply_mask(frame[8:], frame[4:8]) if frame[1] & 0x7F == 126 else None
        assert payload is not None
        parts = [payload[i : i + 50] for i in range(0, len(payload), 50)]
        data = client_frame(Opcode.TEXT, parts[0], fin=False, rsv1=True)
        for part in parts[1:-1]:
            data += client_frame(Opcode.CONTINUATION, part, fin=False)
        data += client_frame(Opcode.CONTINUATION, parts[-1])
        assert feed_bytewise(server, data) == [text]

    def test_deflate_rsv1_rules(self) -> None:
        params = DeflateParams()
        server = Connection(Side.SERVER, deflate=params)
        bad = client_frame(Opcode.TEXT, b"", fin=False) + raw_frame(0xC0, b"")
        assert server.receive_data(bad) == [ConnectionFailed(1002, "reserved bits set")]
        server = Connection(Side.SERVER, deflate=params)
        assert server.receive_data(raw_frame(0xC9)) == [ConnectionFailed(1002, "reserved bits set")]

    def test_deflate_invalid_data(self) -> None:
        server = Connection(Side.SERVER, deflate=DeflateParams())
        out = server.receive_data(client_frame(Opcode.BINARY, b"\xff\xff", rsv1=True))
        assert out == [ConnectionFailed(1007, "invalid compressed data")]

    def test_deflate_bomb(self) -> None:
        params = DeflateParams(threshold=0, level=9)
        client = Connection(Side.CLIENT, deflate=params)
        server = Connection(Side.SERVER, deflate=params, max_message_size=100_000)
        frame = client.send_binary(bytes(10_000_000))
        assert len(frame) < 20_000
        assert server.receive_data(frame) == [ConnectionFailed(1009, "message too big")]

    def test_deflate_wire_limit(self) -> None:
        server = Connection(Side.SERVER, deflate=DeflateParams(), max_message_size=1000)
        header = client_frame(Opcode.BINARY, bytes(3000), rsv1=True)[:8]
        assert server.receive_data(header) == [ConnectionFailed(1009, "message too big")]

    def test_deflate_invalid_utf8(self) -> None:
        params = DeflateParams(threshold=0)
        client = Connection(Side.CLIENT, deflate=params)
        server = Connection(Side.SERVER, deflate=params)
        frame = client.send_binary(b"ok \xff")
        bad = bytes([frame[0] & 0xF0 | Opcode.TEXT]) + frame[1:]
        assert server.receive_data(bad) == [ConnectionFailed(1007, "invalid UTF-8 in text")]


def test_masks_refill() -> None:
    client = Connection(Side.CLIENT)
    for _ in range(100):
        client.send_binary(b"")
    assert client._mask_pos <= 256
    assert MASK  # used by helpers
