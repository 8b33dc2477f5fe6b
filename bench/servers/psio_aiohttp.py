"""The benchmark contract on python-socketio attached to an aiohttp app, on uvloop."""

from __future__ import annotations

import asyncio
import os

import uvloop
from aiohttp import web

from bench.servers.psio_app import make


async def main(port: int) -> None:
    app = web.Application()
    make("aiohttp").attach(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("READY", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    uvloop.run(main(int(os.environ.get("PORT", "3000"))))
