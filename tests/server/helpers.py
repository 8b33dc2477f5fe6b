"""A minimal Socket.IO client for the server tests, made of our WebSocket client and the
``tether.sio`` codec (the official clients are exercised in tests/interop)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson

from tests.aio.helpers import WsClient
from tether import Server
from tether.sio import Decoder, Packet, PacketType, encode, encode_ack, encode_event


class SioClient:
    def __init__(self, ws: WsClient) -> None:
        self.ws = ws
        self.decoder = Decoder()
        self.eio_sid = ""
        self.sids: dict[str, str] = {}
        self.pids: dict[str, str] = {}
        self.packets: asyncio.Queue[Packet] = asyncio.Queue()
        self.closed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())
        self._ack_id = 0

    @classmethod
    async def open(cls, port: int, query: str = "") -> SioClient:
        ws = await WsClient.connect(port, f"/socket.io/?EIO=4&transport=websocket{query}")
        opening = await ws.recv()
        client = cls(ws)
        client.eio_sid = orjson.loads(opening[1:])["sid"]
        return client

    async def _read(self) -> None:
        try:
            while True:
                message = await self.ws.recv(timeout=3600)
                if message is None or not isinstance(message, str | bytes):
                    if message is None or type(message).__name__ == "Close":
                        break
                    continue
                if isinstance(message, str):
                    if message == "2":
                        self.ws.send("3")
                        continue
                    if message[0] != "4":
                        continue
                    packet = self.decoder.feed_text(message[1:])
                else:
                    packet = self.decoder.feed_binary(message)
                if packet is not None:
                    await self.packets.put(packet)
        finally:
            self.closed.set()

    def send_packet(self, packet: Packet) -> None:
        for part in encode(packet):
            self.ws.send("4" + part if isinstance(part, str) else part)

    async def connect(self, nsp: str = "/", auth: Any = None) -> Packet:
        self.send_packet(Packet(PacketType.CONNECT, nsp, auth))
        packet = await self.next(nsp)
        if packet.type is PacketType.CONNECT:
            self.sids[nsp] = packet.data["sid"]
            if "pid" in packet.data:
                self.pids[nsp] = packet.data["pid"]
        return packet

    def emit(self, event: str, *args: Any, nsp: str = "/", ack: bool = False) -> int | None:
        ack_id = None
        if ack:
            self._ack_id += 1
            ack_id = self._ack_id
        for part in encode_event(nsp, event, list(args), ack_id):
            self.ws.send("4" + part if isinstance(part, str) else part)
        return ack_id

    def ack(self, ack_id: int, *args: Any, nsp: str = "/") -> None:
        for part in encode_ack(nsp, ack_id, list(args)):
            self.ws.send("4" + part if isinstance(part, str) else part)

    async def call(self, event: str, *args: Any, nsp: str = "/") -> list[Any]:
        ack_id = self.emit(event, *args, nsp=nsp, ack=True)
        packet = await self.next(nsp)
        assert packet.type is PacketType.ACK, packet
        assert packet.id == ack_id
        return list(packet.data)

    async def next(self, nsp: str | None = None, timeout: float = 3.0) -> Packet:
        packet = await asyncio.wait_for(self.packets.get(), timeout)
        if nsp is not None:
            assert packet.nsp == nsp, packet
        return packet

    async def event(self, timeout: float = 3.0) -> list[Any]:
        packet = await self.next(timeout=timeout)
        assert packet.type is PacketType.EVENT, packet
        return list(packet.data)

    async def nothing(self, wait: float = 0.1) -> None:
        with contextlib.suppress(TimeoutError):
            packet = await asyncio.wait_for(self.packets.get(), wait)
            raise AssertionError(f"unexpected {packet}")

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader
        await self.ws.close()


GATE_REFUSAL = {"message": "not authorized", "data": {"code": 401}}


def add_gates(io: Server) -> dict[str, list[str]]:
    """Namespaces ``/sync`` and ``/async`` whose connection handler joins the room ``vip``
    and emits ``welcome`` 1 (the async one awaits, then emits ``welcome`` 2), then refuses
    with :data:`GATE_REFUSAL` unless ``auth.ok``. A second connection handler records the
    ids of the sockets it sees, by namespace (the returned dict): none after a refusal.
    """
    from tether import ConnectionRefusedError, Socket

    later: dict[str, list[str]] = {"/sync": [], "/async": []}

    def refuse_unless_ok(socket: Socket) -> None:
        if not socket.handshake.auth.get("ok"):
            raise ConnectionRefusedError(GATE_REFUSAL["message"], GATE_REFUSAL["data"])

    def after(socket: Socket) -> None:
        later[socket.nsp.name].append(socket.id)

    sync = io.of("/sync")

    @sync.on("connection")
    def sync_gate(socket: Socket) -> None:
        socket.join("vip")
        socket.emit("welcome", 1)
        refuse_unless_ok(socket)

    sync.on("connection", after)

    gated = io.of("/async")

    @gated.on("connection")
    async def async_gate(socket: Socket) -> None:
        socket.join("vip")
        socket.emit("welcome", 1)
        await asyncio.sleep(0.01)
        socket.emit("welcome", 2)
        refuse_unless_ok(socket)

    gated.on("connection", after)
    return later
