"""The server's own CPU per message, with no kernel and no network in the way.

A tether server's router is fed masked WebSocket frames by hand (the real ``HttpProtocol``
over :class:`tests.fakes.FakeTransport`, as the protocol tests do): the upgrade, the CONNECT,
then ``42<id>["echo", ...]`` events one frame at a time, each followed by one turn of the
event loop as a real read would be. Every ack written back is counted. The figure is the
process CPU time per message (``time.process_time``), so it leaves out the kernel's share of
the socket bench (``bench.run``) and most of the noise of a busy machine; it is the
interpreter's time on the per-message path, which compiled code (#20) goes after.

    python -m bench.micro [--messages N] [--rounds R] [--binary] [--parser json|msgpack]

Prints one JSON line per round and the median. ``PYTHONPATH`` chooses the tree of tether
(a worktree's ``src`` for a before/after).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import struct
import sys
import time
from typing import Any

from tests.fakes import get_connected_protocol

UPGRADE = (
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: bench\r\n"
    b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
MASK = b"\x01\x02\x03\x04"


def client_frame(payload: bytes, opcode: int = 1) -> bytes:
    """One masked frame, as a client sends it."""
    size = len(payload)
    if size < 126:
        header = bytes([0x80 | opcode, 0x80 | size])
    elif size < 65536:
        header = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", size)
    else:
        header = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", size)
    key = (MASK * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(
        size, "little"
    )
    return header + MASK + masked


def server_frames(data: bytes) -> list[bytes]:
    """The payloads of the (unmasked) frames the server wrote."""
    frames, at = [], 0
    while at < len(data):
        size = data[at + 1] & 0x7F
        at += 2
        if size == 126:
            (size,) = struct.unpack_from("!H", data, at)
            at += 2
        elif size == 127:
            (size,) = struct.unpack_from("!Q", data, at)
            at += 8
        frames.append(data[at : at + size])
        at += size
    return frames


def make_server(parser: str) -> Any:
    import tether

    io = tether.Server() if parser == "json" else tether.Server(parser=parser)

    @io.on("echo")
    def echo(socket: Any, *args: Any) -> tuple[Any, ...]:
        return args

    return io


def event_frames(count: int, binary: bool, parser: str, size: int = 1024) -> list[bytes]:
    """``count`` echo events with acks 0..count-1, each as the frames a client sends
    (binary ones carry ``size`` bytes)."""
    if parser == "msgpack":
        import msgpack

        body: Any = b"x" * size if binary else "x" * 16
        return [
            client_frame(msgpack.packb({"type": 2, "data": ["echo", body], "id": i, "nsp": "/"}), 2)
            for i in range(count)
        ]
    if binary:
        frames = []
        for i in range(count):
            header = f'451-{i}["echo",{{"_placeholder":true,"num":0}}]'.encode()
            frames.append(client_frame(header) + client_frame(b"x" * size, 2))
        return frames
    return [client_frame(f'42{i}["echo","{"x" * 16}"]'.encode()) for i in range(count)]


async def one_round(messages: int, binary: bool, parser: str, size: int = 1024) -> dict[str, Any]:
    io = make_server(parser)
    protocol, transport = get_connected_protocol(io.router)
    transport.feed(UPGRADE)
    await asyncio.sleep(0)
    opening = transport.take()
    assert opening.startswith(b"HTTP/1.1 101"), opening[:100]
    if parser == "msgpack":
        import msgpack

        connect = client_frame(msgpack.packb({"type": 0, "nsp": "/"}), 2)
    else:
        connect = client_frame(b"40")
    transport.feed(connect)
    for _ in range(3):
        await asyncio.sleep(0)
    transport.take()
    frames = event_frames(messages, binary, parser, size)
    feed = protocol.data_received
    written = transport.written
    acks = 0
    started = time.process_time()
    for frame in frames:
        feed(frame)
        await asyncio.sleep(0)
        if len(written) > 1 << 20:
            acks += len(server_frames(bytes(written)))
            written.clear()
    await asyncio.sleep(0)
    elapsed = time.process_time() - started
    acks += len(server_frames(bytes(written)))
    written.clear()
    expected = messages * (2 if binary and parser == "json" else 1)
    transport.lose()
    await io.close()
    return {
        "messages": messages,
        "frames_back": acks,
        "ok": acks == expected,
        "cpu_us_per_msg": round(elapsed / messages * 1e6, 3),
    }


async def loop_only(messages: int) -> float:
    """The event loop's own share: one turn per message with nothing to do."""
    started = time.process_time()
    for _ in range(messages):
        await asyncio.sleep(0)
    return (time.process_time() - started) / messages * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.micro", description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--binary", action="store_true", help="binary events (1 KiB)")
    parser.add_argument("--size", type=int, default=1024, help="bytes per binary event")
    parser.add_argument("--parser", default="json", choices=["json", "msgpack"])
    args = parser.parse_args(argv)
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    import tether

    figures = []
    for n in range(args.rounds):
        record = runner(one_round(args.messages, args.binary, args.parser, args.size))
        record["loop_us_per_msg"] = round(runner(loop_only(args.messages)), 3)
        record.update(round=n, tether=os.path.dirname(tether.__file__), parser=args.parser)
        print(json.dumps(record), flush=True)
        if not record["ok"]:
            print("acks missing", file=sys.stderr)
            return 1
        figures.append(record["cpu_us_per_msg"])
    print(f"median {statistics.median(figures):.3f} µs/msg over {args.rounds} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
