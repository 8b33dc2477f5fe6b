"""Load ``psio_app.py`` on python-socketio or on tether (its import line changed, nothing
else); serve an ASGI app under uvicorn in the test's loop, or a module with
``tether serve`` (the native server hosting the ASGI app) in a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import types
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn

from tests.support import ENV, ROOT, free_port

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
async def uvicorn_serving(app: Any, lifespan: str = "on") -> AsyncIterator[int]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in this loop; its port."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan=lifespan,
        ws="websockets-sansio",
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


def tether_source(source: Path = APP_SOURCE) -> str:
    """The app's source with its import line changed to tether's."""
    text = source.read_text()
    assert text.count(IMPORT) == 1
    return text.replace(IMPORT, TETHER_IMPORT)


@contextlib.asynccontextmanager
async def tether_serving(target: str, cwd: Path) -> AsyncIterator[int]:
    """``python -m tether serve TARGET`` run from ``cwd`` (where its module is) on a free
    port, as a user runs it; its port once it accepts connections."""
    port = free_port()
    env = {**ENV, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tether",
        "serve",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                if proc.returncode is not None or asyncio.get_running_loop().time() > deadline:
                    assert proc.stderr is not None
                    error = await proc.stderr.read()
                    raise RuntimeError(
                        f"tether serve {target} did not start: {error.decode()}"
                    ) from None
                await asyncio.sleep(0.05)
            else:
                writer.close()
                break
        yield port
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()
