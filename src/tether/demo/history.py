"""The chat demo's memory: messages, DMs and user-created channels in SQLite.

All database work runs on one thread of its own (the event loop never waits on the disk):
each call of the async API is a job for that thread, and jobs run in the order they were
made. The file is in WAL mode with a busy timeout, so several processes (the workers of
``tether demo chat --workers N``, or separate servers) can share it.

Schema::

    channels(name TEXT PRIMARY KEY, created INTEGER)        -- user-created channels only
    messages(seq INTEGER PRIMARY KEY AUTOINCREMENT,         -- the order of the whole file
             conv TEXT,        -- "#channel", or "@a b" for the DMs of a and b (sorted)
             id TEXT UNIQUE,   -- the message id the pages see
             sender TEXT, recipient TEXT NULL, text TEXT, ts INTEGER)
    index messages(conv, seq)

A conversation keeps its last ``max_messages`` messages (the older ones are deleted as new
ones come). ``":memory:"`` keeps everything in this process only.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["History", "dm_key"]

T = TypeVar("T")

#: Messages kept per channel and per pair of DM correspondents (the oldest go first).
DEFAULT_MAX_MESSAGES = 10_000
#: How long a statement waits for another process's write lock before failing (seconds).
DEFAULT_BUSY_TIMEOUT = 5.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS channels (
    name TEXT PRIMARY KEY,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conv TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    sender TEXT NOT NULL,
    recipient TEXT,
    text TEXT NOT NULL,
    ts INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_conv ON messages (conv, seq);
"""


def dm_key(a: str, b: str) -> str:
    """The conversation of the direct messages between ``a`` and ``b`` (either way)."""
    first, second = sorted((a, b))
    return f"@{first} {second}"


def _entry(conv: str, row: tuple[Any, ...]) -> dict[str, Any]:
    id_, sender, recipient, text, ts = row
    if recipient is None:
        return {"id": id_, "channel": conv[1:], "from": sender, "text": text, "ts": ts}
    return {"id": id_, "from": sender, "to": recipient, "text": text, "ts": ts}


