"""The testing tool (:mod:`tether.tool`) in headless Chromium: mounted on a tether server (same
origin), and served by ``tether tool`` against a Node ``socket.io`` 4.8 server (CORS "*").
Connect, events received (a broadcast, binary), emits with their acks (binary from hex),
a refused connection's message and data, polling only, the saved profiles and history."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

import tether
from tests.browser.conftest import ROOT, screenshot
from tests.interop.harness import ServerProcess
from tether import tool

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.browser

WAIT = 10_000  # ms
#: The screenshot of the docs (docs/tool.md), replaced when TETHER_UPDATE_SCREENSHOTS=1.
DOCS_SCREENSHOT = ROOT / "docs/tool.png"


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


class ToolServer:
    """A tether server with the tool mounted, in a thread with its own loop: ``echo`` answers
    its arguments, ``bytes`` keeps what it gets (and answers its size), ``/private`` refuses
    a socket without ``auth.token``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.io = tether.Server()
        self.port = 0
        self.received: list[tuple[Any, ...]] = []
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="tool-server", daemon=True)
        io = self.io
        tool.mount(io)

        @io.on("echo")
        def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
            return args

        @io.on("bytes")
        def keep(socket: tether.Socket, *args: Any) -> int:
            self.received.append(args)
            return len(args[-1])

        def refuse(socket: tether.Socket) -> None:
            if not socket.handshake.auth.get("token"):
                raise tether.ConnectionRefusedError("unauthorized", {"reason": "no token"})

        io.of("/private").use(refuse)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())
        self.loop.close()

    async def _main(self) -> None:
        listener = await self.io.serve("127.0.0.1", 0)
        self.port = listener.port
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await listener.shutdown(grace=0.5)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            pytest.fail("the server did not start", pytrace=False)

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, func: Any) -> Any:
        """Run ``func`` in the server's loop and return its result."""

        async def run() -> Any:
            return func()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)

    def transport_of(self, sid: str) -> str:
        return str(self.call(lambda: self.io.sockets.sockets[sid].transport))


@pytest.fixture(scope="module")
def server() -> Iterator[ToolServer]:
    running = ToolServer()
    running.start()
    try:
        yield running
    finally:
        running.stop()


class TetherTool:
    """``tether tool --port 0`` in a process of its own, as a user starts it."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tether", "tool", "--port", "0"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"},
            stdout=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert self.process.stdout is not None
            lines.append(self.process.stdout.readline())
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        found = re.search(r"open (http://\S+)", lines[0]) if ready.wait(20) else None
        if found is None:
            self.stop()
            pytest.fail(f"tether tool did not start: {lines}", pytrace=False)
        self.url = found.group(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def open_tool(browser: Browser, url: str) -> tuple[Page, list[str]]:
    """The tool's page, ready; the page's uncaught errors land in the list."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 860}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=WAIT)
    return page, errors


def connect(
    page: Page,
    url: str | None = None,
    *,
    namespaces: str = "/",
    auth: str = "",
    transports: str = "polling,websocket",
) -> None:
    if url is not None:
        page.fill("#url", url)
    page.fill("#namespaces", namespaces)
    page.fill("#auth", auth)
    page.select_option("#transports", transports)
    page.click("#connect")


def emit(page: Page, event: str, args: str = "", *, hex: str = "", ack: bool = True) -> Locator:
    """Emit from the form; the log's entry of that emit (the newest of its event)."""
    page.fill("#emit-event", event)
    page.fill("#emit-args", args)
    page.fill("#emit-hex", hex)
    page.set_checked("#emit-ack", ack)
    page.click("#emit")
    return entry(page, event, "out")


def entry(page: Page, event: str, direction: str = "in") -> Locator:
    """The newest entry of the log for ``event`` (the log shows the newest first)."""
    return page.locator(f'#log [data-event="{event}"][data-direction="{direction}"]').first


