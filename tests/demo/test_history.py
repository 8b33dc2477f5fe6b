"""The chat's SQLite history (tether.demo.history): paging, caps, reopening the file, and
several connections and processes on one file."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support import ENV, ROOT
from tether.demo.history import History, dm_key


def entry(i: int, sender: str = "ada", prefix: str = "m", to: str | None = None) -> dict[str, Any]:
    found = {"id": f"{prefix}-{i}", "from": sender, "text": f"text {i}", "ts": 1000 + i}
    if to is not None:
        found["to"] = to
    return found


@pytest.fixture
async def history(tmp_path: Path) -> Any:
    found = History(str(tmp_path / "chat.db"), max_messages=1000)
    yield found
    await found.close()


async def test_pages_go_back_to_the_first_message(history: History) -> None:
    for i in range(120):
        await history.add("#general", entry(i))
    await history.add("#random", entry(0, prefix="r"))
    last, more = await history.page("#general", limit=50)
    assert [m["id"] for m in last] == [f"m-{i}" for i in range(70, 120)] and more
    assert last[0] == {
        "id": "m-70",
        "channel": "general",
        "from": "ada",
        "text": "text 70",
        "ts": 1070,
    }
    older, more = await history.page("#general", before="m-70", limit=50)
    assert [m["id"] for m in older] == [f"m-{i}" for i in range(20, 70)] and more
    first, more = await history.page("#general", before="m-20", limit=50)
    assert [m["id"] for m in first] == [f"m-{i}" for i in range(20)] and not more
    assert await history.page("#general", before="m-0") == ([], False)
    # an id of another conversation, or one never seen, has nothing before it
    assert await history.page("#general", before="r-0") == ([], False)
    assert await history.page("#general", before="nope") == ([], False)
    assert await history.page("#empty") == ([], False)
    exact, more = await history.page("#general", before="m-50", limit=50)
    assert len(exact) == 50 and not more


async def test_direct_messages_are_one_conversation_either_way(history: History) -> None:
    assert dm_key("bob", "ada") == dm_key("ada", "bob") == "@ada bob"
    await history.add(dm_key("ada", "bob"), entry(1, "ada", to="bob"))
    await history.add(dm_key("bob", "ada"), entry(2, "bob", to="ada"))
    await history.add(dm_key("ada", "eve"), entry(3, "ada", to="eve"))
    messages, more = await history.page(dm_key("ada", "bob"))
    assert messages == [
        {"id": "m-1", "from": "ada", "to": "bob", "text": "text 1", "ts": 1001},
        {"id": "m-2", "from": "bob", "to": "ada", "text": "text 2", "ts": 1002},
    ]
    assert not more


async def test_each_conversation_keeps_its_last_max_messages(tmp_path: Path) -> None:
    history = History(str(tmp_path / "capped.db"), max_messages=10)
    try:
        for i in range(25):
            await history.add("#general", entry(i))
        for i in range(3):
            await history.add("#random", entry(i, prefix="r"))
        assert await history.count("#general") == 10
        assert await history.count("#random") == 3
        messages, more = await history.page("#general", limit=50)
        assert [m["id"] for m in messages] == [f"m-{i}" for i in range(15, 25)] and not more
        assert await history.page("#general", before="m-3") == ([], False)  # dropped
    finally:
        await history.close()
    with pytest.raises(ValueError):
        History(max_messages=0)


async def test_a_reopened_file_has_everything(tmp_path: Path) -> None:
    path = str(tmp_path / "chat.db")
    first = History(path)
    await first.add("#general", entry(1))
    await first.add(dm_key("ada", "bob"), entry(2, to="bob"))
    assert await first.create_channel("ops", 10) == "created"
    await first.close()
    with pytest.raises(RuntimeError):
        await first.page("#general")

    again = History(path)
    try:
        assert [m["id"] for m in (await again.page("#general"))[0]] == ["m-1"]
        assert [m["to"] for m in (await again.page(dm_key("bob", "ada")))[0]] == ["bob"]
        assert await again.channels() == ["ops"]
        await again.add("#ops", entry(3))
        assert await again.delete_channel("ops")  # with its messages
        assert not await again.delete_channel("ops")
        assert await again.count("#ops") == 0
        assert await again.channels() == []
    finally:
        await again.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


async def test_channel_creation_is_one_transaction(history: History) -> None:
    outcomes = await asyncio.gather(*(history.create_channel("same", 3) for _ in range(5)))
    assert sorted(outcomes) == ["created", "exists", "exists", "exists", "exists"]
    assert await history.create_channel("two", 3) == "created"
    assert await history.create_channel("three", 3) == "created"
    assert await history.create_channel("four", 3) == "full"
    assert await history.has_channel("two") and not await history.has_channel("four")
    assert await history.channels() == ["same", "three", "two"]


async def test_two_connections_on_one_file(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    one, two = History(path), History(path)
    try:
        await asyncio.gather(
            *(one.add("#general", entry(i, prefix="one")) for i in range(100)),
            *(two.add("#general", entry(i, prefix="two")) for i in range(100)),
        )
        assert await one.count("#general") == await two.count("#general") == 200
        assert await one.create_channel("ops", 5) == "created"
        assert await two.create_channel("ops", 5) == "exists"
        seen, _ = await two.page("#general", limit=200)
        for prefix in ("one", "two"):  # each connection's messages in the order it added them
            assert [m["id"] for m in seen if m["id"].startswith(prefix)] == [
                f"{prefix}-{i}" for i in range(100)
            ]
    finally:
        await one.close()
        await two.close()


WRITER = """
import asyncio, sys
from tether.demo.history import History

async def main():
    history = History(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(200):
        await history.add("#general", {"id": f"proc-{i}", "from": "bob", "text": "x", "ts": i})
    await history.close()

asyncio.run(main())
"""


async def test_two_processes_write_to_one_file(tmp_path: Path) -> None:
    path = str(tmp_path / "processes.db")
    history = History(path)
    await history.open()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER,
        path,
        cwd=ROOT,
        env=ENV,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        assert await asyncio.wait_for(process.stdout.readline(), 10) == b"ready\n"
        process.stdin.write(b"go\n")
        for i in range(200):
            await history.add("#general", entry(i, prefix="here"))
        assert await asyncio.wait_for(process.wait(), 30) == 0
        assert await history.count("#general") == 400
        seen, more = await history.page("#general", limit=400)
        assert not more
        for prefix in ("proc", "here"):
            assert [m["id"] for m in seen if m["id"].startswith(prefix)] == [
                f"{prefix}-{i}" for i in range(200)
            ]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await history.close()


async def test_a_locked_file_does_not_block_the_event_loop(tmp_path: Path) -> None:
    """Another process holding the write lock makes a write wait (busy timeout), on the
    history's thread: the loop carries on meanwhile."""
    path = str(tmp_path / "locked.db")
    history = History(path)
    await history.open()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    loop_thread = threading.get_ident()
    try:
        writing = asyncio.ensure_future(history.add("#general", entry(1)))
        ticks = 0
        for _ in range(20):  # 0.2 s of a loop that keeps running
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not writing.done()
        other.execute("COMMIT")
        await asyncio.wait_for(writing, 5)
        assert await history.count("#general") == 1
        assert history._thread is not None and history._thread.ident != loop_thread
    finally:
        other.close()
        await history.close()
