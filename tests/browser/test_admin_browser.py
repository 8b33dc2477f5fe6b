"""The official admin UI, served by tether at /admin/, in headless Chromium: two tether
servers sharing a Redis, both seen from the UI logged in on one of them; a socket on the
other disconnected from the UI."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import bcrypt
import pytest

import tether
from tests.browser.conftest import ROOT, screenshot
from tests.support import RedisServer
from tether.adapters.redis import create_adapter
from tether.admin import instrument
from tether.aio.static import ADMIN_UI_DIR

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

WAIT = 10_000  # ms
PASSWORD_HASH = bcrypt.hashpw(b"changeit", bcrypt.gensalt(rounds=4)).decode()
#: The screenshot of the docs (docs/admin.md), replaced when TETHER_UPDATE_SCREENSHOTS=1.
DOCS_SCREENSHOT = ROOT / "docs/admin-ui.png"


class Cluster:
    """Two tether servers on one Redis, in a thread with their own loop; ``alpha`` serves
    the admin UI."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.loop = asyncio.new_event_loop()
        self.ports: list[int] = []
        self.servers: list[tether.Server] = []
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="admin-cluster", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())
        self.loop.close()

    async def _main(self) -> None:
        listeners = []
        for name in ("alpha", "beta"):
            io = tether.Server(adapter=create_adapter(self.redis_url))

            @io.on("join")
            def join(socket: tether.Socket, room: str) -> str:
                socket.join(room)
                return room

            instrument(
                io,
                auth={"username": "admin", "password": PASSWORD_HASH},
                server_id=name,
                ui_path="/admin/" if name == "alpha" else None,
            )
            await io.start()
            listeners.append(await io.serve("127.0.0.1", 0))
            self.servers.append(io)
        self.ports = [listener.port for listener in listeners]
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        for listener, io in zip(listeners, self.servers, strict=True):
            await listener.shutdown(grace=0.5)
            await io.close_adapters()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(15):
            pytest.fail("the servers did not start", pytrace=False)

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"


@pytest.fixture
def cluster(redis_server: RedisServer) -> Iterator[Cluster]:
    if not (ADMIN_UI_DIR / "index.html").is_file():
        pytest.fail(f"the admin UI is missing from {ADMIN_UI_DIR}: run `tether bundle install`")
    servers = Cluster(redis_server.url)
    servers.start()
    try:
        yield servers
    finally:
        servers.stop()


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def settle(page: Page) -> None:
    """Wait for the page's transitions to end (for a screenshot)."""
    page.wait_for_function("document.getAnimations().length === 0", timeout=WAIT)


def client_page(browser: Browser, url: str, room: str) -> tuple[Page, str]:
    """A page of ``url`` with the official client (the bundle tether serves) connected and
    in ``room``; its socket id. The reason of its disconnection lands in ``window.reason``."""
    page = browser.new_page()
    page.goto(url + "/socket.io/socket.io.js")
    page.add_script_tag(url="/socket.io/socket.io.js")
    sid: str = page.evaluate(
        """room => new Promise(resolve => {
            window.socket = io({ transports: ["websocket"] });
            socket.on("disconnect", reason => { window.reason = reason; });
            socket.on("connect", () => socket.emit("join", room, () => resolve(socket.id)));
        })""",
        room,
    )
    return page, sid


def test_the_admin_ui_sees_both_servers_and_disconnects_a_socket(
    browser: Browser, cluster: Cluster
) -> None:
    on_alpha, sid_alpha = client_page(browser, cluster.url(0), "lobby")
    on_beta, sid_beta = client_page(browser, cluster.url(1), "games")
    ui = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    ui.on("pageerror", lambda error: errors.append(str(error)))
    # The page's web fonts and icons come from CDNs: no network in the tests.
    ui.route("https://**/*", lambda route: route.abort())
    ui.goto(cluster.url(0) + "/admin/")
    ui.get_by_label("Server URL").fill(cluster.url(0))
    ui.get_by_label("Username").fill("admin")
    ui.get_by_label("Password").fill("wrong")
    ui.get_by_role("button", name="Connect").click()
    expect(ui.get_by_text("Invalid credentials")).to_be_visible(timeout=WAIT)
    ui.get_by_label("Password").fill("changeit")
    ui.get_by_role("button", name="Connect").click()
    expect(ui.get_by_text(re.compile("^connected$", re.I)).first).to_be_visible(timeout=WAIT)

    # Both servers report their stats through Redis.
    ui.get_by_text("Servers", exact=True).first.click()
    expect(ui.get_by_text("alpha", exact=True)).to_be_visible(timeout=WAIT)
    expect(ui.get_by_text("beta", exact=True)).to_be_visible(timeout=WAIT)
    # The sockets of both, and their rooms.
    ui.get_by_text("Sockets", exact=True).first.click()
    expect(ui.get_by_text(sid_alpha)).to_be_visible(timeout=WAIT)
    expect(ui.get_by_text(sid_beta)).to_be_visible(timeout=WAIT)
    settle(ui)
    screenshot(ui, "admin-ui-sockets")
    ui.get_by_text("Dashboard", exact=True).first.click()
    expect(ui.get_by_role("row", name="/ 2")).to_be_visible(timeout=WAIT)
    settle(ui)
    shot = screenshot(ui, "admin-ui-dashboard")
    if os.environ.get("TETHER_UPDATE_SCREENSHOTS") == "1":
        shutil.copy(shot, DOCS_SCREENSHOT)
    ui.get_by_text("Rooms", exact=True).first.click()
    expect(ui.get_by_text("lobby", exact=True)).to_be_visible(timeout=WAIT)
    expect(ui.get_by_text("games", exact=True)).to_be_visible(timeout=WAIT)

    # Disconnect the socket on beta from the UI connected to alpha.
    ui.get_by_text("Sockets", exact=True).first.click()
    ui.get_by_role("row").filter(has_text=sid_beta).get_by_role("button").click()
    on_beta.wait_for_function("window.reason !== undefined", timeout=WAIT)
    assert on_beta.evaluate("window.reason") == "io server disconnect"
    # (the click opens the socket's page too: it says so)
    expect(ui.get_by_text(re.compile("^disconnected$", re.I)).first).to_be_visible(timeout=WAIT)
    ui.get_by_text("Sockets", exact=True).first.click()
    expect(ui.get_by_text(sid_beta)).to_have_count(0, timeout=WAIT)
    expect(ui.get_by_text(sid_alpha)).to_be_visible()
    assert on_alpha.evaluate("window.reason === undefined && window.socket.connected")
    assert errors == []
    for page in (ui, on_alpha, on_beta):
        page.close()