def test_the_tool_on_a_tether_server(browser: Browser, server: ToolServer) -> None:
    page, errors = open_tool(browser, server.url + "/tool/")
    # The form starts with the page's own server.
    assert page.input_value("#url") == server.url
    connect(page, auth='{"name": "<i>browser</i>"}')
    expect(page.locator("#state")).to_have_text("connected", timeout=WAIT)
    expect(page.locator("#transport")).to_have_text("websocket", timeout=WAIT)  # upgraded
    sid = page.text_content("#socket-id")
    assert sid and server.transport_of(sid) == "websocket"
    expect(entry(page, "connect", "system")).to_contain_text(sid)

    # A broadcast from the server, shown as text (never as HTML).
    server.call(lambda: server.io.emit("news", {"headline": "<b>hi</b>"}, 42))
    news = entry(page, "news")
    expect(news.get_by_test_id("args")).to_have_text('{\n  "headline": "<b>hi</b>"\n}\n42')
    expect(news.locator(".ns")).to_have_text("/")
    assert page.locator("#log b, #log i").count() == 0

    # An emit with an ack: the answer beside the emit.
    sent = emit(page, "echo", '[1, "two", {"three": 3}]')
    expect(sent.get_by_test_id("args")).to_have_text('1\n"two"\n{\n  "three": 3\n}')
    expect(sent.get_by_test_id("ack")).to_have_attribute("data-state", "ok", timeout=WAIT)
    expect(sent.get_by_test_id("ack-args")).to_have_text('1\n"two"\n{\n  "three": 3\n}')
    # One JSON value is one argument.
    sent = emit(page, "echo", '{"only": true}')
    expect(sent.get_by_test_id("ack-args")).to_have_text('{\n  "only": true\n}', timeout=WAIT)

    # Binary both ways: received as size and hex, sent from hex as bytes.
    server.call(lambda: server.io.emit("blob", {"data": bytes(range(40))}))
    expect(entry(page, "blob").get_by_test_id("args")).to_have_text(
        '{\n  "data": <binary 40 bytes: ' + " ".join(f"{i:02x}" for i in range(32)) + " …>\n}"
    )
    sent = emit(page, "bytes", '"label"', hex="de ad be ef")
    expect(sent.get_by_test_id("args")).to_have_text('"label"\n<binary 4 bytes: de ad be ef>')
    expect(sent.get_by_test_id("ack-args")).to_have_text("4", timeout=WAIT)
    assert server.received == [("label", b"\xde\xad\xbe\xef")]

    # Bad JSON is said, nothing is sent.
    page.fill("#emit-args", "[1,")
    page.click("#emit")
    expect(page.get_by_test_id("emit-error")).to_contain_text("arguments:")
    page.fill("#emit-args", "")

    # Filter, pause, copy as JSON.
    page.fill("#filter", "ech")
    expect(page.locator("#log .entry:visible")).to_have_count(2)
    page.fill("#filter", "")
    page.click("#pause")
    server.call(lambda: server.io.emit("later", 1))
    expect(page.get_by_test_id("buffered")).to_have_text("1 held", timeout=WAIT)
    assert page.locator('#log [data-event="later"]').count() == 0
    page.click("#pause")
    expect(entry(page, "later")).to_be_visible()
    page.click("#copy")
    expect(page.locator("#copy-status")).to_contain_text("copied", timeout=WAIT)
    copied = json.loads(page.evaluate("navigator.clipboard.readText()"))
    events = [(item["direction"], item["event"]) for item in copied]
    assert ("in", "news") in events and ("out", "echo") in events
    (blob,) = [item for item in copied if item["event"] == "blob"]
    assert blob["args"] == [{"data": {"$binary": {"size": 40, "hex": bytes(range(40)).hex()}}}]
    (echoed,) = [item for item in copied if item["event"] == "echo" and item["ack"]["args"][0] == 1]
    assert echoed["ack"]["args"] == [1, "two", {"three": 3}]

    if os.environ.get("TETHER_UPDATE_SCREENSHOTS") == "1":
        page.fill("#emit-event", "echo")
        page.fill("#emit-args", '["hello", {"n": 1}]')
        page.evaluate("window.scrollTo(0, 0)")
        shutil.copy(screenshot(page, "tool"), DOCS_SCREENSHOT)

    # The history of emits, kept in the browser's storage.
    history = page.get_by_test_id("history-item")
    expect(history).to_have_count(3)
    expect(history.first).to_contain_text("/ bytes")
    page.reload()
    page.wait_for_selector("body[data-ready=true]", timeout=WAIT)
    expect(history).to_have_count(3)
    history.nth(1).click()
    assert page.input_value("#emit-event") == "echo"
    assert page.input_value("#emit-args") == '{"only": true}'
    assert errors == []
    page.context.close()


