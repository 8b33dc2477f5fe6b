"""Headless Chromium with the ``socket.io.msgpack.min.js`` bundle tether serves, against a
tether server with ``parser="msgpack"`` (issue #19): connect, an emit with ack carrying an
``ArrayBuffer``, and binary from the server, over polling then WebSocket."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

import tether

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


class MsgpackServer:
    """A tether server with the msgpack parser on 127.0.0.1:<free port>, in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.received: list[Any] = []
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="msgpack-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())
        self.loop.close()

    async def _main(self) -> None:
        io = tether.Server(parser="msgpack")

        @io.on("connection")
        def connected(socket: tether.Socket) -> None:
            socket.emit("bin", b"\x00\x01\xfe\xff", {"text": "hé"})

        @io.on("echo")
        def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
            self.received.append(args)
            return (*args, b"\x2a")

        listener = await io.serve("127.0.0.1", 0)
        self.port = listener.port
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await listener.shutdown(grace=0.5)

    def __enter__(self) -> MsgpackServer:
        self._thread.start()
        if not self._ready.wait(10):
            pytest.fail("the server did not start", pytrace=False)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture
def server() -> Iterator[MsgpackServer]:
    with MsgpackServer() as server:
        yield server


SCRIPT = """
async (url) => {
  const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
  const socket = io(url);  // the msgpack bundle: socket.io-msgpack-parser is its parser
  const bin = new Promise((resolve) => socket.once("bin", (...args) => resolve(args)));
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  const [data, meta] = await bin;
  const upgraded = await new Promise((resolve) => {
    if (socket.io.engine.transport.name === "websocket") return resolve(true);
    socket.io.engine.once("upgrade", () => resolve(true));
  });
  const ack = await new Promise((resolve) =>
    socket.emit("echo", "hi", new Uint8Array([1, 2, 3]).buffer, { n: 1 }, (...args) => resolve(args)),
  );
  socket.disconnect();
  return {
    received: [data instanceof ArrayBuffer, hex(data), meta],
    upgraded,
    ack: ack.map((a) => (a instanceof ArrayBuffer ? { ab: hex(a) } : a)),
  };
}
"""


def test_the_msgpack_bundle_in_chromium(browser: Browser, server: MsgpackServer) -> None:
    url = f"http://127.0.0.1:{server.port}"
    page = browser.new_page()
    try:
        # Same origin as the server: the bundle's own URL as the page.
        page.goto(f"{url}/socket.io/socket.io.msgpack.min.js")
        page.add_script_tag(url=f"{url}/socket.io/socket.io.msgpack.min.js")
        result = page.evaluate(SCRIPT, url)
    finally:
        page.close()
    assert result["received"] == [True, "0001feff", {"text": "hé"}]
    assert result["upgraded"] is True
    assert result["ack"] == ["hi", {"ab": "010203"}, {"n": 1}, {"ab": "2a"}]
    assert server.received == [("hi", b"\x01\x02\x03", {"n": 1})]
