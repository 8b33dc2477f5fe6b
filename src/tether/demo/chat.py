"""The chat demo's server, written with tether's public API as an application would be.

Messages, DMs and user-created channels are kept in SQLite (:mod:`tether.demo.history`:
``db``, a file shared by every process that serves the chat, or ``":memory:"``), at most
``max_messages`` per channel and per pair of DM correspondents. Events from the page (each
answered through its ack with ``{"ok": True, ...}`` or ``{"error": "..."}``):

``hello {nick}``, ``join {channel}`` (with the last ``history_size`` messages and whether
there are ``more``), ``create {channel}``, ``leave {channel}``, ``message {channel, text}``,
``dm {to, text}``, ``history {channel | dm, before, limit}`` (the page of at most
``history_size`` messages before the message ``before``: "load older"),
``typing {channel, typing}``, ``presence {status}``.

Events to the page: ``message``, ``dm``, ``typing``, ``members``, ``channels``, ``notice``,
``limited`` (an event without an ack, such as ``typing``, was refused by the flood limit).

The handlers are annotated with the payloads and answers above (TypedDicts and Literals,
below), and the events to the page are declared with ``io.declare``: ``tether typegen
tether.demo.chat:create_app`` writes the chat's TypeScript contract, ``tether asyncapi``
its AsyncAPI document.

Several servers can serve one chat (``tether demo chat --workers N``, or servers on a Redis
adapter): broadcasts go through the adapter, the members online are the sockets of the
whole cluster with a nickname in their ``socket.data`` (``fetch_sockets``, recomputed on
every server when one says ``members-changed`` with ``server_side_emit``), each nickname is
a room (``@nick``, for DMs and to keep nicknames unique), and channels and history come
from the shared database.

Every event from a page goes through a per-socket flood limit (``event_burst`` at once, then
``event_rate`` per second; ``typing`` has a bucket of its own, as pages send it as one
types); messages, DMs and channel creations also through a stricter one
(``burst``, ``rate``). Users may create at most ``max_channels`` channels in all, and a
created channel nobody is in is forgotten, with its messages, after
``empty_channel_seconds``. With connection state recovery, a page that was cut off for
less than two minutes gets back its id, rooms and nickname, and every event it missed.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NotRequired, cast

import tether
from tether.demo.history import DEFAULT_MAX_MESSAGES, History, dm_key
from tether.demo.pages import Pages

DEFAULT_CHANNELS = ("general", "random")
NICK = re.compile(r"[A-Za-z0-9_.\-]{1,24}")
CHANNEL = re.compile(r"[a-z0-9][a-z0-9_\-]{0,23}")
MAX_TEXT = 500
MAX_ID = 64
STATUSES = ("online", "away")
STATIC = Path(__file__).resolve().parent / "static"
#: The database of ``tether demo chat`` (in the working directory) unless ``--db`` says.
DEFAULT_DB = "tether-chat.db"

log = logging.getLogger("tether.demo")

try:  # pydantic (the typed extra) reads only typing_extensions' TypedDicts before Python 3.12
    from typing_extensions import TypedDict
except ImportError:  # pragma: no cover - without the typed extra, typing's is as good
    from typing import TypedDict

# -- the chat's events, as the page sends and receives them -------------------------------

Status = Literal["online", "away"]


class Failure(TypedDict):
    """The answer to a request that failed: what to tell the user."""

    error: str


class Hello(TypedDict):
    """hello: choose a nickname."""

    nick: str


class HelloOk(TypedDict):
    ok: Literal[True]
    nick: str
    #: The socket's id.
    id: str
    #: Every channel.
    channels: list[str]


ChannelMessage = TypedDict(
    "ChannelMessage", {"id": str, "channel": str, "from": str, "text": str, "ts": int}
)
DirectMessage = TypedDict(
    "DirectMessage", {"id": str, "from": str, "to": str, "text": str, "ts": int}
)


class Joined(TypedDict):
    """The answer to join and create: the channel's last messages."""

    ok: Literal[True]
    channel: str
    history: list[ChannelMessage]
    #: Whether there are older messages ("load older").
    more: bool


