"""Property tests: round trips under any chunking, and garbage never raises or over-buffers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tether.ws import Connection, ConnectionFailed, DeflateParams, Ping, Side
from tether.ws.deflate import Compressor
from tether.ws.frames import Opcode, build_frame

from .helpers import feed_split

messages = st.lists(
    st.one_of(st.text(max_size=300), st.binary(max_size=300)),
    max_size=8,
)
cuts = st.lists(st.integers(min_value=0, max_value=5000), max_size=12)
deflates = st.one_of(
    st.none(),
    st.builds(
        DeflateParams,
        server_no_context_takeover=st.booleans(),
        client_no_context_takeover=st.booleans(),
        server_max_window_bits=st.integers(min_value=9, max_value=15),
        client_max_window_bits=st.integers(min_value=9, max_value=15),
        threshold=st.integers(min_value=0, max_value=100),
    ),
)


def _feed(receiver: Connection, data: bytes, points: list[int]) -> list[object]:
    return list(feed_split(receiver, data, sorted(min(p, len(data)) for p in points)))


@given(messages, cuts, deflates, st.booleans())
def test_round_trip_any_chunking(
    sent: list[str | bytes], points: list[int], deflate: DeflateParams | None, to_server: bool
) -> None:
    client = Connection(Side.CLIENT, deflate=deflate)
    server = Connection(Side.SERVER, deflate=deflate)
    sender, receiver = (client, server) if to_server else (server, client)
    data = b"".join(
        sender.send_text(m) if isinstance(m, str) else sender.send_binary(m) for m in sent
    )
    assert _feed(receiver, data, points) == sent


def _fragments(data: bytes, sizes: list[int]) -> list[bytes]:
    parts = []
    pos = 0
    for size in sizes:
        parts.append(data[pos : pos + size])
        pos += size
    parts.append(data[pos:])
    return parts


@given(
    st.lists(
        st.tuples(
            st.one_of(st.text(max_size=200), st.binary(max_size=200)),
            st.lists(st.integers(min_value=0, max_value=60), max_size=5),
            st.booleans(),
        ),
        max_size=5,
    ),
    cuts,
    st.booleans(),
    st.booleans(),
)
def test_fragmented_with_pings(
    sent: list[tuple[str | bytes, list[int], bool]],
    points: list[int],
    compress: bool,
    to_server: bool,
) -> None:
    """Messages split into random fragments, pings between fragments, random chunking."""
    mask = b"\x01\x02\x03\x04" if to_server else None
    compressor = Compressor(15, False, 6, 8, 0) if compress else None
    deflate = DeflateParams(threshold=0) if compress else None
    receiver = Connection(Side.SERVER if to_server else Side.CLIENT, deflate=deflate)
    data = b""
    expected: list[object] = []
    for message, sizes, ping in sent:
        raw = message.encode() if isinstance(message, str) else message
        payload = compressor.compress(raw) if compressor else raw
        parts = _fragments(payload, sizes)
        for i, part in enumerate(parts):
            first = i == 0
            opcode = (Opcode.TEXT if isinstance(message, str) else Opcode.BINARY) if first else 0
            last = i == len(parts) - 1
            data += build_frame(opcode, part, fin=last, rsv1=first and compress, mask=mask)
            if ping and not last:
                data += build_frame(Opcode.PING, b"p", mask=mask)
                expected.append(Ping(b"p"))
        expected.append(message)
    assert _feed(receiver, data, points) == expected


LIMIT = 2000


def _check_bounded(conn: Connection) -> None:
    assert len(conn._buf) < 140
    held = sum(len(p) for p in conn._parts)
    assert held <= LIMIT


@settings(max_examples=300)
@given(st.binary(max_size=400), cuts, st.sampled_from(list(Side)), st.booleans())
def test_garbage_never_raises(data: bytes, points: list[int], side: Side, deflate: bool) -> None:
    conn = Connection(side, max_message_size=LIMIT, deflate=DeflateParams() if deflate else None)
    last = 0
    for cut in [*sorted(min(p, len(data)) for p in points), len(data)]:
        events = conn.receive_data(data[last:cut])
        last = cut
        _check_bounded(conn)
        for event in events:
            assert isinstance(event, str | bytes) or type(event).__module__ == "tether.ws.events"
            if isinstance(event, ConnectionFailed):
                assert event.code in (1002, 1007, 1009)
    conn.data_to_send()
    conn.receive_eof()
    assert conn.close_transport_now()


@st.composite
def mutated_streams(draw: st.DrawFn) -> bytes:
    """A valid client stream with a few bytes flipped, inserted or deleted."""
    mask = b"\x0a\x0b\x0c\x0d"
    frames = draw(
        st.lists(
            st.tuples(
                st.sampled_from([0, 1, 2, 8, 9, 10]),
                st.binary(max_size=150),
                st.booleans(),
            ),
            min_size=1,
            max_size=6,
        )
    )
    data = bytearray()
    for opcode, payload, fin in frames:
        if opcode >= 8:
            payload, fin = payload[:125], True
        data += build_frame(opcode, payload, fin=fin, mask=mask)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        pos = draw(st.integers(min_value=0, max_value=len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "flip":
            data[pos] ^= draw(st.integers(min_value=1, max_value=255))
        elif action == "insert":
            data.insert(pos, draw(st.integers(min_value=0, max_value=255)))
        elif len(data) > 1:
            del data[pos]
    return bytes(data)


@settings(max_examples=300)
@given(mutated_streams(), cuts, st.booleans())
def test_mutated_streams_never_raise(data: bytes, points: list[int], deflate: bool) -> None:
    conn = Connection(
        Side.SERVER, max_message_size=LIMIT, deflate=DeflateParams() if deflate else None
    )
    last = 0
    for cut in [*sorted(min(p, len(data)) for p in points), len(data)]:
        conn.receive_data(data[last:cut])
        last = cut
        _check_bounded(conn)
