"""Typed events end to end: a real server on 127.0.0.1, tether's client and the official
socket.io-client; payloads validated from the handlers' annotations, error acks."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import logging
import subprocess
import sys
import textwrap
from typing import Any, Literal

import pytest
from pydantic import BaseModel, field_validator
from typing_extensions import TypedDict

import tether
from tests.interop.harness import INTEROP_DIR, require_node
from tests.support import ENV, serving
from tether.client import Client
from tether.errors import AckTimeoutError


class Author(BaseModel):
    name: str


class ChatMessage(BaseModel):
    text: str
    author: Author


class Receipt(BaseModel):
    id: int
    text: str


class Blob(BaseModel):
    name: str
    data: bytes


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Move(TypedDict):
    to: Point


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Fragile(BaseModel):
    x: int

    @field_validator("x")
    @classmethod
    def check(cls, value: int) -> int:
        raise RuntimeError("a bug in the application's validator")


class Question(BaseModel):
    q: str


class Answer(BaseModel):
    a: str


def typed_server(**options: Any) -> tuple[tether.Server, list[Any]]:
    io = tether.Server(**options)
    calls: list[Any] = []

    @io.on("chat")
    async def chat(socket: tether.Socket, msg: ChatMessage) -> Receipt:
        calls.append(msg)
        return Receipt(id=len(calls), text=msg.text)

    @io.on("chat_sync")
    def chat_sync(socket: tether.Socket, msg: ChatMessage) -> Receipt:
        calls.append(msg)
        return Receipt(id=len(calls), text=msg.text)

    @io.on("move")
    def move(socket: tether.Socket, m: Move, color: Color, mode: Literal["walk", "run"]) -> Point:
        assert isinstance(m["to"], Point) and isinstance(color, Color)
        return Point(m["to"].x + 1, m["to"].y)

    @io.on("either")
    def either(socket: tether.Socket, value: int | str) -> str:
        return type(value).__name__

    @io.on("upload")
    def upload(socket: tether.Socket, blob: Blob, extra: bytes = b"") -> Blob:
        assert isinstance(blob.data, bytes) and isinstance(extra, bytes)
        return Blob(name=blob.name.upper(), data=blob.data + extra)

    @io.on("pair")
    def pair(socket: tether.Socket, a: int, b: int = 0) -> tuple[int, str]:
        return a + b, "sum"

    @io.on("boom")
    def boom(socket: tether.Socket, n: int) -> int:
        raise RuntimeError("internal detail")

    @io.on("boom_async")
    async def boom_async(socket: tether.Socket, n: int) -> int:
        raise RuntimeError("internal detail")

    @io.on("fragile")
    def fragile(socket: tether.Socket, f: Fragile) -> None:
        calls.append(f)

    @io.on("plain")
    def plain(socket, *args):  # type: ignore[no-untyped-def]
        calls.append(args)
        return args

    @io.on("plain_one")
    def plain_one(socket, x):  # type: ignore[no-untyped-def]
        raise ValueError("no")

    @io.on("connection")
    def connected(socket: tether.Socket) -> None:
        @socket.on("private")
        def private(msg: ChatMessage) -> Receipt:
            calls.append(("private", msg))
            return Receipt(id=0, text=msg.text)

    return io, calls


GOOD = {"text": "hi", "author": {"name": "ann"}}


def invalid(event: str, *details: tuple[list[Any], str]) -> dict[str, Any]:
    return {
        "error": "invalid_payload",
        "event": event,
        "details": [{"loc": loc, "type": kind} for loc, kind in details],
    }


def without_msg(answer: Any) -> Any:
    """An error ack without the details' messages (pydantic's words)."""
    if isinstance(answer, dict) and "details" in answer:
        assert all(isinstance(d.pop("msg"), str) for d in answer["details"])
    return answer


async def connected_client(port: int, **options: Any) -> Client:
    client = Client(**options)
    await client.connect(f"http://127.0.0.1:{port}", transports=("websocket",))
    return client


async def test_valid_payloads_are_converted_and_returns_serialized() -> None:
    io, calls = typed_server()
    async with serving(io) as port:
        client = await connected_client(port)
        for event in ("chat", "chat_sync"):
            answer = await client.emit_with_ack(event, GOOD, timeout=2)
            assert answer == {"id": len(calls), "text": "hi"}  # a model is a dict on the wire
        assert calls == [ChatMessage(text="hi", author=Author(name="ann"))] * 2
        move = await client.emit_with_ack("move", {"to": {"x": 1, "y": 2}}, "red", "run", timeout=2)
        assert move == {"x": 2, "y": 2}
        assert await client.emit_with_ack("either", 3, timeout=2) == "int"
        assert await client.emit_with_ack("either", "3", timeout=2) == "str"
        assert await client.emit_with_ack("pair", 1, 2, timeout=2) == (3, "sum")
        assert await client.emit_with_ack("pair", "4", timeout=2) == (4, "sum")
        await client.disconnect()


async def test_binary_arguments_and_binary_acks() -> None:
    io, _ = typed_server()
    async with serving(io) as port:
        client = await connected_client(port)
        answer = await client.emit_with_ack(
            "upload", {"name": "f", "data": b"\x00\xff"}, b"\x01", timeout=2
        )
        assert answer == {"name": "F", "data": b"\x00\xff\x01"}  # still bytes: a binary ack
        await client.disconnect()


async def test_invalid_payloads_get_an_error_ack_and_the_connection_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    io, calls = typed_server()
    caplog.set_level(logging.DEBUG, logger="tether")
    async with serving(io) as port:
        client = await connected_client(port)
        answer = await client.emit_with_ack("chat", {"text": 5, "author": {}}, timeout=2)
        assert without_msg(answer) == invalid(
            "chat", ([0, "text"], "string_type"), ([0, "author", "name"], "missing")
        )
        answer = await client.emit_with_ack("chat_sync", "not a dict", timeout=2)
        assert without_msg(answer) == invalid("chat_sync", ([0], "model_type"))
        answer = await client.emit_with_ack("move", {"to": {"x": 1}}, "green", "fly", timeout=2)
        assert without_msg(answer) == invalid(
            "move", ([0, "to", "y"], "missing"), ([1], "enum"), ([2], "literal_error")
        )
        answer = await client.emit_with_ack("upload", {"name": "f", "data": 3}, timeout=2)
        assert without_msg(answer) == invalid("upload", ([0, "data"], "bytes_type"))
        # Missing and extra arguments: the arity of an annotated handler.
        assert await client.emit_with_ack("chat", timeout=2) == {
            "error": "invalid_payload",
            "event": "chat",
            "details": [{"loc": [], "msg": "expected 1 argument, got 0", "type": "arguments"}],
        }
        answer = await client.emit_with_ack("pair", 1, 2, 3, timeout=2)
        assert answer["details"] == [
            {"loc": [], "msg": "expected 1 to 2 arguments, got 3", "type": "arguments"}
        ]
        # Without an ack: not handled either; the server says so at DEBUG.
        client.emit("chat", {"text": "no author"})
        assert await client.emit_with_ack("chat", GOOD, timeout=2) == {"id": 1, "text": "hi"}
        assert calls == [ChatMessage(text="hi", author=Author(name="ann"))]
        await client.disconnect()
    logged = [r.getMessage() for r in caplog.records if "invalid payload" in r.getMessage()]
    assert len(logged) == 7 and all("no author" not in line for line in logged)


async def test_a_failing_handler_answers_with_an_error_object() -> None:
    io, _ = typed_server()
    async with serving(io) as port:
        client = await connected_client(port)
        for event in ("boom", "boom_async", "plain_one"):
            answer = await client.emit_with_ack(event, 1, timeout=2)
            assert answer == {"error": "handler_error", "event": event}
        # A validator of the application's that raises something else than a validation
        # error: a failure of the handler, logged, and the ack answered.
        answer = await client.emit_with_ack("fragile", {"x": 1}, timeout=2)
        assert answer == {"error": "handler_error", "event": "fragile"}
        # An unannotated handler called with the wrong arity: the TypeError is logged, as
        # before, and the ack answered.
        assert await client.emit_with_ack("plain_one", timeout=2) == {
            "error": "handler_error",
            "event": "plain_one",
        }
        await client.disconnect()


async def test_ack_errors_off_leaves_the_client_without_answer() -> None:
    io, calls = typed_server(ack_errors=False)
    async with serving(io) as port:
        client = await connected_client(port)
        for event, args in (("chat", ("bad",)), ("boom", (1,)), ("boom_async", (1,))):
            with pytest.raises(AckTimeoutError):
                await client.emit_with_ack(event, *args, timeout=0.3)
        assert await client.emit_with_ack("chat", GOOD, timeout=2) == {"id": 1, "text": "hi"}
        await client.disconnect()
    assert calls == [ChatMessage(text="hi", author=Author(name="ann"))]


async def test_unannotated_handlers_are_untouched() -> None:
    io, calls = typed_server()
    assert io.sockets.handlers["plain"].validator is None
    async with serving(io) as port:
        client = await connected_client(port)
        assert await client.emit_with_ack("plain", {"a": 1}, "x", timeout=2) == ({"a": 1}, "x")
        await client.disconnect()
    assert calls == [({"a": 1}, "x")]


async def test_socket_listeners_are_validated() -> None:
    io, calls = typed_server()
    async with serving(io) as port:
        client = await connected_client(port)
        assert await client.emit_with_ack("private", GOOD, timeout=2) == {"id": 0, "text": "hi"}
        answer = await client.emit_with_ack("private", {"text": "x"}, timeout=2)
        assert without_msg(answer) == invalid("private", ([0, "author"], "missing"))
        await client.disconnect()
    assert calls == [("private", ChatMessage(text="hi", author=Author(name="ann")))]


def test_signatures_that_cannot_receive_the_event_are_refused_at_registration() -> None:
    io = tether.Server()

    def no_socket() -> None:
        pass

    with pytest.raises(TypeError, match="socket as its first parameter"):
        io.on("x", no_socket)

    def needs_more(socket: tether.Socket, extra: int) -> None:
        pass

    with pytest.raises(TypeError, match="'connection' handler is called with the socket only"):
        io.on("connection", needs_more)

    def no_reason(socket: tether.Socket) -> None:
        pass

    with pytest.raises(TypeError, match="'disconnect' handler is called with the socket and one"):
        io.on("disconnect", no_reason)

    def keyword(msg: str, *, flag: bool) -> None:
        pass

    with pytest.raises(TypeError, match="keyword-only parameter 'flag'"):
        Client().on("news", keyword)
    assert "x" not in io.sockets.handlers


async def test_client_handlers_are_validated() -> None:
    io = tether.Server()
    answers: dict[str, Any] = {}
    done = asyncio.Event()

    @io.on("connection")
    async def connected(socket: tether.Socket) -> None:
        async def ask() -> None:
            answers["valid"] = await socket.emit_with_ack("ask", {"q": "why"}, timeout=2)
            answers["invalid"] = await socket.emit_with_ack("ask", {"x": 1}, timeout=2)
            answers["arity"] = await socket.emit_with_ack("ask", timeout=2)
            answers["failing"] = await socket.emit_with_ack("fail", {"q": "?"}, timeout=2)
            done.set()

        tether.handlers.spawn(ask(), "asking")

    got: list[Question] = []
    async with serving(io) as port:
        client = Client()

        @client.on("ask")
        def ask(question: Question) -> Answer:
            got.append(question)
            return Answer(a=question.q.upper())

        @client.on("fail")
        async def fail(question: Question) -> Answer:
            raise RuntimeError("internal")

        await client.connect(f"http://127.0.0.1:{port}")
        await asyncio.wait_for(done.wait(), 5)
        await client.disconnect()
    assert got == [Question(q="why")]
    assert answers["valid"] == {"a": "WHY"}
    assert without_msg(answers["invalid"]) == invalid("ask", ([0, "q"], "missing"))
    assert answers["arity"]["details"][0]["type"] == "arguments"
    assert answers["failing"] == {"error": "handler_error", "event": "fail"}


async def test_the_official_client_gets_the_error_ack() -> None:
    node = require_node()
    io, _ = typed_server()
    async with serving(io) as port:
        proc = await asyncio.create_subprocess_exec(
            node,
            str(INTEROP_DIR / "typed_ack_client.mjs"),
            f"http://127.0.0.1:{port}",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0
    valid, wrong, failing = (json.loads(line) for line in out.decode().splitlines())
    assert valid == {"id": 1, "text": "hi"}
    assert without_msg(wrong) == invalid("chat", ([0, "author"], "missing"))
    assert failing == {"error": "handler_error", "event": "boom"}


def test_without_pydantic_annotations_are_not_enforced() -> None:
    script = textwrap.dedent(
        """
        import asyncio, logging, sys
        sys.modules["pydantic"] = None  # as if tether[typed] were not installed
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
        import tether
        from tests.support import serving

        async def main() -> None:
            io = tether.Server()

            @io.on("count")
            def count(socket: tether.Socket, n: int) -> int:
                return n

            assert io.sockets.handlers["count"].validator is None
            async with serving(io) as port:
                client = tether.Client()
                await client.connect(f"http://127.0.0.1:{port}")
                print("ANSWER", await client.emit_with_ack("count", "not a number", timeout=2))
                await client.disconnect()

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=ENV, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "ANSWER not a number" in done.stdout
    assert done.stderr.count("handler annotations are not enforced") == 1
    assert "tether[typed]" in done.stderr
