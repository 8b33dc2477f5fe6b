"""The chat demo in real headless Chromium: several users, transports, cuts and bad input."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import Chat, ChatServer, screenshot

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
        restartable.restart()  # a new process would lose everything the same way
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
    channels = chat.call(lambda: sorted(chat.state.channels))
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
