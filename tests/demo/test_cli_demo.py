"""``tether demo chat`` as a user starts it."""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.demo.test_static import get
from tests.support import start_tether


@pytest.mark.parametrize("args", [["demo"], ["demo", "chat", "--host", "127.0.0.1"]])
async def test_tether_demo_chat(args: list[str]) -> None:
    process = await start_tether(*args, "--port", "0", stderr=asyncio.subprocess.DEVNULL)
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        assert line.startswith("tether demo chat: open http://127.0.0.1:"), line
        port = int(line.rstrip().rstrip("/").rsplit(":", 1)[1])
        status, _, body = await get(port, "/")
        assert status == 200 and b"tether chat" in body
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