class Left(TypedDict):
    ok: Literal[True]
    channel: str


class Outgoing(TypedDict):
    """message: a message to a channel the socket is in."""

    channel: str
    text: str


class Sent(TypedDict):
    ok: Literal[True]
    message: ChannelMessage


class DirectOutgoing(TypedDict):
    """dm: a direct message to a member online."""

    to: str
    text: str


class DirectSent(TypedDict):
    ok: Literal[True]
    message: DirectMessage


class HistoryRequest(TypedDict):
    """history: the messages of a channel (or of the direct messages with dm) before the
    message whose id is before (the latest without it), at most limit."""

    channel: NotRequired[str]
    dm: NotRequired[str]
    before: NotRequired[str | None]
    limit: NotRequired[int]


class HistoryPage(TypedDict):
    ok: Literal[True]
    channel: NotRequired[str]
    dm: NotRequired[str]
    messages: list[ChannelMessage | DirectMessage]
    more: bool


class Typing(TypedDict):
    """typing: the user started or stopped typing in a channel."""

    channel: str
    typing: NotRequired[bool]


class TypingNotice(TypedDict):
    channel: str
    nick: str
    typing: bool


class Presence(TypedDict):
    status: Status


class Done(TypedDict):
    ok: Literal[True]


class Member(TypedDict):
    nick: str
    status: Status


class Notice(TypedDict):
    """A line about a channel (who joined, who left)."""

    channel: str
    text: str
    ts: int


class ChatError(Exception):
    """Bad input: the message goes back to the page in the ack."""


@dataclass(slots=True)
class RateLimit:
    """A token bucket: ``burst`` messages at once, then ``rate`` per second."""

    burst: float
    rate: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = -1.0
    stamp: float = 0.0

    def allow(self) -> bool:
        now = self.clock()
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass(slots=True)
class ChatState:
    """The chat's database (``db``: a file, or ``":memory:"``; ``max_messages`` kept per
    conversation) and the members connected to this server (the cluster's are found with
    ``fetch_sockets``)."""

    history_size: int = 50
    db: str = ":memory:"
    max_messages: int = DEFAULT_MAX_MESSAGES
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # sid -> member
    boot: str = field(default_factory=lambda: secrets.token_hex(4))
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    history: History = field(init=False)

    def __post_init__(self) -> None:
        self.history = History(self.db, max_messages=self.max_messages)

    def next_id(self) -> str:
        """A message id, unique across restarts and servers (the page drops ids it has seen)."""
        return f"{self.boot}-{next(self.ids)}"

    def sid_of(self, nick: str) -> str | None:
        """The socket of ``nick`` on this server, if it is here."""
        for sid, member in self.members.items():
            if member["nick"] == nick:
                return sid
        return None

    async def channels(self) -> list[str]:
        """Every channel: the default ones and those users created."""
        return sorted((*DEFAULT_CHANNELS, *await self.history.channels()))


def member_list(sockets: list[Any]) -> list[dict[str, Any]]:
    """The members (nick, status) among ``sockets`` (local or remote), sorted by nick."""
    found: dict[str, dict[str, Any]] = {}
    for socket in sockets:
        data = socket.data
        if isinstance(data, dict) and isinstance(data.get("nick"), str):
            found[data["nick"]] = {"nick": data["nick"], "status": data.get("status", "online")}
    return sorted(found.values(), key=lambda m: str(m["nick"]).lower())


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ChatError("Message is empty.")
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise ChatError(f"Message is too long ({len(text)} characters, at most {MAX_TEXT}).")
    return text


def _channel_name(value: Any) -> str:
    if not isinstance(value, str) or not CHANNEL.fullmatch(value):
        raise ChatError(
            "Channel names are 1-24 lowercase letters, digits, '-' or '_' (starting with a letter or digit)."
        )
    return value


