"""``tether demo chat`` as a user starts it."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from tests.demo.test_static import get
from tests.support import ROOT, start_tether


async def open_demo(*args: str) -> tuple[asyncio.subprocess.Process, int]:
    process = await start_tether(*args, "--port", "0", stderr=asyncio.subprocess.DEVNULL)
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
    assert line.startswith("tether demo chat: open http://127.0.0.1:"), line
    return process, int(line.rstrip().rstrip("/").rsplit(":", 1)[1])


@pytest.mark.parametrize(
    "args", [["demo", "--db", ":memory:"], ["demo", "chat", "--host", "127.0.0.1", "--db", "{db}"]]
)
async def test_tether_demo_chat(args: list[str], tmp_path: Path) -> None:
    args = [arg.format(db=tmp_path / "chat.db") for arg in args]
    process, port = await open_demo(*args)
    try:
        status, _, body = await get(port, "/")
        assert status == 200 and b"tether chat" in body
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_tether_demo_chat_with_workers(tmp_path: Path) -> None:
    process, port = await open_demo("demo", "--workers", "2", "--db", str(tmp_path / "chat.db"))
    try:
        for _ in range(4):  # round robin: both workers answer
            status, _, body = await get(port, "/")
            assert status == 200 and b"tether chat" in body
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0


async def test_workers_need_a_database_file() -> None:
    process = await start_tether(
        "demo", "--workers", "2", "--db", ":memory:", stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 1
    assert b"--workers share the chat through a --db file" in err


async def test_redis_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    fake = tmp_path / "redis"  # as if the package were not installed
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'redis'\")\n")
    process = await start_tether(
        *("demo", "--redis", "redis://127.0.0.1:1/0", "--db", ":memory:"),
        env={"PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src"), str(ROOT)])},
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 1
    assert b"--redis needs the redis extra: pip install 'tether[redis]'" in err
