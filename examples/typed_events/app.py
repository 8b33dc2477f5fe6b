"""Typed events: the handlers' annotations are the contract, checked at run time (with
``tether[typed]``) and by mypy and pyright (``--strict``, no ignores) before it.

A server whose handlers take pydantic models, a dataclass, a TypedDict, a ``Literal`` and
``bytes``, and a :class:`tether.Client` whose handler answers the server; ``python app.py``
runs both on 127.0.0.1 and prints what goes back and forth.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Literal

from pydantic import BaseModel
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

import tether
from tether import RemoteSocket, Socket


class Author(BaseModel):
    name: str


class ChatMessage(BaseModel):
    text: str
    author: Author


class Receipt(BaseModel):
    id: int
    text: str


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Move(TypedDict):
    to: Point
    pace: Literal["walk", "run"]


class Question(BaseModel):
    q: str


class Answer(BaseModel):
    a: str


io = tether.Server(ack_errors=True)  # the default: invalid payloads get an error ack
received: list[ChatMessage] = []


@io.use
def greet(socket: Socket) -> None:
    """A connection middleware: it keeps its type too."""
    socket.data = {"greeted": True}


@io.on("connection")
async def connected(socket: Socket) -> None:
    socket.join("lobby")


@io.on("chat")
async def chat(socket: Socket, msg: ChatMessage) -> Receipt:
    received.append(msg)
    return Receipt(id=len(received), text=msg.text)


@io.on("move")
def move(socket: Socket, m: Move) -> Point:
    step = 2 if m["pace"] == "run" else 1
    return Point(m["to"].x + step, m["to"].y)


@io.on("upload")
def upload(socket: Socket, name: str, data: bytes) -> bytes:
    return data[::-1]  # sent back as binary


def where(found: Socket | RemoteSocket) -> str:
    """What ``fetch_sockets`` finds: this server's sockets, or those of another server of
    the cluster."""
    if isinstance(found, Socket):
        return f"{found.id} here, over {found.transport}"
    return f"{found.id} on another server"


async def lobby() -> list[str]:
    return [where(found) for found in await io.in_("lobby").fetch_sockets()]


client = tether.Client()


@client.on("ask")
def ask(question: Question) -> Answer:
    return Answer(a=question.q.upper())


async def main() -> None:
    listener = await io.serve("127.0.0.1", 0)
    try:
        await client.connect(f"http://127.0.0.1:{listener.port}")
        message = {"text": "hi", "author": {"name": "ann"}}
        print("chat ->", await client.emit_with_ack("chat", message, timeout=5))
        # result=: the answer validated and converted, and typed for the checkers.
        typed: Receipt = await client.emit_with_ack("chat", message, timeout=5, result=Receipt)
        print("typed ->", typed.id, typed.text)
        print("invalid ->", await client.emit_with_ack("chat", {"text": 1}, timeout=5))
        pace: dict[str, Any] = {"to": {"x": 1, "y": 2}, "pace": "run"}
        print("move ->", await client.emit_with_ack("move", pace, timeout=5))
        print("upload ->", await client.emit_with_ack("upload", "f", b"\x01\x02", timeout=5))
        print("lobby ->", await lobby())
        for found in await io.fetch_sockets():
            print("answer ->", await found.emit_with_ack("ask", {"q": "why"}, timeout=5))
            if isinstance(found, Socket):
                reply = await found.emit_with_ack("ask", {"q": "how"}, timeout=5, result=Answer)
                print("typed answer ->", reply.a)
        # Handlers stay callable with their own types.
        local = [found for found in await io.fetch_sockets() if isinstance(found, Socket)]
        receipt: Receipt = await chat(local[0], ChatMessage.model_validate(message))
        print("direct ->", receipt.model_dump())
        await client.disconnect()
    finally:
        await io.close()


if __name__ == "__main__":
    asyncio.run(main())
