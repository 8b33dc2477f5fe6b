"""``emit_with_ack(..., result=T)``: the acknowledgement validated and converted to ``T``, on
the client, the blocking client and the server's socket."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from pydantic import BaseModel

import tether
from tests.support import serving


class Receipt(BaseModel):
    id: int
    text: str


@dataclasses.dataclass
class Point:
    x: int
    y: int


def make_server() -> tether.Server:
    io = tether.Server()

    @io.on("receipt")
    def receipt(socket: tether.Socket, text: str) -> dict[str, Any]:
        return {"id": "7", "text": text}  # "7": converted to 7 by the result type

    @io.on("point")
    def point(socket: tether.Socket) -> tuple[int, int]:
        return 1, 2

    @io.on("strict")
    def strict(socket: tether.Socket, n: int) -> int:
        return n

    @io.on("bad")
    def bad(socket: tether.Socket) -> dict[str, Any]:
        return {"id": "not a number"}

    return io


async def test_client_converts_the_answer() -> None:
    io = make_server()
    async with serving(io) as port:
        client = tether.Client()
        await client.connect(f"http://127.0.0.1:{port}")
        try:
            got = await client.emit_with_ack("receipt", "hi", timeout=5, result=Receipt)
            assert got == Receipt(id=7, text="hi")
            # Several ack arguments come as a tuple: a tuple type converts them.
            assert await client.emit_with_ack("point", result=tuple[int, int]) == (1, 2)
            assert await client.emit_with_ack("receipt", "x", result=dict[str, Any]) == {
                "id": "7",
                "text": "x",
            }
            # Without result=, the answer as it came.
            assert await client.emit_with_ack("receipt", "y") == {"id": "7", "text": "y"}

            with pytest.raises(tether.InvalidAckError) as caught:
                await client.emit_with_ack("bad", timeout=5, result=Receipt)
            assert caught.value.ack == {"id": "not a number"}
            assert {tuple(d["loc"]) for d in caught.value.details} == {("id",), ("text",)}

            # The server refused the payload: its error object is the ack the error carries.
            with pytest.raises(tether.InvalidAckError) as refused:
                await client.emit_with_ack("strict", "x", timeout=5, result=int)
            assert refused.value.ack["error"] == "invalid_payload"
            assert refused.value.event == "strict"
        finally:
            await client.disconnect()


async def test_the_server_converts_the_clients_answer() -> None:
    io = tether.Server()
    answers: asyncio.Queue[Any] = asyncio.Queue()

    @io.on("connection")
    async def connected(socket: tether.Socket) -> None:
        async def ask() -> None:
            await answers.put(await socket.emit_with_ack("where", timeout=5, result=Point))
            try:
                await socket.timeout(5).emit_with_ack("where", result=Receipt)
            except tether.InvalidAckError as exc:
                await answers.put(exc)

        asyncio.get_running_loop().create_task(ask())

    async with serving(io) as port:
        client = tether.Client()

        @client.on("where")
        def where() -> dict[str, int]:
            return {"x": 3, "y": 4}

        await client.connect(f"http://127.0.0.1:{port}")
        try:
            assert await asyncio.wait_for(answers.get(), 5) == Point(3, 4)
            error = await asyncio.wait_for(answers.get(), 5)
            assert isinstance(error, tether.InvalidAckError) and error.ack == {"x": 3, "y": 4}
        finally:
            await client.disconnect()


def test_the_blocking_client_converts_too() -> None:
    io = make_server()

    async def run() -> None:
        async with serving(io) as port:

            def blocking() -> Receipt:
                with tether.SyncClient() as client:
                    client.connect(f"http://127.0.0.1:{port}")
                    return client.emit_with_ack("receipt", "sync", timeout=5, result=Receipt)

            assert await asyncio.to_thread(blocking) == Receipt(id=7, text="sync")

    asyncio.run(run())
