"""The floor: the least a Python server on uvloop can do to answer the echo scenario.

Not a Socket.IO server. It answers the WebSocket upgrade without checking it, sends a
fixed Engine.IO open packet, answers ``40``, turns every ``42<id>["echo",...]`` text frame
into ``43<id>[...]`` by slicing, and every ``451-<id>["echo",...]`` + attachment into
``461-<id>[...]`` + the same attachment: no validation, no heartbeats, no JSON, no
namespaces. Its one helper is tether's C unmask (the same a tether server uses). What a
server spends per ack above this figure is the cost of its protocol handling; this figure
is the cost of Python + uvloop + the kernel. Only the ``echo`` and ``binary-*`` scenarios
are meaningful against it (``bench.run --servers floor-uvloop``).

Long-polling likewise (``polling``): requests parsed by httptools (as tether's are), a
session is a list of queued packets and the GET waiting for them; ``40`` and ``42<id>[...]``
in a POST body are answered as above, ``ok`` to the POST, and the queue to the waiting GET.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from typing import cast

import httptools
import uvloop

from tether.ws.frames import apply_mask

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OPEN = (
    b'0{"sid":"floor","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
)
CONNECT = b'40{"sid":"floor"}'
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: "


class Session:
    __slots__ = ("queue", "waiting")

    def __init__(self) -> None:
        self.queue: list[bytes] = []
        self.waiting: Floor | None = None

    def flush(self) -> None:
        if self.waiting is not None and self.queue:
            waiting, self.waiting = self.waiting, None
            waiting.respond(b"\x1e".join(self.queue))
            self.queue = []


SESSIONS: dict[bytes, Session] = {}


def frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((opcode, n)) + payload
    if n < 65536:
        return bytes((opcode, 126)) + n.to_bytes(2, "big") + payload
    return bytes((opcode, 127)) + n.to_bytes(8, "big") + payload


def text_frame(payload: bytes) -> bytes:
    return frame(0x81, payload)


class Floor(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = b""
        self.upgraded = False
        self.transport: asyncio.Transport | None = None
        self.http: httptools.HttpRequestParser | None = None
        self.url = b""
        self.body = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.http is not None:
            self.http.feed_data(data)
            return
        buf = self.buf + data if self.buf else data
        if not self.upgraded and b"transport=polling" in buf[:200]:
            self.http = httptools.HttpRequestParser(self)
            self.buf = b""
            self.http.feed_data(buf)
            return
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            request = buf[:end].lower()
            at = request.index(b"sec-websocket-key:") + 18
            key = buf[at : buf.index(b"\r\n", at)].strip()
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            assert self.transport is not None
            self.transport.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                + accept
                + b"\r\n\r\n"
                + text_frame(OPEN)
            )
            self.upgraded = True
            buf = buf[end + 4 :]
        pos = 0
        out = []
        while len(buf) - pos >= 6:
            opcode = buf[pos]
            n = buf[pos + 1] & 0x7F
            head = 6
            if n == 126:
                n = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 8
            elif n == 127:
                n = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 14
            if len(buf) - pos < head + n:
                break
            mask = buf[pos + head - 4 : pos + head]
            payload = apply_mask(buf[pos + head : pos + head + n], mask)
            pos += head + n
            if opcode == 0x82:  # the attachment of the binary echo before it
                out.append(frame(0x82, payload))
            elif payload[:2] == b"42":
                at = payload.index(b"[")
                comma = payload.index(b",", at)
                out.append(text_frame(b"43" + payload[2:at] + b"[" + payload[comma + 1 :]))
            elif payload[:3] == b"451":
                at = payload.index(b"[")
                comma = payload.index(b",", at)
                out.append(text_frame(b"461" + payload[3:at] + b"[" + payload[comma + 1 :]))
            elif payload == b"40":
                out.append(text_frame(CONNECT))
        self.buf = buf[pos:]
        if out:
            assert self.transport is not None
            self.transport.write(b"".join(out) if len(out) > 1 else out[0])

    # -- long-polling (httptools callbacks) ---------------------------------------------------

    def on_message_begin(self) -> None:
        self.url = b""
        self.body = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        assert self.http is not None
        at = self.url.find(b"sid=")
        if at < 0:  # the handshake
            sid = str(len(SESSIONS)).encode()
            SESSIONS[sid] = Session()
            self.respond(b'0{"sid":"' + sid + OPEN[len(b'0{"sid":"floor') :])
            return
        end = self.url.find(b"&", at)
        session = SESSIONS[self.url[at + 4 : end if end > 0 else None]]
        if self.http.get_method() == b"GET":
            session.waiting = self
            session.flush()
            return
        for packet in self.body.split(b"\x1e"):
            if packet[:2] == b"42":
                at = packet.index(b"[")
                comma = packet.index(b",", at)
                session.queue.append(b"43" + packet[2:at] + b"[" + packet[comma + 1 :])
            elif packet == b"40":
                session.queue.append(CONNECT)
        self.respond(b"ok")
        session.flush()

    def respond(self, body: bytes) -> None:
        assert self.transport is not None
        self.transport.write(OK + str(len(body)).encode() + b"\r\n\r\n" + body)


async def main() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Floor, "127.0.0.1", int(os.environ.get("PORT", "3000")))
    print("READY", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main())