class History:
    """The chat's SQLite file (``path``, or ``":memory:"``), used from asyncio.

    ``max_messages``: messages kept per conversation (a channel, or the DMs of two people);
    ``busy_timeout``: seconds a write waits for another process holding the file's lock.
    """

    def __init__(
        self,
        path: str = ":memory:",
        *,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be >= 1")
        self.path = path
        self.max_messages = max_messages
        self.busy_timeout = busy_timeout
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._db: sqlite3.Connection | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    # -- the thread -----------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the history is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="tether-chat-history", daemon=True
                )
                self._thread.start()
                atexit.register(self.close_now)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                break
            job()
        if self._db is not None:
            self._db.close()
            self._db = None

    def _submit(self, func: Callable[[sqlite3.Connection], T]) -> concurrent.futures.Future[T]:
        self._start()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(func(self._connection()))
            except BaseException as exc:  # handed to the awaiting coroutine
                future.set_exception(exc)

        self._jobs.put(job)
        return future

    async def _call(self, func: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.wrap_future(self._submit(func))

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,  # transactions are explicit (BEGIN IMMEDIATE)
                check_same_thread=False,  # only this thread uses it; close_now may close it
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # durable through a crash of the process
            db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            db.executescript(_SCHEMA)
            self._db = db
        return self._db

    async def open(self) -> None:
        """Open the file (and create the tables) now rather than at the first call."""
        await self._call(lambda db: None)

    async def close(self) -> None:
        """Close the file once the calls made before have run; later calls fail."""
        done = self._close()
        if done is not None:
            await asyncio.wrap_future(done)

    def close_now(self, timeout: float = 5.0) -> None:
        """:meth:`close` from synchronous code (and at exit): waits up to ``timeout``."""
        done = self._close()
        if done is not None:
            done.result(timeout)

    def _close(self) -> concurrent.futures.Future[None] | None:
        with self._lock:
            if self._closed:
                return None
            self._closed = True
            if self._thread is None:
                return None
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        thread = self._thread

        def finish() -> None:
            thread.join()
            done.set_result(None)

        self._jobs.put(None)
        threading.Thread(target=finish, daemon=True).start()
        atexit.unregister(self.close_now)
        return done

    # -- messages -------------------------------------------------------------------------

    async def add(self, conv: str, entry: dict[str, Any]) -> None:
        """Store ``entry`` (``id``, ``from``, ``text``, ``ts``; ``to`` for a DM) in ``conv``
        (``"#channel"`` or :func:`dm_key`), and drop what is beyond ``max_messages``."""
        row = (conv, entry["id"], entry["from"], entry.get("to"), entry["text"], entry["ts"])
        keep = self.max_messages

        def add(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT INTO messages (conv, id, sender, recipient, text, ts)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    row,
                )
                oldest = db.execute(
                    "SELECT seq FROM messages WHERE conv = ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
                    (conv, keep),
                ).fetchone()
                if oldest is not None:
                    db.execute(
                        "DELETE FROM messages WHERE conv = ? AND seq <= ?", (conv, oldest[0])
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self._call(add)

    async def page(
        self, conv: str, *, before: str | None = None, limit: int = 50
    ) -> tuple[list[dict[str, Any]], bool]:
        """The last ``limit`` messages of ``conv`` (before the message ``before`` if given),
        oldest first, and whether there are older ones. An unknown ``before`` (a message
        dropped since, or of another conversation) has nothing before it."""

        def page(db: sqlite3.Connection) -> tuple[list[dict[str, Any]], bool]:
            bound: int | None = None
            if before is not None:
                found = db.execute(
                    "SELECT seq FROM messages WHERE id = ? AND conv = ?", (before, conv)
                ).fetchone()
                if found is None:
                    return [], False
                bound = found[0]
            rows = db.execute(
                "SELECT id, sender, recipient, text, ts FROM messages"
                " WHERE conv = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                (conv, bound if bound is not None else 2**63 - 1, limit + 1),
            ).fetchall()
            more = len(rows) > limit
            return [_entry(conv, row) for row in reversed(rows[:limit])], more

        return await self._call(page)

    async def count(self, conv: str) -> int:
        """How many messages ``conv`` keeps."""
        return await self._call(
            lambda db: int(
                db.execute("SELECT count(*) FROM messages WHERE conv = ?", (conv,)).fetchone()[0]
            )
        )

    # -- channels -------------------------------------------------------------------------

    async def channels(self) -> list[str]:
        """The user-created channels, sorted."""
        return await self._call(
            lambda db: [row[0] for row in db.execute("SELECT name FROM channels ORDER BY name")]
        )

    async def has_channel(self, name: str) -> bool:
        """Whether ``name`` is a user-created channel."""
        return await self._call(
            lambda db: (
                db.execute("SELECT 1 FROM channels WHERE name = ?", (name,)).fetchone() is not None
            )
        )

    async def create_channel(self, name: str, cap: int) -> str:
        """Create ``name`` unless it exists or there are ``cap`` channels: ``"created"``,
        ``"exists"`` or ``"full"`` (one transaction: two processes can't both create it)."""

        def create(db: sqlite3.Connection) -> str:
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute("SELECT 1 FROM channels WHERE name = ?", (name,)).fetchone():
                    return "exists"
                if db.execute("SELECT count(*) FROM channels").fetchone()[0] >= cap:
                    return "full"
                db.execute(
                    "INSERT INTO channels (name, created) VALUES (?, ?)",
                    (name, int(time.time() * 1000)),
                )
                return "created"
            finally:
                db.execute("COMMIT")

        return await self._call(create)

    async def delete_channel(self, name: str) -> bool:
        """Forget a user-created channel and its messages; whether it existed."""

        def delete(db: sqlite3.Connection) -> bool:
            db.execute("BEGIN IMMEDIATE")
            try:
                gone = db.execute("DELETE FROM channels WHERE name = ?", (name,)).rowcount > 0
                if gone:
                    db.execute("DELETE FROM messages WHERE conv = ?", ("#" + name,))
                return gone
            finally:
                db.execute("COMMIT")

        return await self._call(delete)
