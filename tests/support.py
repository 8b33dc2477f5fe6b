"""Plain helpers shared by the test folders (fixtures are in tests/conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from tether import Server

#: The repository's root (the working directory of the processes the tests start).
ROOT = Path(__file__).resolve().parents[1]

#: The environment of a process that imports ``tether`` from this checkout and ``tests``.
ENV = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}


def free_port() -> int:
    """A loopback port that nothing listens on (for a server in another process)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextlib.asynccontextmanager
async def serving(io: Server, port: int = 0) -> AsyncIterator[int]:
    """Serve ``io`` on loopback for the duration of the block; its port."""
    listener = await io.serve("127.0.0.1", port)
    try:
        yield listener.port
    finally:
        await listener.shutdown(grace=0.5)


async def until(
    condition: Callable[[], object], what: str = "the condition", timeout: float = 5.0
) -> None:
    """Poll ``condition`` until it is true: for a state that no event announces."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def start_tether(
    *args: str, env: dict[str, str] | None = None, **options: Any
) -> asyncio.subprocess.Process:
    """``python -m tether *args`` from the repository's root, as a user runs it; stdout is a
    pipe."""
    options.setdefault("stdout", asyncio.subprocess.PIPE)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tether", *args, cwd=ROOT, env={**ENV, **(env or {})}, **options
    )


class RedisServer:
    """A ``redis-server`` of the test's own, on 127.0.0.1 and a free port, no persistence."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="tether-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def numsub(self, channel: str) -> int:
        with redis.Redis(port=self.port) as client:
            return int(client.pubsub_numsub(channel)[0][1])