def test_a_refused_connection_and_polling_only(browser: Browser, server: ToolServer) -> None:
    page, errors = open_tool(browser, server.url + "/tool/")
    connect(page, namespaces="/private")
    expect(page.locator("#state")).to_have_text("error", timeout=WAIT)
    expect(page.get_by_test_id("error-message")).to_have_text("unauthorized")
    expect(page.get_by_test_id("error-data")).to_have_text('{\n  "reason": "no token"\n}')
    expect(page.locator('#sockets [data-ns="/private"] .nstate')).to_have_text("error")

    # A token lets it in; the error goes. Over polling, the extra headers go too.
    page.fill("#query", "room=blue&n=1")
    page.fill("#headers", '{"X-Tool": "yes"}')
    connect(page, namespaces="/private /", auth='{"token": "t"}', transports="polling")
    expect(page.locator("#state")).to_have_text("connected", timeout=WAIT)
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#sockets .nstate")).to_have_text(["connected", "connected"], timeout=WAIT)
    expect(page.locator("#transport")).to_have_text("polling")
    sid = page.text_content('#sockets [data-ns="/"] .sid')
    assert sid and server.transport_of(sid) == "polling"
    handshake = server.call(lambda: server.io.sockets.sockets[sid].handshake)
    assert handshake.headers["x-tool"] == "yes"
    assert (handshake.query["room"], handshake.query["n"]) == ("blue", "1")
    assert handshake.auth == {"token": "t"}
    # An emit goes to the namespace chosen; each event says its namespace.
    page.select_option("#emit-namespace", "/")
    sent = emit(page, "echo", '"polled"')
    expect(sent.locator(".ns")).to_have_text("/")
    expect(sent.get_by_test_id("ack-args")).to_have_text('"polled"', timeout=WAIT)
    expect(page.locator("#transport")).to_have_text("polling")
    # A binary argument from a file.
    page.set_input_files(
        "#emit-file",
        files=[
            {"name": "a.bin", "mimeType": "application/octet-stream", "buffer": b"\x00\xff" * 3}
        ],
    )
    sent = emit(page, "bytes", '"file"')
    expect(sent.get_by_test_id("ack-args")).to_have_text("6", timeout=WAIT)
    assert server.received[-1] == ("file", b"\x00\xff" * 3)
    page.click("#clear")
    expect(page.locator("#log .entry")).to_have_count(0)

    # A saved profile survives a reload.
    page.fill("#profile-name", "private polling")
    page.click("#profile-save")
    page.click("#disconnect")
    expect(page.locator("#state")).to_have_text("disconnected")
    page.reload()
    page.wait_for_selector("body[data-ready=true]", timeout=WAIT)
    page.fill("#namespaces", "/")
    page.fill("#auth", "")
    page.select_option("#transports", "websocket")
    page.select_option("#profiles", "private polling")
    assert page.input_value("#namespaces") == "/private /"
    assert page.input_value("#auth") == '{"token": "t"}'
    assert page.input_value("#transports") == "polling"
    assert page.input_value("#headers") == '{"X-Tool": "yes"}'
    assert errors == []
    page.context.close()


def test_tether_tool_against_a_node_server(browser: Browser, server: ToolServer) -> None:
    node = ServerProcess(
        "TETHER_TOOL_NODE_SERVER_CMD", ["node", "tests/interop/tool_node_server.mjs"]
    )
    served = TetherTool()
    try:
        page, errors = open_tool(browser, served.url)
        connect(page, node.url, namespaces="/ /private")
        expect(page.locator("#state")).to_have_text("connected", timeout=WAIT)
        expect(page.locator("#transport")).to_have_text("websocket", timeout=WAIT)
        expect(entry(page, "welcome").get_by_test_id("args")).to_contain_text('"server": "node"')
        # Node's refusal of /private, its message and data.
        expect(page.get_by_test_id("error-message")).to_have_text("not authorized", timeout=WAIT)
        expect(page.get_by_test_id("error-data")).to_have_text('{\n  "reason": "no token"\n}')

        sent = emit(page, "echo", '["from the browser", {"n": 1}]')
        expect(sent.get_by_test_id("ack-args")).to_have_text(
            '"from the browser"\n{\n  "n": 1\n}', timeout=WAIT
        )
        emit(page, "shout", '"hello all"', ack=False)
        expect(entry(page, "broadcast").get_by_test_id("args")).to_have_text(
            '"hello all"', timeout=WAIT
        )

        # A tether server without cors_origins refuses this page's origin: the page says
        # what to allow, and tries again.
        connect(page, server.url)
        expect(page.get_by_test_id("error-message")).to_have_text("xhr poll error", timeout=WAIT)
        origin = served.url.removesuffix("/tool/")
        expect(page.get_by_test_id("error-hint")).to_contain_text(f'cors_origins=["{origin}"]')
        expect(page.locator("#attempts")).not_to_have_text("0", timeout=WAIT)
        expect(page.locator("#state")).to_have_text("reconnecting")
        assert errors == []
        page.context.close()
    finally:
        served.stop()
        node.stop()
