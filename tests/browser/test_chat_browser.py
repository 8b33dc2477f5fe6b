"""The chat demo in real headless Chromium: several users, transports, cuts and bad input."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import Chat, ChatServer, DemoProcess, screenshot
from tether.demo import ChatState
from tether.demo.history import dm_key

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.browser

WAIT = 10_000  # ms, for expect()


class Users:
    """Browser contexts (one per user), closed at the end of the test."""

    def __init__(self, browser: Browser, chat: ChatServer) -> None:
        self.browser = browser
        self.chat = chat
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    def open(self, nick: str, query: str = "", width: int = 1000) -> Page:
        context = self.browser.new_context(viewport={"width": width, "height": 640})
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(f"{nick}: {error}"))
        page.goto(self.chat.url + "/" + query)
        return self.login(page, nick)

    def login(self, page: Page, nick: str) -> Page:
        """Sign ``page`` in as ``nick`` (it shows #general then)."""
        page.fill("#nick", nick)
        page.click("#login button")
        expect(page.locator("#me")).to_have_text(nick, timeout=WAIT)
        expect(page.locator("#title")).to_have_text("# general", timeout=WAIT)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def expect(target: Any) -> Any:
    """Playwright's ``expect``, imported late so that a missing Playwright fails the tests
    (through the ``browser`` fixture) rather than their collection."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


@pytest.fixture
def users(browser: Browser, chat: ChatServer) -> Iterator[Users]:
    users = Users(browser, chat)
    try:
        yield users
    finally:
        users.close()
    assert not users.errors, users.errors


def send(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def messages(page: Page) -> Any:
    return page.locator("#log .msg .text")


def test_hello_page(browser: Browser, chat: ChatServer) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(chat.url + "/hello")
        expect(page.locator("#status")).to_have_text(
            re.compile(r"^connected as \S+$"), timeout=WAIT
        )
        screenshot(page, "hello")
    finally:
        context.close()


def test_two_users_talk_type_and_change_presence_with_a_polling_third(
    users: Users, chat: ChatServer
) -> None:
    ada = users.open("ada")
    bob = users.open("bob")
    expect(ada.locator("#conn")).to_have_text("websocket", timeout=WAIT)

    send(ada, "hello bob")
    expect(messages(bob)).to_have_text(["hello bob"], timeout=WAIT)
    mine = ada.locator("#log .msg.mine")
    expect(mine.locator(".ack")).to_have_text("✓", timeout=WAIT)  # the emit's ack came
    send(bob, "hi ada")
    expect(messages(ada)).to_have_text(["hello bob", "hi ada"], timeout=WAIT)

    bob.fill("#text", "I am typ")
    bob.type("#text", "ing")
    expect(ada.locator("#typing")).to_have_text("bob is typing…", timeout=WAIT)
    send(bob, "done typing")
    expect(ada.locator("#typing")).to_have_text("", timeout=WAIT)

    bob.select_option("#status", "away")
    expect(ada.locator('#members button[data-nick="bob"]')).to_have_attribute(
        "data-status", "away", timeout=WAIT
    )
    expect(ada.locator('#members button[data-nick="bob"] .dot')).to_have_class("dot away")

    cy = users.open("cy", "?transports=polling")
    expect(cy.locator("#conn")).to_have_text("polling", timeout=WAIT)
    expect(messages(cy)).to_have_text(["hello bob", "hi ada", "done typing"], timeout=WAIT)
    send(cy, "polling here")
    expect(messages(ada).last).to_have_text("polling here", timeout=WAIT)
    expect(messages(bob).last).to_have_text("polling here", timeout=WAIT)
    send(ada, "welcome cy")
    expect(messages(cy).last).to_have_text("welcome cy", timeout=WAIT)
    assert cy.evaluate("window.chatSocket.io.engine.transport.name") == "polling"
    expect(ada.locator("#members li")).to_have_count(3)

    cy.fill("#new-channel", "python")
    cy.click("#create button")
    expect(cy.locator("#title")).to_have_text("# python", timeout=WAIT)
    expect(ada.locator('#channels button[data-channel="python"]')).to_be_visible(timeout=WAIT)
    ada.click('#channels button[data-channel="python"]')
    expect(ada.locator("#title")).to_have_text("# python", timeout=WAIT)
    send(ada, "snakes")
    expect(messages(cy)).to_have_text(["snakes"], timeout=WAIT)
    ada.click('#channels button[data-channel="general"]')
    expect(messages(ada).last).to_have_text("welcome cy")
    bob.type("#text", "see you")
    expect(ada.locator("#typing")).to_have_text("bob is typing…", timeout=WAIT)
    screenshot(ada, "chat")


def test_direct_message_reaches_only_its_target(users: Users) -> None:
    ada, bob, cy = users.open("ada"), users.open("bob"), users.open("cy")
    ada.click('#members button[data-nick="bob"]')
    expect(ada.locator("#title")).to_have_text("Direct messages with bob")
    send(ada, "just for you")
    expect(ada.locator("#log .msg.mine .ack")).to_have_text("✓", timeout=WAIT)
    expect(bob.locator('#members button[data-nick="ada"] .unread')).to_have_text("1", timeout=WAIT)
    bob.click('#members button[data-nick="ada"]')
    expect(messages(bob)).to_have_text(["just for you"])
    time.sleep(0.3)
    assert "just for you" not in cy.content()
    expect(cy.locator("#members .unread")).to_have_count(0)
    screenshot(bob, "direct-message")


def test_bad_input_shows_an_error_and_the_server_stays_up(users: Users) -> None:
    ada, bob = users.open("ada"), users.open("bob")
    error = ada.locator("#error")
    send(ada, "   ")
    expect(error).to_have_text("Message is empty.", timeout=WAIT)
    send(ada, "x" * 501)
    expect(error).to_have_text(re.compile(r"Message is too long \(501 characters"), timeout=WAIT)
    expect(ada.locator("#log .msg")).to_have_count(0)
    for i in range(7):
        send(ada, f"flood {i}")
    expect(error).to_have_text("Slow down: too many messages (flood limit).", timeout=WAIT)
    screenshot(ada, "flood-error")
    expect(messages(bob).nth(4)).to_have_text("flood 4", timeout=WAIT)  # the burst passed
    assert messages(bob).all_inner_texts()[:5] == [f"flood {i}" for i in range(5)]
    assert len(messages(bob).all_inner_texts()) < 7  # and not everything

    other = users.open("eve")  # the server carries on
    send(other, "still up")
    expect(messages(bob).last).to_have_text("still up", timeout=WAIT)
    third = users.contexts[0].new_page()
    third.goto(users.chat.url + "/hello")
    expect(third.locator("#status")).to_have_text(re.compile("connected as"), timeout=WAIT)
    bad_nick = users.browser.new_context()
    users.contexts.append(bad_nick)
    page = bad_nick.new_page()
    page.goto(users.chat.url + "/")
    page.fill("#nick", "bob")
    page.click("#login button")
    expect(page.locator("#login-error")).to_have_text("The nickname bob is taken.", timeout=WAIT)


def test_cut_connection_reconnects_and_shows_what_it_missed(users: Users, chat: ChatServer) -> None:
    ada, bob = users.open("ada"), users.open("bob")
    send(bob, "before the cut")
    expect(messages(ada)).to_have_text(["before the cut"], timeout=WAIT)

    # the server drops ada's transport, and her network goes down before the client's first
    # reconnection attempt (0.5 s at the earliest), so she stays away until it is back
    assert chat.drop("ada") == "websocket"
    users.contexts[0].set_offline(True)
    expect(ada.locator("#conn")).to_have_text("reconnecting…", timeout=WAIT)
    expect(bob.locator('#members button[data-nick="ada"]')).to_have_count(0, timeout=WAIT)
    send(bob, "while you were away")
    send(bob, "and this too")
    expect(bob.locator("#log .msg.sent")).to_have_count(3, timeout=WAIT)
    assert not chat.online("ada")  # so these two went nowhere but the recovery log
    screenshot(ada, "reconnecting")

    users.contexts[0].set_offline(False)
    expect(ada.locator("#conn")).to_have_text("websocket", timeout=WAIT)
    expect(messages(ada)).to_have_text(
        ["before the cut", "while you were away", "and this too"], timeout=WAIT
    )
    assert ada.evaluate("window.chatSocket.recovered") is True
    expect(bob.locator('#members button[data-nick="ada"]')).to_have_count(1, timeout=WAIT)
    send(ada, "back again")
    expect(messages(bob).last).to_have_text("back again", timeout=WAIT)


def test_server_restart_the_page_signs_in_again(browser: Browser, restartable: Chat) -> None:
    users = Users(browser, restartable.server)
    try:
        ada, bob = users.open("ada"), users.open("bob")
        ada.fill("#new-channel", "ops")
        ada.click("#create button")
        expect(ada.locator("#title")).to_have_text("# ops", timeout=WAIT)
        restartable.restart()  # a new process on --db :memory: loses everything the same way
        users.chat = restartable.server
        assert not restartable.server.online("ada")
        expect(ada.locator("#conn")).to_have_text("websocket", timeout=WAIT)
        expect(bob.locator("#conn")).to_have_text("websocket", timeout=WAIT)
        assert ada.evaluate("window.chatSocket.recovered") is False
        # nothing to recover: the pages said hello again and rejoined the channels that
        # still exist (#ops went with the old server)
        expect(bob.locator("#members li")).to_have_count(2, timeout=WAIT)
        assert restartable.server.online("ada") and restartable.server.online("bob")
        expect(ada.locator('#channels button[data-channel="ops"]')).to_have_count(0)
        ada.click('#channels button[data-channel="general"]')
        send(ada, "after restart")
        expect(messages(bob).last).to_have_text("after restart", timeout=WAIT)
    finally:
        users.close()
    assert not users.errors, users.errors


def test_a_flood_of_creates_and_typing_is_refused_with_a_visible_error(
    users: Users, chat: ChatServer
) -> None:
    ada, bob = users.open("ada"), users.open("bob")
    answers = ada.evaluate(
        """async () => {
            const calls = [];
            for (let i = 0; i < 300; i++) {
                calls.push(window.chatSocket.timeout(5000).emitWithAck("create", "c" + i)
                    .catch(() => ({ error: "no answer" })));
            }
            return Promise.all(calls);
        }"""
    )
    created = [a for a in answers if a.get("ok")]
    assert 1 <= len(created) <= 5  # the burst of channel creations
    assert all("flood limit" in a["error"] for a in answers if not a.get("ok")), answers
    channels = chat.run(chat.state.channels())
    assert len(channels) == 2 + len(created)
    ada.evaluate(
        """() => {
            for (let i = 0; i < 100; i++) {
                window.chatSocket.emit("typing", { channel: "general", typing: i % 2 === 0 });
            }
        }"""
    )
    error = ada.locator("#error")
    expect(error).to_have_text("Slow down: too many requests (flood limit).", timeout=WAIT)
    screenshot(ada, "flood-typing-error")
    send(bob, "still here")  # the server and the other page carry on
    expect(messages(ada).last).to_have_text("still here", timeout=WAIT)


def test_history_and_channels_survive_a_killed_server(browser: Browser, tmp_path: Path) -> None:
    demo = DemoProcess("--db", str(tmp_path / "chat.db"))
    demo.start()
    users = Users(browser, demo)  # type: ignore[arg-type]  # only its url is used
    try:
        ada, bob = users.open("ada"), users.open("bob")
        send(ada, "this one stays")
        ada.fill("#new-channel", "ops")
        ada.click("#create button")
        expect(ada.locator("#title")).to_have_text("# ops", timeout=WAIT)
        send(ada, "ops stays too")
        ada.click('#members button[data-nick="bob"]')
        send(ada, "a secret that stays")
        expect(ada.locator("#log .msg.sent")).to_have_count(1, timeout=WAIT)  # stored: ✓
        expect(messages(bob)).to_have_text(["this one stays"], timeout=WAIT)

        demo.kill()  # SIGKILL: no clean shutdown
        expect(ada.locator("#conn")).to_have_text("reconnecting…", timeout=WAIT)
        demo.start()  # the same port and file
        for page in (ada, bob):
            page.reload()
        ada, bob = users.login(ada, "ada"), users.login(bob, "bob")
        expect(messages(ada)).to_have_text(["this one stays"], timeout=WAIT)
        expect(messages(bob)).to_have_text(["this one stays"], timeout=WAIT)
        ada.click('#channels button[data-channel="ops"]')
        expect(messages(ada)).to_have_text(["ops stays too"], timeout=WAIT)
        bob.click('#members button[data-nick="ada"]')
        expect(messages(bob)).to_have_text(["a secret that stays"], timeout=WAIT)
        expect(bob.locator("#older")).to_have_count(0)
        screenshot(bob, "history-after-restart")
    finally:
        users.close()
        demo.kill()
    assert not users.errors, users.errors


def test_load_older_goes_back_to_the_first_message(browser: Browser, tmp_path: Path) -> None:
    server = ChatServer(state=ChatState(db=str(tmp_path / "chat.db")))
    server.start()
    users = Users(browser, server)
    try:
        for i in range(120):
            entry = {"id": f"seed-{i}", "from": "old", "text": f"old {i}", "ts": 1_000_000 + i}
            server.run(server.state.history.add("#general", entry))
        for i in range(60):
            entry = {"id": f"dm-{i}", "from": "bob", "to": "ada", "text": f"dm {i}", "ts": i}
            server.run(server.state.history.add(dm_key("ada", "bob"), entry))
        ada, _bob = users.open("ada"), users.open("bob")
        expect(messages(ada)).to_have_count(50, timeout=WAIT)
        expect(messages(ada).first).to_have_text("old 70")
        older = ada.locator("#older")
        expect(older).to_have_text("load older messages")
        older.click()
        expect(messages(ada)).to_have_count(100, timeout=WAIT)
        expect(messages(ada).first).to_have_text("old 20")
        screenshot(ada, "load-older")
        ada.locator("#older").click()
        expect(messages(ada)).to_have_count(120, timeout=WAIT)
        expect(ada.locator("#older")).to_have_count(0)  # nothing more
        assert messages(ada).all_inner_texts() == [f"old {i}" for i in range(120)]
        send(ada, "new one")
        expect(messages(ada).last).to_have_text("new one", timeout=WAIT)

        ada.click('#members button[data-nick="bob"]')
        expect(messages(ada)).to_have_count(50, timeout=WAIT)
        expect(messages(ada).first).to_have_text("dm 10")
        ada.locator("#older").click()
        expect(messages(ada)).to_have_count(60, timeout=WAIT)
        expect(ada.locator("#older")).to_have_count(0)
        assert messages(ada).all_inner_texts() == [f"dm {i}" for i in range(60)]
    finally:
        users.close()
        server.stop()
    assert not users.errors, users.errors


def on_worker(users: Users, nick: str, worker: int) -> Page:
    """A page of ``nick`` whose Engine.IO session is on ``worker`` (its sid's prefix):
    reloaded until the parent's round robin hands it there."""
    context = users.browser.new_context(viewport={"width": 1000, "height": 640})
    users.contexts.append(context)
    page = context.new_page()
    page.on("pageerror", lambda error: users.errors.append(f"{nick}: {error}"))
    for _ in range(12):
        page.goto(users.chat.url + "/")
        page.wait_for_function("() => window.chatSocket && window.chatSocket.connected")
        if page.evaluate("window.chatSocket.io.engine.id").startswith(f"{worker}."):
            return users.login(page, nick)
    pytest.fail(f"no session of {nick} on worker {worker}")


@pytest.mark.parametrize("redis", [False, True], ids=["hub", "redis"])
def test_two_workers_share_the_chat(
    browser: Browser, tmp_path: Path, request: pytest.FixtureRequest, redis: bool
) -> None:
    args = ["--workers", "2", "--db", str(tmp_path / "chat.db")]
    if redis:
        args += ["--redis", request.getfixturevalue("redis_server").url]
    demo = DemoProcess(*args)
    demo.start()
    users = Users(browser, demo)  # type: ignore[arg-type]  # only its url is used
    try:
        ada, bob = on_worker(users, "ada", 0), on_worker(users, "bob", 1)
        for page in (ada, bob):  # presence: each sees the other, though on another worker
            expect(page.locator("#members li")).to_have_count(2, timeout=WAIT)
        send(ada, "across workers")
        expect(messages(bob)).to_have_text(["across workers"], timeout=WAIT)
        bob.type("#text", "typing over")
        expect(ada.locator("#typing")).to_have_text("bob is typing…", timeout=WAIT)
        send(bob, "typed over")
        expect(messages(ada).last).to_have_text("typed over", timeout=WAIT)
        expect(ada.locator("#typing")).to_have_text("", timeout=WAIT)
        bob.select_option("#status", "away")
        expect(ada.locator('#members button[data-nick="bob"]')).to_have_attribute(
            "data-status", "away", timeout=WAIT
        )

        ada.fill("#new-channel", "ops")  # created on worker 0, visible on worker 1
        ada.click("#create button")
        expect(ada.locator("#title")).to_have_text("# ops", timeout=WAIT)
        bob.click('#channels button[data-channel="ops"]')
        expect(bob.locator("#title")).to_have_text("# ops", timeout=WAIT)
        send(ada, "in ops")
        expect(messages(bob)).to_have_text(["in ops"], timeout=WAIT)
        bob.click('#members button[data-nick="ada"]')
        send(bob, "a dm across")
        expect(ada.locator('#members button[data-nick="bob"] .unread')).to_have_text(
            "1", timeout=WAIT
        )
        ada.click('#members button[data-nick="bob"]')
        expect(messages(ada)).to_have_text(["a dm across"], timeout=WAIT)

        # a nickname is the cluster's: taken on worker 0, refused on worker 1
        late = on_worker_login_page(users, 1)
        late.fill("#nick", "ada")
        late.click("#login button")
        expect(late.locator("#login-error")).to_have_text(
            "The nickname ada is taken.", timeout=WAIT
        )
        # history written by worker 0 read by worker 1, from the one file
        cy = users.login(late, "cy")
        expect(messages(cy)).to_have_text(["across workers", "typed over"], timeout=WAIT)
        expect(ada.locator("#members li")).to_have_count(3, timeout=WAIT)
        users.contexts[1].close()  # bob leaves: gone from the lists of both workers
        expect(ada.locator("#members li")).to_have_count(2, timeout=WAIT)
        expect(cy.locator("#members li")).to_have_count(2, timeout=WAIT)
        screenshot(ada, f"two-workers-{'redis' if redis else 'hub'}")
    finally:
        users.close()
        demo.stop()
    assert not users.errors, users.errors


def on_worker_login_page(users: Users, worker: int) -> Page:
    """A page at its login screen whose session is on ``worker``."""
    context = users.browser.new_context(viewport={"width": 1000, "height": 640})
    users.contexts.append(context)
    page = context.new_page()
    for _ in range(12):
        page.goto(users.chat.url + "/")
        page.wait_for_function("() => window.chatSocket && window.chatSocket.connected")
        if page.evaluate("window.chatSocket.io.engine.id").startswith(f"{worker}."):
            return page
    pytest.fail(f"no session on worker {worker}")
