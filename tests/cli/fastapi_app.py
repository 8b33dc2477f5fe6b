"""A FastAPI app hosted by ``tether serve tests.cli.fastapi_app:app --workers 2``: REST routes
that emit to Socket.IO rooms, a streaming answer, an upload, its own WebSocket route, and a
lifespan whose state the routes read."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

import tether

io = tether.Server()


@io.on("whoami")
def whoami(socket: tether.Socket) -> int:
    return os.getpid()


@io.on("join")
def join(socket: tether.Socket, room: str) -> str:
    socket.join(room)
    return "joined"


@io.on("echo")
def echo(socket: tether.Socket, *args: Any) -> list[Any]:
    return list(args)


@asynccontextmanager
async def lifespan(api: FastAPI) -> AsyncIterator[dict[str, Any]]:
    print(f"lifespan startup {os.getpid()}", flush=True)
    yield {"started_by": os.getpid()}
    print(f"lifespan shutdown {os.getpid()}", flush=True)


api = FastAPI(lifespan=lifespan)


@api.post("/rooms/{room}/emit")
async def emit(room: str, payload: dict[str, Any]) -> dict[str, Any]:
    io.to(room).emit("news", payload["text"], os.getpid())
    return {"pid": os.getpid()}


@api.get("/state")
async def state(request: Request) -> dict[str, Any]:
    return {"started_by": request.state.started_by, "pid": os.getpid()}


@api.get("/stream")
async def stream(count: int = 3) -> StreamingResponse:
    async def lines() -> AsyncIterator[bytes]:
        for i in range(count):
            yield f"line {i}\n".encode()

    return StreamingResponse(lines(), media_type="text/plain")


@api.post("/upload")
async def upload(request: Request) -> dict[str, Any]:
    digest = hashlib.sha256()
    size = 0
    async for chunk in request.stream():
        digest.update(chunk)
        size += len(chunk)
    return {"size": size, "sha256": digest.hexdigest()}


@api.websocket("/ws")
async def websocket_echo(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol=websocket.scope["subprotocols"][0])
    try:
        while True:
            await websocket.send_text("echo: " + await websocket.receive_text())
    except WebSocketDisconnect:
        pass


app = tether.ASGIApp(io, other_asgi_app=api)
