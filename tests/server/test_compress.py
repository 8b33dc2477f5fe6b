"""``compress(False)`` on a broadcast: with permessage-deflate on, the frame goes out
uncompressed (as Node's flag does); by default large messages are compressed."""

from __future__ import annotations

import asyncio

import orjson

import tether
from tests.aio.helpers import read_response
from tests.support import serving
from tether import ws


async def test_compress_flag_of_broadcasts() -> None:
    io = tether.Server(per_message_deflate=True)
    text = "hello " * 2000

    @io.on("send")
    def send(socket: tether.Socket, compress: bool) -> None:
        io.compress(compress).emit("big", text)

    async with serving(io) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        offer = ws.DeflateOptions()
        head, key = ws.build_client_request(
            f"127.0.0.1:{port}", "/socket.io/?EIO=4&transport=websocket", deflate=offer
        )
        writer.write(head)
        response = await read_response(reader)
        params = ws.check_client_response(response.status, response.headers, key, deflate=offer)
        assert params is not None
        conn = ws.Connection(ws.Side.CLIENT, max_message_size=10_000_000, deflate=params)
        pending: list[object] = []

        async def next_message() -> tuple[object, int]:
            """The next message and how many bytes its frames took on the wire."""
            used = 0
            while not pending:
                data = await asyncio.wait_for(reader.read(1), 5)
                used += len(data)
                pending.extend(conn.receive_data(data))
            return pending.pop(0), used

        assert str((await next_message())[0]).startswith("0{")
        writer.write(conn.send_text("40"))
        assert str((await next_message())[0]).startswith("40")
        sizes = {}
        for compress in (True, False):
            writer.write(conn.send_text("42" + orjson.dumps(["send", compress]).decode()))
            message, used = await next_message()
            assert orjson.loads(str(message)[2:]) == ["big", text]
            sizes[compress] = used
        writer.close()
    assert sizes[True] < 500 < len(text) < sizes[False]
