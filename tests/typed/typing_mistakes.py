"""Mistakes that mypy and pyright must catch, because tether's decorators keep the types of
the handlers they register and ``fetch_sockets`` says what it returns (run by
tests/typed/test_typing.py: each line marked MISTAKE must be reported, and no other).

Were a decorator to return ``Any`` again, these lines would pass silently.
"""

from __future__ import annotations

from pydantic import BaseModel

import tether
from tether import Socket


class Question(BaseModel):
    q: str


class Answer(BaseModel):
    a: str


io = tether.Server()
chat_namespace = io.of("/chat")
client = tether.Client()


@io.use
def greet(socket: Socket) -> None:
    socket.data = {}


@io.on("upload")
def upload(socket: Socket, data: bytes) -> bytes:
    return data


@io.on("ask")
async def ask_server(socket: Socket, question: Question) -> Answer:
    return Answer(a=question.q)


@chat_namespace.on("count")
def count(socket: Socket, n: int) -> int:
    return n


@client.on("ask")
def ask(question: Question) -> Answer:
    return Answer(a=question.q)


async def mistakes(socket: Socket) -> None:
    @socket.on("double")
    def double(n: int) -> int:
        return 2 * n

    text: str = upload(socket, b"")  # MISTAKE: bytes is not str
    size: int = (await ask_server(socket, Question(q="?"))).a  # MISTAKE: str is not int
    here: Socket = (await io.fetch_sockets())[0]  # MISTAKE: it may be a RemoteSocket
    there: Socket = (await io.to("room").fetch_sockets())[0]  # MISTAKE: the same
    answer = ask(42)  # MISTAKE: an int is not a Question
    greet("socket")  # MISTAKE: a str is not a Socket
    doubled = double("2")  # MISTAKE: a str is not an int
    counted = count(socket, "3")  # MISTAKE: a str is not an int
    asked: str = await client.emit_with_ack("ask", {"q": "?"}, result=Answer)  # MISTAKE: Answer
    told: int = await socket.emit_with_ack("ask", {"q": "?"}, result=Answer)  # MISTAKE: the same
    print(text, size, here, there, answer, doubled, counted, asked, told)
