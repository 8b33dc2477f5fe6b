"""Runs an ASGI app under uvicorn on 127.0.0.1 and prints READY once it listens."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
import uvloop


def serve(app: Any, port: int) -> None:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        loop="none",  # uvloop.run below
        http="httptools",
        ws="websockets",
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                await task
                return
            await asyncio.sleep(0.01)
        print("READY", flush=True)
        await task

    uvloop.run(main())
