"""Load ``psio_app.py`` on python-socketio or on tether (its import line changed, nothing
else), and serve an ASGI app under uvicorn in the test's loop."""

from __future__ import annotations

import asyncio
import contextlib
import types
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn

from tests.support import free_port

APP_SOURCE = Path(__file__).with_name("psio_app.py")
IMPORT = "import socketio\n"
TETHER_IMPORT = "from tether.compat import socketio\n"


def load_app(flavour: str, source: Path = APP_SOURCE) -> types.ModuleType:
    """A fresh module of the app: ``"python-socketio"`` as written, ``"tether"`` with only
    its import line changed."""
    text = source.read_text()
    assert text.count(IMPORT) == 1
    if flavour == "tether":
        text = text.replace(IMPORT, TETHER_IMPORT)
    module = types.ModuleType(f"psio_app_{flavour.replace('-', '_')}")
    module.__file__ = str(source)
    exec(compile(text, str(source), "exec"), module.__dict__)
    return module


@contextlib.asynccontextmanager
async def uvicorn_serving(app: Any) -> AsyncIterator[int]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in this loop; its port."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped")
            await asyncio.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
