"""``tether demo chat`` as a user starts it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.demo.test_static import get

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args", [["demo"], ["demo", "chat", "--host", "127.0.0.1"]])
async def test_tether_demo_chat(args: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tether",
        *args,
        "--port",
        "0",
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
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
