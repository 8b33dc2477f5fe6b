"""Real headless Chromium (Debian's ``chromium``) driven by Playwright against the chat demo.

The chat server runs in a thread of the test process with its own event loop, so that a
test can reach into it (drop a client's transport, look at who is online). Chromium and
Playwright missing is a failure, not a skip: ``apt-get install chromium`` and
``pip install playwright`` (never ``playwright install``: the system browser is used).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from tether.aio.static import STATIC_DIR
from tether.cli.bundle import install
from tether.demo import ChatState, create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "tests/interop/node_modules/socket.io-client/dist"
SCREENSHOTS = ROOT / "artifacts/screenshots"
CHROMIUM = os.environ.get("TETHER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives headless Chromium through Playwright")


class ChatServer:
    """The chat demo on 127.0.0.1:<free port>, in a thread."""

    def __init__(self, port: int = 0, state: ChatState | None = None) -> None:
        self.state = state if state is not None else ChatState()
        self.loop = asyncio.new_event_loop()
        self.io: Any = None  # built in the loop
        self.port = port
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="chat-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())
        self.loop.close()

    async def _main(self) -> None:
        self.io = create_app(store=self.state)
        listener = await self.io.serve("127.0.0.1", self.port)
        self.port = listener.port
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await listener.shutdown(grace=0.5)
        await self.state.history.close()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            pytest.fail("the chat server did not start", pytrace=False)

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, func: Callable[[], T]) -> T:
        """Run ``func`` in the server's loop and return its result."""

        async def run() -> T:
            return func()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` in the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def online(self, nick: str) -> bool:
        return self.call(lambda: self.state.sid_of(nick) is not None)

    def drop(self, nick: str) -> str | None:
        """Cut the Engine.IO transport of ``nick`` from the server side, as a network failure
        would (``transport error``: the client reconnects); returns the transport it had, or
        None if it was gone already."""

        def cut() -> str | None:
            sid = self.state.sid_of(nick)
            if sid is None:
                return None
            socket = self.io.sockets.sockets[sid]
            transport = socket.transport
            socket.conn.engine.close_now("transport error")
            return transport

        return self.call(cut)


@pytest.fixture(scope="module")  # Playwright's sync API holds a loop: end it with the module
def browser() -> Iterator[Browser]:
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        found = shutil.which("chromium")
        pytest.fail(
            f"Chromium is missing ({CHROMIUM}{'; found ' + found if found else ''}): "
            "the browser tests need Debian's `apt-get install -y chromium` (or TETHER_CHROMIUM)",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "Playwright for Python is missing: `pip install playwright==1.65.2` "
            "(never `playwright install`: the system Chromium is used)",
            pytrace=False,
        )
    if not (STATIC_DIR / "socket.io.js").is_file():
        if not DIST.is_dir():
            pytest.fail(
                f"the socket.io-client bundle is missing from {STATIC_DIR} and {DIST}: "
                "run `tether bundle install` (or `make setup`)",
                pytrace=False,
            )
        install(DIST)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Chat:
    """The current chat server; :meth:`restart` replaces it by a new one on the same port."""

    def __init__(self) -> None:
        self.server = ChatServer()
        self.server.start()

    def restart(self) -> None:
        self.server.stop()
        self.server = ChatServer(self.server.port)
        self.server.start()


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    holder = Chat()
    try:
        yield holder.server
    finally:
        holder.server.stop()


@pytest.fixture
def restartable() -> Iterator[Chat]:
    holder = Chat()
    try:
        yield holder
    finally:
        holder.server.stop()


class DemoProcess:
    """``tether demo chat`` in a process of its own, as a user starts it (``args``: its
    options); :meth:`kill` ends it at once (SIGKILL: nothing is flushed at exit)."""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.port = 0
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tether", "demo", "chat", "--port", str(self.port), *self.args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        ready = threading.Event()
        lines: list[str] = []

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            lines.append(self.process.stdout.readline())
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(20) or "open http://" not in lines[0]:
            self.kill()
            pytest.fail(f"the demo did not start: {lines}", pytrace=False)
        self.port = int(lines[0].rstrip().rstrip("/").rsplit(":", 1)[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self._reap()

    def stop(self) -> None:
        """SIGTERM, as Ctrl+C would: the workers too."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(20)
                except subprocess.TimeoutExpired:
                    self.process.kill()
            self._reap()

    def _reap(self) -> None:
        assert self.process is not None
        self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None


def screenshot(page: Any, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