def _nick(value: Any) -> str:
    if not isinstance(value, str) or not NICK.fullmatch(value.strip()):
        raise ChatError("Nicknames are 1-24 letters, digits, '.', '-' or '_'.")
    return value.strip()


def _payload(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ChatError("Bad request.")
    return value


def create_app(
    *,
    history_size: int = 50,
    burst: float = 5,
    rate: float = 1.0,
    event_burst: float = 20,
    event_rate: float = 5.0,
    max_channels: int = 50,
    empty_channel_seconds: float = 600.0,
    recovery_seconds: float = 120.0,
    ping_interval: float = 25.0,
    ping_timeout: float = 20.0,
    db: str = ":memory:",
    max_messages: int = DEFAULT_MAX_MESSAGES,
    adapter: Callable[[tether.Namespace], Any] | None = None,
    store: ChatState | None = None,
) -> tether.Server:
    """A :class:`tether.Server` serving the chat: its pages at ``/``, ``/hello`` and
    ``/static/``, the client bundle at ``/socket.io/socket.io.js``, and the chat events.

    ``store`` is the chat's state (by default a new one on ``db`` keeping ``max_messages``
    (10 000) per channel and per DM pair); ``history_size``: messages sent on a join and
    at most in one "load older" page. ``burst`` / ``rate``: the flood limit of messages,
    DMs and channel creations; ``event_burst`` / ``event_rate``: the one of every event;
    ``max_channels``: channels users may create; ``empty_channel_seconds``: how long a
    created channel nobody is in is kept. ``recovery_seconds``: connection state recovery
    (0: off). ``adapter``: the server's adapter factory (a Redis one for a cluster)."""
    io = tether.Server(
        connection_state_recovery=(
            tether.RecoveryOptions(max_disconnection_duration=recovery_seconds)
            if recovery_seconds > 0
            else False
        ),
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        adapter=adapter,
    )
    state = (
        store
        if store is not None
        else ChatState(history_size=history_size, db=db, max_messages=max_messages)
    )
    history = state.history
    page_size = state.history_size
    io.router.mount(Pages(STATIC))
    tasks: set[asyncio.Task[Any]] = set()
    #: Per socket of this server: its flood buckets and when it was last told it is limited.
    local: dict[str, dict[str, Any]] = {}

    def spawn(coro: Coroutine[Any, Any, Any], what: str) -> None:
        task = asyncio.ensure_future(coro)
        tasks.add(task)

        def done(task: asyncio.Task[Any]) -> None:
            tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("chat: %s failed", what, exc_info=task.exception())

        task.add_done_callback(done)

    def member(socket: tether.Socket) -> dict[str, Any]:
        found = state.members.get(socket.id)
        if found is None:
            raise ChatError("Choose a nickname first.")
        return found

    def bucket(socket: tether.Socket, kind: str, burst: float, rate: float) -> RateLimit:
        buckets = local.setdefault(socket.id, {})
        found: RateLimit = buckets.setdefault(kind, RateLimit(burst, rate))
        return found

    def limited(socket: tether.Socket) -> None:
        if not bucket(socket, "messages", burst, rate).allow():
            raise ChatError("Slow down: too many messages (flood limit).")

    def events_allowed(socket: tether.Socket, kind: str = "events") -> bool:
        return bucket(socket, kind, event_burst, event_rate).allow()

    def guarded(
        handler: Callable[[tether.Socket, Any], Awaitable[Any]],
    ) -> Callable[..., Awaitable[Any]]:
        # The wrapper keeps the handler's signature (``__wrapped__``): its annotations are
        # the event's contract.
        @functools.wraps(handler)
        async def run(socket: tether.Socket, data: Any = None, *_: Any) -> Any:
            if not events_allowed(socket):
                return {"error": "Slow down: too many requests (flood limit)."}
            try:
                return await handler(socket, data)
            except ChatError as error:
                return {"error": str(error)}
            except sqlite3.Error:
                log.exception("chat: the database failed")
                return {"error": "The server could not reach its database: try again."}

        return run

    def lenient(
        handler: Callable[[tether.Socket, Any], Awaitable[None]],
    ) -> Callable[..., Awaitable[None]]:
        """``handler`` called with one argument whatever the page sends (none: ``None``),
        its signature kept for the contract."""

        @functools.wraps(handler)
        async def run(socket: tether.Socket, data: Any = None, *_: Any) -> None:
            await handler(socket, data)

        return run

    # -- members, across the cluster ------------------------------------------------------

    refresh: dict[str, Any] = {"dirty": False, "running": False}

    async def send_members() -> None:
        try:
            while refresh["dirty"]:
                refresh["dirty"] = False
                try:
                    sockets = await io.fetch_sockets()
                except Exception:  # a server of the cluster did not answer: try again later
                    log.warning("chat: could not list the members", exc_info=True)
                    continue
                io.local.emit("members", member_list(sockets))
        finally:
            refresh["running"] = False

    def members_changed(here: bool = True) -> None:
        """Send the members list to this server's pages (again, if a change comes while
        it is being made), and have the other servers do the same when the change is here."""
        if here:
            io.server_side_emit("members-changed")
        refresh["dirty"] = True
        if not refresh["running"]:
            refresh["running"] = True
            spawn(send_members(), "sending the members")

    io.on_server_side("members-changed", lambda *_: members_changed(here=False))

    # -- channels ---------------------------------------------------------------------------

    expiring: dict[str, asyncio.TimerHandle] = {}

    def members_here(name: str) -> int:
        return len(io.sockets.adapter.sockets({"#" + name}))

    def watch_empty(name: str) -> None:
        """Forget a created channel ``empty_channel_seconds`` after its last member here left
        (if nobody in the cluster is in it then)."""
        if name in DEFAULT_CHANNELS or name in expiring or members_here(name):
            return
        loop = asyncio.get_running_loop()
        expiring[name] = loop.call_later(
            empty_channel_seconds, lambda: spawn(expire(name), f"expiring #{name}")
        )

    async def watch_created() -> None:
        for name in await history.channels():
            watch_empty(name)

    async def expire(name: str) -> None:
        expiring.pop(name, None)
        if members_here(name) or await io.in_("#" + name).fetch_sockets():
            return
        if await history.delete_channel(name):
            io.emit("channels", await state.channels())

    async def exists(name: str) -> bool:
        return name in DEFAULT_CHANNELS or await history.has_channel(name)

    def notice(channel: str, text: str) -> None:
        io.to("#" + channel).emit("notice", {"channel": channel, "text": text, "ts": _now()})

    # -- events -----------------------------------------------------------------------------

    started: list[bool] = []

    def connected(socket: tether.Socket) -> None:
        if not started:  # channels created before a restart expire too, if nobody comes
            started.append(True)
            spawn(watch_created(), "watching the created channels")
        nick = socket.data.get("nick") if isinstance(socket.data, dict) else None
        if socket.recovered and nick:
            status = socket.data.get("status") or "online"
            state.members[socket.id] = {"nick": nick, "status": status}
            members_changed()

    def disconnected(socket: tether.Socket, *_: Any) -> None:
        local.pop(socket.id, None)
        if state.members.pop(socket.id, None) is not None:
            members_changed()
        # its rooms are already left: look at every created channel (at most max_channels)
        spawn(watch_created(), "watching the created channels")

    async def hello(socket: tether.Socket, data: Hello) -> HelloOk | Failure:
        """Choose a nickname (unique among the members online)."""
        nick = _nick(_payload(data).get("nick"))
        holders = await io.in_("@" + nick).fetch_sockets()
        if any(holder.id != socket.id for holder in holders):
            raise ChatError(f"The nickname {nick} is taken.")
        channels = await state.channels()
        if not socket.connected:
            raise ChatError("Disconnected.")
        previous = state.members.get(socket.id)
        if previous is not None and previous["nick"] != nick:
            socket.leave("@" + previous["nick"])
        socket.join("@" + nick)
        state.members[socket.id] = {"nick": nick, "status": "online"}
        socket.data.update(nick=nick, status="online")
        members_changed()
        return {"ok": True, "nick": nick, "id": socket.id, "channels": channels}

    async def join_channel(socket: tether.Socket, name: str) -> Joined:
        me = member(socket)
        already = "#" + name in socket.rooms
        socket.join("#" + name)  # before reading: a message is in the page or comes after
        timer = expiring.pop(name, None)
        if timer is not None:
            timer.cancel()
        if not already:
            notice(name, f"{me['nick']} joined #{name}")
        messages, more = await history.page("#" + name, limit=page_size)
        return {
            "ok": True,
            "channel": name,
            "history": cast(list[ChannelMessage], messages),
            "more": more,
        }

    async def join(socket: tether.Socket, name: str) -> Joined | Failure:
        """Join a channel: its last messages come in the answer."""
        name = _channel_name(name)
        member(socket)
        if not await exists(name):
            raise ChatError(f"No channel #{name} (create it first).")
        return await join_channel(socket, name)

    async def create(socket: tether.Socket, name: str) -> Joined | Failure:
        """Create a channel and join it."""
        name = _channel_name(name)
        member(socket)
        if await exists(name):
            raise ChatError(f"#{name} exists already.")
        if len(await history.channels()) >= max_channels:
            raise ChatError(f"There are {max_channels} channels already: join one of them.")
        limited(socket)
        outcome = await history.create_channel(name, max_channels)
        if outcome == "exists":  # created meanwhile, by someone else
            raise ChatError(f"#{name} exists already.")
        if outcome == "full":
            raise ChatError(f"There are {max_channels} channels already: join one of them.")
        io.emit("channels", await state.channels())
        return await join_channel(socket, name)

    async def leave(socket: tether.Socket, name: str) -> Left | Failure:
        """Leave a channel."""
        name = _channel_name(name)
        me = member(socket)
        if "#" + name not in socket.rooms:
            raise ChatError(f"You are not in #{name}.")
        socket.leave("#" + name)
        notice(name, f"{me['nick']} left #{name}")
        watch_empty(name)
        return {"ok": True, "channel": name}

    async def message(socket: tether.Socket, data: Outgoing) -> Sent | Failure:
        """Write in a channel."""
        payload = _payload(data)
        me = member(socket)
        name = _channel_name(payload.get("channel"))
        if "#" + name not in socket.rooms:
            raise ChatError(f"Join #{name} before writing in it.")
        text = _text(payload.get("text"))
        limited(socket)
        entry: ChannelMessage = {
            "id": state.next_id(),
            "channel": name,
            "from": me["nick"],
            "text": text,
            "ts": _now(),
        }
        await history.add("#" + name, cast(dict[str, Any], entry))  # stored before anyone sees it
        socket.to("#" + name).emit("message", entry)
        return {"ok": True, "message": entry}

    async def direct(socket: tether.Socket, data: DirectOutgoing) -> DirectSent | Failure:
        """Write to a member online."""
        payload = _payload(data)
        me = member(socket)
        to = payload.get("to")
        if to == me["nick"]:
            raise ChatError("That is you.")
        if not isinstance(to, str) or not NICK.fullmatch(to):
            raise ChatError(f"{to} is not online.")
        text = _text(payload.get("text"))
        if not await io.in_("@" + to).fetch_sockets():
            raise ChatError(f"{to} is not online.")
        limited(socket)
        entry: DirectMessage = {
            "id": state.next_id(),
            "from": me["nick"],
            "to": to,
            "text": text,
            "ts": _now(),
        }
        await history.add(dm_key(me["nick"], to), cast(dict[str, Any], entry))
        io.to("@" + to).emit("dm", entry)
        return {"ok": True, "message": entry}

    async def older(socket: tether.Socket, data: HistoryRequest) -> HistoryPage | Failure:
        """The page of messages before a message ("load older")."""
        payload = _payload(data)
        me = member(socket)
        limit = payload.get("limit", page_size)
        before = payload.get("before")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ChatError("Bad request.")
        if before is not None and (not isinstance(before, str) or len(before) > MAX_ID):
            raise ChatError("Bad request.")
        answer: dict[str, Any] = {"ok": True}
        if "channel" in payload:
            name = _channel_name(payload["channel"])
            if "#" + name not in socket.rooms:
                raise ChatError(f"Join #{name} first.")
            conv = "#" + name
            answer["channel"] = name
        elif "dm" in payload:
            other = _nick(payload["dm"])
            conv = dm_key(me["nick"], other)
            answer["dm"] = other
        else:
            raise ChatError("Bad request.")
        messages, more = await history.page(conv, before=before, limit=min(limit, page_size))
        answer.update(messages=messages, more=more)
        return answer  # type: ignore[return-value]  # built key by key

    async def typing(socket: tether.Socket, data: Typing) -> None:
        """The user started or stopped typing in a channel (no answer)."""
        if not events_allowed(socket, "typing"):  # a bucket of its own: pages send many
            # No ack to answer with: say it once a second at most.
            now = time.monotonic()
            mine = local.setdefault(socket.id, {})
            if now - mine.get("limited_at", 0.0) >= 1.0:
                mine["limited_at"] = now
                socket.emit("limited", {"error": "Slow down: too many requests (flood limit)."})
            return
        me = state.members.get(socket.id)
        if me is None or not isinstance(data, dict):
            return
        name = data.get("channel")
        if isinstance(name, str) and "#" + name in socket.rooms:
            info = {"channel": name, "nick": me["nick"], "typing": bool(data.get("typing"))}
            socket.to("#" + name).emit("typing", info)

    async def presence(socket: tether.Socket, data: Presence) -> Done | Failure:
        """Set the user's status."""
        status = _payload(data).get("status")
        if status not in STATUSES:
            raise ChatError("Status is online or away.")
        me = member(socket)
        if me["status"] != status:
            me["status"] = status
            socket.data["status"] = status
            members_changed()
        return {"ok": True}

    io.declare("message", ChannelMessage, doc="A message in a channel the page is in.")
    io.declare("dm", DirectMessage, doc="A direct message to the page's user.")
    io.declare("typing", TypingNotice, doc="A member started or stopped typing in a channel.")
    io.declare("members", list[Member], doc="The members online, sorted by nickname.")
    io.declare("channels", list[str], doc="Every channel (one was created or forgotten).")
    io.declare("notice", Notice, doc="A line about a channel (who joined, who left).")
    io.declare(
        "limited",
        Failure,
        doc="An event without an answer (typing) was refused by the flood limit.",
    )
    io.on("connection", connected)
    io.on("disconnect", disconnected)
    io.on("typing", lenient(typing))
    for event, handler in (
        ("hello", hello),
        ("join", join),
        ("create", create),
        ("leave", leave),
        ("message", message),
        ("dm", direct),
        ("history", older),
        ("presence", presence),
    ):
        io.on(event, guarded(handler))
    return io


#: The environment variables through which ``tether demo chat --workers N`` configures
#: its workers (:func:`app_from_env`).
ENV_DB = "TETHER_CHAT_DB"
ENV_REDIS = "TETHER_CHAT_REDIS"


def app_from_env() -> tether.Server:
    """The chat of one worker of ``tether demo chat --workers N``: the database in
    ``TETHER_CHAT_DB``, and a Redis Streams adapter on ``TETHER_CHAT_REDIS`` if set
    (connection state recovery across workers); without Redis the workers share rooms
    through the parent and recovery is off."""
    redis = os.environ.get(ENV_REDIS)
    adapter = None
    if redis:
        from tether.adapters.redis.streams import create_adapter

        adapter = create_adapter(redis)
    return create_app(
        db=os.environ.get(ENV_DB, DEFAULT_DB),
        adapter=adapter,
        recovery_seconds=120.0 if redis else 0.0,
    )


def _now() -> int:
    return int(time.time() * 1000)
