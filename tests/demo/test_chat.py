"""The chat server's logic over loopback, with the minimal Socket.IO client of the server tests."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.server.helpers import SioClient
from tests.support import RedisServer, serving
from tether.demo import ChatState, create_app
from tether.sio import PacketType


class User:
    """A chat client: acks are awaited while the events that come first are kept."""

    def __init__(self, sio: SioClient) -> None:
        self.sio = sio
        self.events: deque[list[Any]] = deque()

    async def call(self, event: str, *args: Any) -> list[Any]:
        ack_id = self.sio.emit(event, *args, ack=True)
        while True:
            packet = await self.sio.next()
            if packet.type is PacketType.ACK and packet.id == ack_id:
                return list(packet.data)
            assert packet.type is PacketType.EVENT, packet
            self.events.append(list(packet.data))

    def emit(self, event: str, *args: Any) -> None:
        self.sio.emit(event, *args)

    async def nothing(self) -> None:
        assert not self.events, self.events
        await self.sio.nothing()

    async def close(self) -> None:
        await self.sio.close()


class Chat:
    def __init__(self, port: int, state: ChatState) -> None:
        self.port = port
        self.state = state
        self.clients: list[User] = []

    async def user(self, nick: str | None = None) -> User:
        sio = await SioClient.open(self.port)
        await sio.connect()
        client = User(sio)
        self.clients.append(client)
        if nick is not None:
            [answer] = await client.call("hello", {"nick": nick})
            assert answer["ok"] and answer["nick"] == nick, answer
            assert await next_event(client, "members")
        return client


async def next_event(client: User, name: str, timeout: float = 3.0) -> Any:
    """The data of the next ``name`` event, skipping others."""
    while True:
        event = client.events.popleft() if client.events else await client.sio.event(timeout)
        if event[0] == name:
            return event[1]


async def drain(client: User) -> None:
    client.events.clear()
    await asyncio.sleep(0.05)
    while not client.sio.packets.empty():
        client.sio.packets.get_nowait()


@pytest.fixture
async def chat() -> AsyncIterator[Chat]:
    state = ChatState(history_size=3)
    io = create_app(store=state, burst=4, rate=0.5)
    async with serving(io) as port:
        room = Chat(port, state)
        yield room
        for client in room.clients:
            await client.close()


def invalid_payload(answer: Any, event: str) -> bool:
    """Whether ``answer`` is the error object of a payload the annotations refused."""
    return (
        isinstance(answer, dict)
        and answer.get("error") == "invalid_payload"
        and answer.get("event") == event
        and bool(answer.get("details"))
    )


async def test_hello_lists_channels_and_refuses_bad_or_taken_nicks(chat: Chat) -> None:
    ada = await chat.user()
    [answer] = await ada.call("hello", {"nick": "ada"})
    assert answer["channels"] == ["general", "random"]
    assert await next_event(ada, "members") == [{"nick": "ada", "status": "online"}]
    bob = await chat.user()
    assert (await bob.call("hello", {"nick": "ada"}))[0] == {"error": "The nickname ada is taken."}
    for bad in ["", "x" * 25, "no spaces"]:
        [answer] = await bob.call("hello", {"nick": bad})
        assert "Nicknames are" in answer["error"]
    # What the annotations refuse (the typed extra is installed in the tests) never reaches
    # the handler: the client gets the invalid_payload error object.
    for bad_payload in [{"nick": None}, {"nick": 3}, "ada"]:
        [answer] = await bob.call("hello", bad_payload)
        assert invalid_payload(answer, "hello"), bad_payload
    assert (await bob.call("join", "general"))[0] == {"error": "Choose a nickname first."}


async def test_join_create_leave_and_history_on_join(chat: Chat) -> None:
    ada, bob = await chat.user("ada"), await chat.user("bob")
    [joined] = await ada.call("join", "general")
    assert joined == {"ok": True, "channel": "general", "history": [], "more": False}
    assert (await next_event(ada, "notice"))["text"] == "ada joined #general"
    for i in range(3):
        [sent] = await ada.call("message", {"channel": "general", "text": f"  m{i} "})
        assert sent["ok"] and sent["message"]["text"] == f"m{i}"
    await ada.call("message", {"channel": "general", "text": "m3"})
    [joined] = await bob.call("join", "general")  # the last 3 (history_size) come with the join
    assert [m["text"] for m in joined["history"]] == ["m1", "m2", "m3"]
    assert {m["from"] for m in joined["history"]} == {"ada"}
    assert (await bob.call("join", "nope"))[0] == {"error": "No channel #nope (create it first)."}
    assert "Channel names" in (await bob.call("join", "Bad Name"))[0]["error"]

    await drain(ada)
    [created] = await bob.call("create", "rust")
    assert created["ok"] and created["channel"] == "rust"
    assert await next_event(ada, "channels") == ["general", "random", "rust"]
    assert (await ada.call("create", "rust"))[0] == {"error": "#rust exists already."}
    assert (await ada.call("leave", "rust"))[0] == {"error": "You are not in #rust."}

    await drain(ada)
    [left] = await bob.call("leave", "general")
    assert left == {"ok": True, "channel": "general"}
    assert (await next_event(ada, "notice"))["text"] == "bob left #general"
    [refused] = await bob.call("message", {"channel": "general", "text": "hi"})
    assert refused == {"error": "Join #general before writing in it."}


async def test_messages_reach_the_channel_but_not_the_sender(chat: Chat) -> None:
    ada, bob, eve = await chat.user("ada"), await chat.user("bob"), await chat.user("eve")
    await ada.call("join", "general")
    await bob.call("join", "general")
    await eve.call("join", "random")
    for client in (ada, bob, eve):
        await drain(client)
    [sent] = await ada.call("message", {"channel": "general", "text": "hello"})
    received = await next_event(bob, "message")
    assert received == sent["message"]
    assert received["from"] == "ada" and received["channel"] == "general"
    await ada.nothing()
    await eve.nothing()


async def test_direct_messages_reach_only_their_target(chat: Chat) -> None:
    ada, bob, eve = await chat.user("ada"), await chat.user("bob"), await chat.user("eve")
    for client in (ada, bob, eve):
        await drain(client)
    [sent] = await ada.call("dm", {"to": "bob", "text": "psst"})
    assert sent["ok"]
    dm = await next_event(bob, "dm")
    assert (dm["from"], dm["to"], dm["text"]) == ("ada", "bob", "psst")
    await eve.nothing()
    await ada.nothing()
    assert (await ada.call("dm", {"to": "zed", "text": "x"}))[0] == {"error": "zed is not online."}
    assert (await ada.call("dm", {"to": "ada", "text": "x"}))[0] == {"error": "That is you."}


async def test_validation_errors(chat: Chat) -> None:
    ada = await chat.user("ada")
    await ada.call("join", "general")
    for text, error in [
        ("", "Message is empty."),
        ("   ", "Message is empty."),
        ("x" * 501, "Message is too long (501 characters, at most 500)."),
    ]:
        [answer] = await ada.call("message", {"channel": "general", "text": text})
        assert answer == {"error": error}
    for bad_args in [[{"channel": "general", "text": None}], [["not", "a", "dict"]], []]:
        assert invalid_payload((await ada.call("message", *bad_args))[0], "message"), bad_args
    [answer] = await ada.call("message", {"channel": "general", "text": "x" * 500})
    assert answer["ok"]


async def test_flood_limit_per_socket(chat: Chat) -> None:
    ada, bob = await chat.user("ada"), await chat.user("bob")
    await ada.call("join", "general")
    await bob.call("join", "general")
    answers = [
        (await ada.call("message", {"channel": "general", "text": f"m{i}"}))[0] for i in range(6)
    ]
    assert [bool(a.get("ok")) for a in answers] == [True, True, True, True, False, False]  # burst 4
    assert answers[4] == {"error": "Slow down: too many messages (flood limit)."}
    [other] = await bob.call("message", {"channel": "general", "text": "mine"})  # own bucket
    assert other["ok"]


async def test_typing_and_presence(chat: Chat) -> None:
    ada, bob = await chat.user("ada"), await chat.user("bob")
    await ada.call("join", "general")
    await bob.call("join", "general")
    for client in (ada, bob):
        await drain(client)
    ada.emit("typing", {"channel": "general", "typing": True})
    assert await next_event(bob, "typing") == {"channel": "general", "nick": "ada", "typing": True}
    ada.emit("typing", {"channel": "random", "typing": True})  # not joined: ignored
    ada.emit("typing", "garbage")
    await bob.nothing()

    assert (await bob.call("presence", {"status": "away"}))[0] == {"ok": True}
    expected = [{"nick": "ada", "status": "online"}, {"nick": "bob", "status": "away"}]
    assert await next_event(ada, "members") == expected
    assert invalid_payload((await bob.call("presence", {"status": "gone"}))[0], "presence")

    await drain(ada)
    await bob.close()
    chat.clients.remove(bob)
    assert await next_event(ada, "members") == [{"nick": "ada", "status": "online"}]
    assert chat.state.sid_of("bob") is None


async def test_recovered_socket_keeps_its_nick_and_gets_what_it_missed() -> None:
    state = ChatState()
    io = create_app(store=state)
    async with serving(io) as port:
        chat = Chat(port, state)
        ada, bob = await chat.user("ada"), await chat.user("bob")
        await ada.call("join", "general")
        await bob.call("join", "general")
        await drain(bob)
        last = await next_event_raw(ada, "notice")
        while last[1]["text"] != "bob joined #general":
            last = await next_event_raw(ada, "notice")
        await ada.nothing()
        offset = last[-1]  # recovery: the offset of the last packet ada got
        sid, pid = ada.sio.sids["/"], ada.sio.pids["/"]
        io.sockets.sockets[sid].conn.engine.close_now("transport error")
        assert await next_event(bob, "members") == [{"nick": "bob", "status": "online"}]
        [sent] = await bob.call("message", {"channel": "general", "text": "missed it"})
        await ada.close()
        chat.clients.remove(ada)

        sio = await SioClient.open(port)
        back = User(sio)
        chat.clients.append(back)
        connected = await sio.connect(auth={"pid": pid, "offset": offset})
        assert connected.data["sid"] == sid
        assert await next_event(back, "message") == sent["message"]
        assert (await next_event(bob, "members"))[0] == {"nick": "ada", "status": "online"}
        [answer] = await back.call("message", {"channel": "general", "text": "back"})
        assert answer["message"]["from"] == "ada"
        for client in chat.clients:
            await client.close()


async def next_event_raw(client: User, name: str) -> list[Any]:
    while True:
        event = client.events.popleft() if client.events else await client.sio.event()
        if event[0] == name:
            return event


async def test_every_event_is_flood_limited() -> None:
    io = create_app(store=ChatState(), event_burst=5, event_rate=0.5)
    async with serving(io) as port:
        ada = User(await SioClient.open(port))
        await ada.sio.connect()
        answers = [(await ada.call("join", "general"))[0] for _ in range(6)]
        assert answers[0] == {"error": "Choose a nickname first."}  # counted all the same
        assert answers[5] == {"error": "Slow down: too many requests (flood limit)."}
        for _ in range(8):  # typing has a bucket of its own (burst 5 here)
            ada.emit("typing", {"channel": "general", "typing": True})
        assert await next_event(ada, "limited") == {
            "error": "Slow down: too many requests (flood limit)."
        }
        await ada.nothing()  # said once, not once per refused event
        await ada.close()


async def test_channel_creation_is_capped_and_limited() -> None:
    state = ChatState()
    io = create_app(store=state, burst=3, rate=0.1, max_channels=2)
    async with serving(io) as port:
        room = Chat(port, state)
        ada, bob = await room.user("ada"), await room.user("bob")
        assert (await ada.call("create", "one"))[0]["ok"]
        assert (await ada.call("create", "two"))[0]["ok"]
        [capped] = await bob.call("create", "three")
        assert capped == {"error": "There are 2 channels already: join one of them."}
        assert await state.channels() == ["general", "one", "random", "two"]
        [limited] = await ada.call("create", "four")  # the cap answers before the bucket
        assert "2 channels" in limited["error"]
        for client in room.clients:
            await client.close()


async def test_a_flood_of_creates_is_refused_and_stays_small() -> None:
    state = ChatState()
    io = create_app(store=state, burst=3, rate=0.1)
    async with serving(io) as port:
        room = Chat(port, state)
        eve = await room.user("eve")
        answers = [(await eve.call("create", f"c{i}"))[0] for i in range(30)]
        assert sum(1 for a in answers if a.get("ok")) == 3  # the burst, then refused
        assert answers[3] == {"error": "Slow down: too many messages (flood limit)."}
        assert all("flood limit" in a["error"] for a in answers[3:])
        assert len(await state.channels()) == 2 + 3
        for client in room.clients:
            await client.close()


async def test_an_empty_created_channel_expires() -> None:
    state = ChatState()
    io = create_app(store=state, empty_channel_seconds=0.2)
    async with serving(io) as port:
        room = Chat(port, state)
        ada, bob = await room.user("ada"), await room.user("bob")
        assert (await ada.call("create", "tmp"))[0]["ok"]
        assert (await ada.call("create", "kept"))[0]["ok"]
        await ada.call("leave", "tmp")
        await asyncio.sleep(0.1)
        await bob.call("join", "tmp")  # someone came back in time: the timer is off
        await bob.call("leave", "tmp")
        await ada.close()  # "kept" loses its last member with the connection
        room.clients.remove(ada)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 3
        while await state.history.channels() and loop.time() < deadline:
            await asyncio.sleep(0.05)
        assert await state.channels() == ["general", "random"]  # defaults never expire
        # Bob is told: the last channel list he gets has neither (however slow the machine,
        # whichever events came before, they are all looked at).
        lists = [event[1] for event in bob.events if event[0] == "channels"]
        bob.events.clear()
        while lists[-1:] != [["general", "random"]] and loop.time() < deadline + 3:
            with contextlib.suppress(TimeoutError):
                event = await bob.sio.event(0.2)
                if event[0] == "channels":
                    lists.append(event[1])
        assert lists[-1:] == [["general", "random"]], lists
        for client in room.clients:
            await client.close()


async def test_history_pages_of_a_channel_and_of_dms(chat: Chat) -> None:
    for i in range(7):  # history_size is 3 here
        await chat.state.history.add(
            "#general", {"id": f"s-{i}", "from": "old", "text": f"old {i}", "ts": i}
        )
    ada, bob, eve = await chat.user("ada"), await chat.user("bob"), await chat.user("eve")
    [answer] = await ada.call("history", {"channel": "general"})
    assert answer == {"error": "Join #general first."}
    [joined] = await ada.call("join", "general")
    assert [m["id"] for m in joined["history"]] == ["s-4", "s-5", "s-6"] and joined["more"]
    pages = []
    before = joined["history"][0]["id"]
    while True:
        [page] = await ada.call("history", {"channel": "general", "before": before, "limit": 50})
        assert page["ok"] and page["channel"] == "general" and len(page["messages"]) <= 3
        pages.append([m["text"] for m in page["messages"]])
        if not page["more"]:
            break
        before = page["messages"][0]["id"]
    assert pages == [["old 1", "old 2", "old 3"], ["old 0"]]
    [one] = await ada.call("history", {"channel": "general", "before": "s-4", "limit": 1})
    assert [m["id"] for m in one["messages"]] == ["s-3"] and one["more"]
    for bad in [
        {"channel": "general", "limit": 0},
        {"channel": "general", "before": "x" * 65},
        {"nothing": True},
    ]:
        assert (await ada.call("history", bad))[0] == {"error": "Bad request."}, bad
    for bad in [{"channel": "general", "before": 5}, "general"]:
        assert invalid_payload((await ada.call("history", bad))[0], "history"), bad
    # pydantic's lax mode, as FastAPI's: a numeric string is a number.
    [lax] = await ada.call("history", {"channel": "general", "limit": "1"})
    assert lax["ok"] and len(lax["messages"]) == 1
    assert "Nicknames are" in (await ada.call("history", {"dm": "no one"}))[0]["error"]

    for i in range(4):
        [sent] = await ada.call("dm", {"to": "bob", "text": f"dm {i}"})
        assert sent["ok"]
    [last] = await bob.call("history", {"dm": "ada"})
    assert last["dm"] == "ada" and [m["text"] for m in last["messages"]] == ["dm 1", "dm 2", "dm 3"]
    assert last["more"] and last["messages"][0]["to"] == "bob"
    [rest] = await bob.call("history", {"dm": "ada", "before": last["messages"][0]["id"]})
    assert [m["text"] for m in rest["messages"]] == ["dm 0"] and not rest["more"]
    [mine] = await ada.call("history", {"dm": "bob"})
    assert mine["messages"] == last["messages"]
    [others] = await eve.call("history", {"dm": "ada"})  # eve's DMs with ada: none
    assert others["messages"] == [] and not others["more"]
    [guess] = await eve.call("history", {"dm": "ada", "before": rest["messages"][0]["id"]})
    assert guess["messages"] == []


async def test_history_requests_are_flood_limited() -> None:
    state = ChatState()
    io = create_app(store=state, event_burst=4, event_rate=0.1)
    async with serving(io) as port:
        room = Chat(port, state)
        ada = await room.user("ada")  # hello: one event of the burst
        await ada.call("join", "general")
        answers = [(await ada.call("history", {"channel": "general"}))[0] for _ in range(4)]
        assert [bool(a.get("ok")) for a in answers] == [True, True, False, False]
        assert answers[2] == {"error": "Slow down: too many requests (flood limit)."}
        for client in room.clients:
            await client.close()


async def test_history_and_channels_survive_a_restart(tmp_path: Any) -> None:
    path = str(tmp_path / "chat.db")
    state = ChatState(db=path)
    async with serving(create_app(store=state)) as port:
        room = Chat(port, state)
        ada, bob = await room.user("ada"), await room.user("bob")
        await ada.call("join", "general")
        assert (await ada.call("create", "ops"))[0]["ok"]
        await ada.call("message", {"channel": "general", "text": "kept"})
        await ada.call("message", {"channel": "ops", "text": "ops kept"})
        await ada.call("dm", {"to": "bob", "text": "private kept"})
        for client in room.clients:
            await client.close()
    await state.history.close()

    again = ChatState(db=path)
    async with serving(create_app(store=again)) as port:
        room = Chat(port, again)
        bob = await room.user("bob")
        [hello] = await bob.call("hello", {"nick": "bob"})
        assert hello["channels"] == ["general", "ops", "random"]
        [joined] = await bob.call("join", "general")
        assert [(m["from"], m["text"]) for m in joined["history"]] == [("ada", "kept")]
        [ops] = await bob.call("join", "ops")
        assert [m["text"] for m in ops["history"]] == ["ops kept"]
        [dms] = await bob.call("history", {"dm": "ada"})
        assert [m["text"] for m in dms["messages"]] == ["private kept"]
        for client in room.clients:
            await client.close()
    await again.history.close()


async def test_two_servers_on_redis_and_one_file_are_one_chat(
    redis_server: RedisServer, tmp_path: Any
) -> None:
    """Two chat servers on one Redis and one database: members, nicknames, messages, DMs,
    typing, channels and history are the cluster's."""
    from tether.adapters.redis.streams import create_adapter

    path = str(tmp_path / "chat.db")
    key = f"chat-{secrets.token_hex(3)}"
    states = [ChatState(db=path), ChatState(db=path)]
    servers = [
        create_app(
            store=state,
            empty_channel_seconds=0.2,
            adapter=create_adapter(
                redis_server.url,
                stream_name=key,
                channel_prefix=key,
                session_key_prefix=f"{key}:session:",
                block_time=0.5,
            ),
        )
        for state in states
    ]
    async with serving(servers[0]) as port0, serving(servers[1]) as port1:
        one, two = Chat(port0, states[0]), Chat(port1, states[1])
        ada = await one.user("ada")
        bob = await two.user("bob")
        both = [{"nick": "ada", "status": "online"}, {"nick": "bob", "status": "online"}]
        assert await until_event(ada, "members", both)
        [taken] = await (await two.user()).call("hello", {"nick": "ada"})
        assert taken == {"error": "The nickname ada is taken."}

        await ada.call("join", "general")
        await bob.call("join", "general")
        await drain(ada)
        [sent] = await ada.call("message", {"channel": "general", "text": "over redis"})
        assert await next_event(bob, "message") == sent["message"]
        bob.emit("typing", {"channel": "general", "typing": True})
        assert (await next_event(ada, "typing"))["nick"] == "bob"
        [dm] = await bob.call("dm", {"to": "ada", "text": "psst"})
        assert await next_event(ada, "dm") == dm["message"]
        assert (await bob.call("presence", {"status": "away"}))[0] == {"ok": True}
        away = [{"nick": "ada", "status": "online"}, {"nick": "bob", "status": "away"}]
        assert await until_event(ada, "members", away)

        [created] = await ada.call("create", "ops")
        assert created["ok"]
        assert await next_event(bob, "channels") == ["general", "ops", "random"]
        assert (await bob.call("create", "ops"))[0] == {"error": "#ops exists already."}
        await bob.call("join", "ops")
        await ada.call("leave", "ops")  # ada's server sees #ops empty here, bob is in it there
        await asyncio.sleep(0.4)
        assert await states[0].channels() == ["general", "ops", "random"]

        cy = await two.user("cy")  # history written through server one, read through two
        [joined] = await cy.call("join", "general")
        assert [m["text"] for m in joined["history"]] == ["over redis"]
        [dms] = await bob.call("history", {"dm": "ada"})
        assert [m["text"] for m in dms["messages"]] == ["psst"]

        await bob.close()
        two.clients.remove(bob)
        left = [{"nick": "ada", "status": "online"}, {"nick": "cy", "status": "online"}]
        assert await until_event(ada, "members", left)
        for client in one.clients + two.clients:
            await client.close()
    for io, state in zip(servers, states, strict=True):
        await io.close_adapters()
        await state.history.close()


async def until_event(client: User, name: str, value: Any, timeout: float = 5.0) -> bool:
    """Skip ``name`` events until one is ``value`` (lists that were true on the way may come
    first, from either server)."""
    async with asyncio.timeout(timeout):
        while await next_event(client, name, timeout) != value:
            pass
    return True
