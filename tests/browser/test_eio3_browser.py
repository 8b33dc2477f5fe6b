"""A Socket.IO v2 client in real headless Chromium (socket.io-client 2.5.0's browser bundle)
against a server with ``allow_eio3``. In a browser, long-polling has XHR2: binary messages
travel in v3's binary payloads (``application/octet-stream``) both ways, which the Node
client (no XHR2, so base64) never sends."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import tether
from tether.http.exchange import Responder
from tether.http.messages import Request

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

BUNDLE = (
    Path(__file__).resolve().parents[1]
    / "interop/node_modules/socket.io-client-v2/dist/socket.io.js"
)
PAGE = b"<!doctype html><title>v2</title><script src='/v2/socket.io.js'></script>"


class _Page:
    """The test page and the v2 bundle, beside the server."""

    def handles(self, path: str) -> bool:
        return path.startswith("/v2/")

    def handle_request(self, request: Request, responder: Responder) -> None:
        if request.path == "/v2/socket.io.js":
            responder.send(200, [("Content-Type", "text/javascript")], BUNDLE.read_bytes())
        else:
            responder.send(200, [("Content-Type", "text/html")], PAGE)

    def handle_upgrade(self, upgrade: Any) -> None:
        upgrade.reject(404, [], b"")


class Server:
    """A server with ``allow_eio3`` on 127.0.0.1:<free port>, in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="eio3-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())
        self.loop.close()

    async def _main(self) -> None:
        io = tether.Server(allow_eio3=True)

        @io.on("echo")
        def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
            socket.emit("pushed", b"\x00\xff" * 600, "é😀")
            return args

        io.router.apps.insert(0, _Page())
        listener = await io.serve("127.0.0.1", 0)
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


@pytest.fixture
def server() -> Iterator[Server]:
    if not BUNDLE.is_file():
        pytest.fail(f"{BUNDLE} is missing: npm ci in tests/interop", pytrace=False)
    srv = Server()
    srv.start()
    yield srv
    srv.stop()


SCRIPT = """async (transports) => {
  const socket = io({ transports, reconnection: false });
  const pushed = new Promise((resolve) => socket.on("pushed", (...args) => resolve(args)));
  await new Promise((resolve, reject) => {
    socket.on("connect", resolve);
    socket.on("error", reject);
  });
  const bytes = new Uint8Array(1500).map((_, i) => i % 256);
  const answer = await new Promise((resolve) =>
    socket.emit("echo", bytes.buffer, "é😀".repeat(500), (...args) => resolve(args)));
  const [bin, text] = await pushed;
  if (transports.includes("websocket") && socket.io.engine.transport.name !== "websocket") {
    // The upgrade runs beside the exchange: on a busy machine it may not be done yet.
    await new Promise((resolve) => socket.io.engine.once("upgrade", resolve));
  }
  const back = new Uint8Array(answer[0]);
  const result = {
    echoed: back.length === 1500 && back.every((b, i) => b === i % 256),
    text: answer[1] === "é😀".repeat(500),
    pushed: bin.byteLength === 1200 && text === "é😀",
    transport: socket.io.engine.transport.name,
  };
  socket.close();
  return result;
}"""


@pytest.mark.parametrize("transports", [["polling"], ["websocket"], ["polling", "websocket"]])
def test_v2_browser_client_binary_both_ways(
    browser: Browser, server: Server, transports: list[str]
) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        types: list[str] = []
        page.on("response", lambda response: types.append(response.headers["content-type"]))
        page.goto(f"http://127.0.0.1:{server.port}/v2/")
        result = page.evaluate(SCRIPT, transports)
    finally:
        context.close()
    assert errors == []
    assert result["echoed"] and result["text"] and result["pushed"], result
    assert result["transport"] == transports[-1]
    if transports == ["polling"]:
        # Binary went in v3's XHR2 binary payloads, not in base64.
        assert "application/octet-stream" in types
