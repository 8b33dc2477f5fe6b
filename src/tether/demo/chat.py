"""The chat demo's server, written with tether's public API as an application would be.

Everything lives in memory. Events from the page (each answered through its ack with
``{"ok": True, ...}`` or ``{"error": "..."}``):

``hello {nick}``, ``join {channel}``, ``create {channel}``, ``leave {channel}``,
``message {channel, text}``, ``dm {to, text}``, ``typing {channel, typing}``,
``presence {status}``.

Events to the page: ``message``, ``dm``, ``typing``, ``members``, ``channels``, ``notice``,
``limited`` (an event without an ack, such as ``typing``, was refused by the flood limit).

Every event from a page goes through a per-socket flood limit (``event_burst`` at once, then
``event_rate`` per second; ``typing`` has a bucket of its own, as pages send it as one
types); messages, DMs and channel creations also through a stricter one
(``burst``, ``rate``). Users may create at most ``max_channels`` channels in all, and a
created channel nobody is in is forgotten after ``empty_channel_seconds``.
With connection state recovery, a page that was cut off for less than two minutes gets
back its id, rooms and nickname, and every event it missed.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tether
from tether.demo.pages import Pages

DEFAULT_CHANNELS = ("general", "random")
NICK = re.compile(r"[A-Za-z0-9_.\-]{1,24}")
CHANNEL = re.compile(r"[a-z0-9][a-z0-9_\-]{0,23}")
MAX_TEXT = 500
STATUSES = ("online", "away")
STATIC = Path(__file__).resolve().parent / "static"


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
    """Channels (with their recent history) and the members online."""

    history_size: int = 50
    channels: dict[str, deque[dict[str, Any]]] = field(default_factory=dict)
    #: Channels created by users (the default ones never expire nor count against the cap).
    created: set[str] = field(default_factory=set)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # sid -> member
    boot: str = field(default_factory=lambda: secrets.token_hex(4))
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> str:
        """A message id, unique across restarts (the page drops ids it has seen)."""
        return f"{self.boot}-{next(self.ids)}"

    def channel(self, name: str) -> deque[dict[str, Any]]:
        return self.channels.setdefault(name, deque(maxlen=self.history_size))

    def member_list(self) -> list[dict[str, Any]]:
        return sorted(
            ({"nick": m["nick"], "status": m["status"]} for m in self.members.values()),
            key=lambda m: str(m["nick"]).lower(),
        )

    def sid_of(self, nick: str) -> str | None:
        for sid, member in self.members.items():
            if member["nick"] == nick:
                return sid
        return None


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
    store: ChatState | None = None,
) -> tether.Server:
    """A :class:`tether.Server` serving the chat: its pages at ``/``, ``/hello`` and
    ``/static/``, the client bundle at ``/socket.io/socket.io.js``, and the chat events.
    ``store`` is where channels and members live (a new one by default). ``burst`` /
    ``rate``: the flood limit of messages, DMs and channel creations; ``event_burst`` /
    ``event_rate``: the one of every event; ``max_channels``: channels users may create;
    ``empty_channel_seconds``: how long a created channel nobody is in is kept."""
    io = tether.Server(
        connection_state_recovery=tether.RecoveryOptions(
            max_disconnection_duration=recovery_seconds
        ),
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
    )
    state = store if store is not None else ChatState(history_size=history_size)
    for name in DEFAULT_CHANNELS:
        state.channel(name)
    io.router.mount(Pages(STATIC))

    def member(socket: tether.Socket) -> dict[str, Any]:
        found = state.members.get(socket.id)
        if found is None:
            raise ChatError("Choose a nickname first.")
        return found

    def limited(socket: tether.Socket) -> None:
        bucket: RateLimit = socket.data.setdefault("bucket", RateLimit(burst, rate))
        if not bucket.allow():
            raise ChatError("Slow down: too many messages (flood limit).")

    def events_allowed(socket: tether.Socket, kind: str = "events") -> bool:
        bucket: RateLimit = socket.data.setdefault(kind, RateLimit(event_burst, event_rate))
        return bucket.allow()

    def guarded(
        handler: Callable[[tether.Socket, Any], dict[str, Any]],
    ) -> Callable[..., dict[str, Any]]:
        def run(socket: tether.Socket, data: Any = None, *_: Any) -> dict[str, Any]:
            if not events_allowed(socket):
                return {"error": "Slow down: too many requests (flood limit)."}
            try:
                return handler(socket, data)
            except ChatError as error:
                return {"error": str(error)}

        return run

    expiring: dict[str, asyncio.TimerHandle] = {}

    def members_of(name: str) -> int:
        return len(io.sockets.adapter.sockets({"#" + name}))

    def watch_empty(name: str) -> None:
        """Forget a created channel ``empty_channel_seconds`` after its last member left."""
        if name not in state.created or name in expiring or members_of(name):
            return
        loop = asyncio.get_running_loop()
        expiring[name] = loop.call_later(empty_channel_seconds, expire, name)

    def expire(name: str) -> None:
        expiring.pop(name, None)
        if name in state.created and not members_of(name):
            state.created.discard(name)
            state.channels.pop(name, None)
            io.emit("channels", sorted(state.channels))

    def announce_members() -> None:
        io.emit("members", state.member_list())

    def notice(channel: str, text: str) -> None:
        io.to("#" + channel).emit("notice", {"channel": channel, "text": text, "ts": _now()})

    def connected(socket: tether.Socket) -> None:
        nick = socket.data.get("nick") if isinstance(socket.data, dict) else None
        if socket.recovered and nick:
            status = socket.data.get("status") or "online"
            state.members[socket.id] = {"nick": nick, "status": status}
            announce_members()

    def disconnected(socket: tether.Socket, *_: Any) -> None:
        if state.members.pop(socket.id, None) is not None:
            announce_members()
        for name in list(state.created):  # its rooms are already left (at most max_channels)
            watch_empty(name)

    def hello(socket: tether.Socket, data: Any) -> dict[str, Any]:
        nick = _payload(data).get("nick")
        if not isinstance(nick, str) or not NICK.fullmatch(nick.strip()):
            raise ChatError("Nicknames are 1-24 letters, digits, '.', '-' or '_'.")
        nick = nick.strip()
        holder = state.sid_of(nick)
        if holder is not None and holder != socket.id:
            raise ChatError(f"The nickname {nick} is taken.")
        state.members[socket.id] = {"nick": nick, "status": "online"}
        socket.data.update(nick=nick, status="online")
        announce_members()
        return {"ok": True, "nick": nick, "id": socket.id, "channels": sorted(state.channels)}

    def join_channel(socket: tether.Socket, name: str) -> dict[str, Any]:
        me = member(socket)
        already = "#" + name in socket.rooms
        socket.join("#" + name)
        timer = expiring.pop(name, None)
        if timer is not None:
            timer.cancel()
        if not already:
            notice(name, f"{me['nick']} joined #{name}")
        return {"ok": True, "channel": name, "history": list(state.channels[name])}

    def join(socket: tether.Socket, name: Any) -> dict[str, Any]:
        name = _channel_name(name)
        member(socket)
        if name not in state.channels:
            raise ChatError(f"No channel #{name} (create it first).")
        return join_channel(socket, name)

    def create(socket: tether.Socket, name: Any) -> dict[str, Any]:
        name = _channel_name(name)
        member(socket)
        if name in state.channels:
            raise ChatError(f"#{name} exists already.")
        if len(state.created) >= max_channels:
            raise ChatError(f"There are {max_channels} channels already: join one of them.")
        limited(socket)
        state.channel(name)
        state.created.add(name)
        io.emit("channels", sorted(state.channels))
        return join_channel(socket, name)

    def leave(socket: tether.Socket, name: Any) -> dict[str, Any]:
        name = _channel_name(name)
        me = member(socket)
        if "#" + name not in socket.rooms:
            raise ChatError(f"You are not in #{name}.")
        socket.leave("#" + name)
        notice(name, f"{me['nick']} left #{name}")
        watch_empty(name)
        return {"ok": True, "channel": name}

    def message(socket: tether.Socket, data: Any) -> dict[str, Any]:
        data = _payload(data)
        me = member(socket)
        name = _channel_name(data.get("channel"))
        if "#" + name not in socket.rooms:
            raise ChatError(f"Join #{name} before writing in it.")
        text = _text(data.get("text"))
        limited(socket)
        entry = {
            "id": state.next_id(),
            "channel": name,
            "from": me["nick"],
            "text": text,
            "ts": _now(),
        }
        state.channels[name].append(entry)
        socket.to("#" + name).emit("message", entry)
        return {"ok": True, "message": entry}

    def direct(socket: tether.Socket, data: Any) -> dict[str, Any]:
        data = _payload(data)
        me = member(socket)
        to = data.get("to")
        target = state.sid_of(to) if isinstance(to, str) else None
        if target is None:
            raise ChatError(f"{to} is not online.")
        if target == socket.id:
            raise ChatError("That is you.")
        text = _text(data.get("text"))
        limited(socket)
        entry = {"id": state.next_id(), "from": me["nick"], "to": to, "text": text, "ts": _now()}
        io.to(target).emit("dm", entry)
        return {"ok": True, "message": entry}

    def typing(socket: tether.Socket, data: Any = None, *_: Any) -> None:
        if not events_allowed(socket, "typing"):  # a bucket of its own: pages send many
            # No ack to answer with: say it once a second at most.
            now = time.monotonic()
            if now - socket.data.get("limited_at", 0.0) >= 1.0:
                socket.data["limited_at"] = now
                socket.emit("limited", {"error": "Slow down: too many requests (flood limit)."})
            return
        me = state.members.get(socket.id)
        if me is None or not isinstance(data, dict):
            return
        name = data.get("channel")
        if isinstance(name, str) and "#" + name in socket.rooms:
            info = {"channel": name, "nick": me["nick"], "typing": bool(data.get("typing"))}
            socket.to("#" + name).emit("typing", info)

    def presence(socket: tether.Socket, data: Any) -> dict[str, Any]:
        status = _payload(data).get("status")
        if status not in STATUSES:
            raise ChatError("Status is online or away.")
        me = member(socket)
        if me["status"] != status:
            me["status"] = status
            socket.data["status"] = status
            announce_members()
        return {"ok": True}

    io.on("connection", connected)
    io.on("disconnect", disconnected)
    io.on("typing", typing)
    for event, handler in (
        ("hello", hello),
        ("join", join),
        ("create", create),
        ("leave", leave),
        ("message", message),
        ("dm", direct),
        ("presence", presence),
    ):
        io.on(event, guarded(handler))
    return io


def _now() -> int:
    return int(time.time() * 1000)
