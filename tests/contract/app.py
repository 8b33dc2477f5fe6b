"""A test app whose handlers and declarations cover every kind of type the contract tools
describe (``tether typegen tests.contract.app:io``)."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Literal, NotRequired

from pydantic import BaseModel
from typing_extensions import TypedDict

import tether


class Color(enum.Enum):
    """A colour."""

    RED = "red"
    GREEN = "green"


class Point(TypedDict):
    x: float
    y: float
    label: NotRequired[str]


@dataclasses.dataclass
class Shape:
    """A shape to draw."""

    kind: Literal["circle", "square"]
    points: list[Point]
    color: Color = Color.RED
    tags: dict[str, int] = dataclasses.field(default_factory=dict)


class Receipt(BaseModel):
    """What the server answers."""

    id: int
    note: str | None = None


class Tick(BaseModel):
    n: int
    at: tuple[int, str]


io = tether.Server()
io.declare("tick", Tick, doc="A tick, every second.")
io.declare("blob", bytes, str)
io.declare("question", str, ack=bool)
io.declare("ping-all", ack=())


@io.on("draw")
async def draw(socket: tether.Socket, shape: Shape) -> Receipt:
    """Draw a shape.

    More text that is not part of the summary.
    """
    return Receipt(id=1)


@io.on("upload")
def upload(socket: tether.Socket, name: str, data: bytes, private: bool = False) -> tuple[int, str]:
    return len(data), name


@io.on("log")
def log(socket: tether.Socket, *lines: str) -> None:
    pass


@io.on("fire")
def fire(socket: tether.Socket, level: int | None) -> None:
    pass


@io.on("legacy")
def legacy(socket, *args):  # type: ignore[no-untyped-def]
    return args


@io.on("half")
def half(socket: tether.Socket, value: Any):  # type: ignore[no-untyped-def]
    return value


@io.on("disconnect")
def gone(socket: tether.Socket, reason: str) -> None:
    pass


admin = io.of("/admin-room")
admin.declare("alert", Literal["low", "high"], list[Color])


@admin.on("kick")
async def kick(socket: tether.Socket, who: str, why: str | None = None) -> bool:
    return True


def make_app() -> tether.Server:
    """An app factory (``tether typegen tests.contract.app:make_app`` calls it)."""
    made = tether.Server()
    made.declare("made", int)
    return made
