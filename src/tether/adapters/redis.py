"""The Redis adapter: a cluster of Socket.IO servers joined by Redis pub/sub, on the wire of
Node's ``@socket.io/redis-adapter`` 8 (tether and Node servers can share one cluster).

    from tether.adapters.redis import create_adapter

    io = tether.Server(adapter=create_adapter("redis://127.0.0.1:6379/0"))

Each server keeps its own rooms in memory and tells the others, through Redis, what they
must do: broadcasts (encoded once per server), and requests that need answers
(``fetch_sockets``, ``all_rooms``, acks of clients on other servers, ``server_side_emit``
with acks). Local delivery never waits for Redis and never stops when Redis is away: the
adapter reconnects and subscribes again by itself, and logs the outage once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tether.adapters import notepack
from tether.adapters.base import BroadcastOptions, NamespaceLike, RemoteSocketDetails
from tether.adapters.memory import MemoryAdapter
from tether.adapters.pending import PendingRequest, ask
from tether.adapters.redis_protocol import (
    Channels,
    ProtocolError,
    RequestType,
    decode_broadcast,
    decode_message,
    decode_opts,
    decode_packet,
    decode_rooms,
    encode_broadcast,
    encode_json,
    encode_opts,
    encode_packet,
)
from tether.errors import AckTimeoutError
from tether.sio import Packet

__all__ = ["RedisAdapter", "RedisAdapterFactory", "RedisLink", "StallWatch", "create_adapter"]

log = logging.getLogger("tether.redis")

_RECONNECT_DELAYS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)

Handler = Callable[[str, bytes], None]
_SUBSCRIBE = {"pattern": "PSUBSCRIBE", "channel": "SUBSCRIBE", "shard": "SSUBSCRIBE"}
_UNSUBSCRIBE = {"pattern": "PUNSUBSCRIBE", "channel": "UNSUBSCRIBE", "shard": "SUNSUBSCRIBE"}


def _uid() -> str:
    return secrets.token_hex(3)


class StallWatch:
    """Notices a Redis that holds its connections open but answers nothing (stopped,
    swapping, stuck in a slow script): commands register while they wait for their reply;
    when one has waited longer than ``after`` seconds and no other reply came meanwhile, a
    WARNING is logged once, and an INFO once when a reply comes again. Redis errors are not
    stalls (they are logged where they occur).
    """

    def __init__(self, after: float) -> None:
        if after <= 0:
            raise ValueError("stall_after must be > 0")
        self.after = after
        self.stalled = False
        self._last_answer = 0.0
        self._deadlines: dict[int, float] = {}
        self._tokens = itertools.count()
        # One timer for every command in flight; when it fires it looks at the oldest.
        self._timer: asyncio.TimerHandle | None = None

    def begin(self, extra: float = 0.0) -> int:
        """A command was sent; ``extra``: seconds Redis may take by design (a blocking read).
        Returns the token to give :meth:`end`."""
        loop = asyncio.get_running_loop()
        token = next(self._tokens)
        deadline = loop.time() + self.after + extra
        self._deadlines[token] = deadline
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._check)
        return token

    def end(self, token: int, answered: bool = True) -> None:
        """The command of ``token`` is over: ``answered``, or failed with an error."""
        self._deadlines.pop(token, None)
        if not answered:
            return
        loop = asyncio.get_running_loop()
        self._last_answer = loop.time()
        if self.stalled:
            self.stalled = False
            log.info("Redis answers again")
            if self._timer is None and self._deadlines:
                self._timer = loop.call_at(self._last_answer + self.after, self._check)

    def _check(self) -> None:
        self._timer = None
        if self.stalled or not self._deadlines:
            return
        # Late when the oldest command is past its deadline and nothing answered since.
        due = max(min(self._deadlines.values()), self._last_answer + self.after)
        loop = asyncio.get_running_loop()
        if loop.time() < due:
            self._timer = loop.call_at(due, self._check)
            return
        self.stalled = True
        log.warning(
            "Redis has not answered a command for %.1f s (stopped or overloaded?); messages "
            "between servers wait until it answers",
            self.after,
        )

    def close(self) -> None:
        """Stop watching."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deadlines.clear()


class RedisLink:
    """One server's connection to Redis: a publisher with an outbox written in batches, and
    one subscriber shared by the adapters of every namespace.

    ``max_pending`` bounds the outbox while Redis is unreachable: older messages are dropped
    first (pub/sub keeps nothing for absent subscribers either). ``stall_after``: seconds a
    command may wait for its reply before the link logs, once, that Redis is not answering
    (see :class:`StallWatch`).
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        owns_client: bool,
        max_pending: int,
        stall_after: float = 5.0,
    ) -> None:
        self.client = client
        self.stalls = StallWatch(stall_after)
        self._owns_client = owns_client
        self.max_pending = max_pending
        # Handlers by subscription kind ("pattern", "channel", "shard") and name.
        self._routes: dict[str, dict[str, Handler]] = {kind: {} for kind in _SUBSCRIBE}
        self._confirmed: set[str] = set()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._outbox: deque[tuple[tuple[Any, ...], Callable[[Any], None] | None]] = deque()
        self._wake: asyncio.Event | None = None
        self._closed = False
        self._publish_failing = False
        self._subscribe_failing = False
        self.dropped = 0

    @classmethod
    def connect(
        cls, redis: str | aioredis.Redis, max_pending: int, stall_after: float = 5.0
    ) -> RedisLink:
        """A link through a new client for the URL ``redis`` (closed with the link), or
        through the given ``redis.asyncio.Redis`` client (left open)."""
        if isinstance(redis, str):
            client = aioredis.Redis.from_url(redis)
            return cls(client, owns_client=True, max_pending=max_pending, stall_after=stall_after)
        return cls(redis, owns_client=False, max_pending=max_pending, stall_after=stall_after)

    # -- subscriptions ----------------------------------------------------------------------

    def add(
        self,
        patterns: dict[str, Handler],
        channels: dict[str, Handler],
        shard_channels: dict[str, Handler] | None = None,
    ) -> None:
        """Route messages of these patterns, channels and shard channels (``SSUBSCRIBE``,
        Redis 7) to their handlers."""
        added = {"pattern": patterns, "channel": channels, "shard": shard_channels or {}}
        for kind, routes in added.items():
            self._routes[kind].update(routes)
        if self._pubsub is not None:
            self._spawn(self._command(self._pubsub, _SUBSCRIBE, added))
        self._ensure_running()

    def remove(
        self, patterns: list[str], channels: list[str], shard_channels: Iterable[str] = ()
    ) -> None:
        """Stop routing these patterns, channels and shard channels."""
        removed = {"pattern": patterns, "channel": channels, "shard": list(shard_channels)}
        for kind, names in removed.items():
            for name in names:
                self._routes[kind].pop(name, None)
                self._confirmed.discard(name)
        if self._pubsub is not None and not self._closed:
            self._spawn(self._command(self._pubsub, _UNSUBSCRIBE, removed))

    async def wait_subscribed(self, names: list[str], timeout: float = 5.0) -> None:
        """Return once Redis has confirmed the subscription to each of ``names``, or after
        ``timeout`` seconds (then the server runs alone until Redis answers)."""
        self._ensure_running()
        loop = asyncio.get_running_loop()
        futures = []
        for name in names:
            if name not in self._confirmed:
                future: asyncio.Future[None] = loop.create_future()
                self._waiters.setdefault(name, []).append(future)
                futures.append(future)
        if futures:
            try:
                await asyncio.wait_for(asyncio.gather(*futures), timeout)
            except TimeoutError:
                log.warning("Redis did not confirm the subscriptions in %.0f s; going on", timeout)

    @staticmethod
    async def _command(
        pubsub: Any, commands: dict[str, str], names: Mapping[str, Iterable[str]]
    ) -> None:
        with contextlib.suppress(RedisError, OSError):
            for kind, command in commands.items():
                listed = list(names[kind])
                if listed:
                    await pubsub.execute_command(command, *listed)

    async def _read(self) -> None:
        attempt = 0
        while not self._closed:
            pubsub = self.client.pubsub()
            try:
                # Set first: a route added while these subscriptions go out gets its own.
                self._pubsub = pubsub
                await self._subscribe_all(pubsub)
                while not self._closed:
                    message = await pubsub.get_message(timeout=None)
                    if message is not None:
                        attempt = 0
                        self._on_message(message)
            except (RedisError, OSError) as exc:
                if not self._subscribe_failing:
                    self._subscribe_failing = True
                    log.warning("Redis subscriber lost (%s); reconnecting", exc)
            finally:
                self._pubsub = None
                self._confirmed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            if self._closed:
                return
            await asyncio.sleep(_RECONNECT_DELAYS[min(attempt, len(_RECONNECT_DELAYS) - 1)])
            attempt += 1

    async def _subscribe_all(self, pubsub: Any) -> None:
        for kind, command in _SUBSCRIBE.items():
            if self._routes[kind]:
                await pubsub.execute_command(command, *self._routes[kind])

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind in ("subscribe", "psubscribe", "ssubscribe"):
            name = _text(message["channel"])
            self._confirmed.add(name)
            for future in self._waiters.pop(name, ()):
                if not future.done():
                    future.set_result(None)
            if self._subscribe_failing:
                self._subscribe_failing = False
                log.warning("Redis subscriber back")
            return
        if kind == "pmessage":
            handler = self._routes["pattern"].get(_text(message["pattern"]))
        elif kind == "message":
            handler = self._routes["channel"].get(_text(message["channel"]))
        elif kind == "smessage":
            handler = self._routes["shard"].get(_text(message["channel"]))
        else:
            return
        if handler is None:
            return
        try:
            handler(_text(message["channel"]), message["data"])
        except Exception:
            log.exception("error handling a Redis message on %s", _text(message["channel"]))

    # -- publishing -------------------------------------------------------------------------

    def publish(self, channel: str, data: bytes) -> None:
        """Queue ``data`` for ``channel``; returns at once."""
        self.send(("PUBLISH", channel, data))

    def send(self, command: tuple[Any, ...], done: Callable[[Any], None] | None = None) -> None:
        """Queue a Redis command; returns at once. ``done`` gets its reply, or the exception
        when it failed (always called, in the order the commands were queued)."""
        if self._closed:
            if done is not None:
                done(ConnectionError("the Redis link is closed"))
            return
        outbox = self._outbox
        if len(outbox) >= self.max_pending:
            _, dropped_done = outbox.popleft()
            self.dropped += 1
            if dropped_done is not None:
                dropped_done(ConnectionError("dropped: too many commands waiting for Redis"))
        outbox.append((command, done))
        if self._wake is None:
            self._ensure_running()
        if self._wake is not None:
            self._wake.set()

    async def _write(self) -> None:
        assert self._wake is not None
        wake = self._wake
        attempt = 0
        while not self._closed:
            await wake.wait()
            wake.clear()
            while self._outbox and not self._closed:
                batch = list(self._outbox)
                self._outbox.clear()
                token = self.stalls.begin()
                try:
                    pipe = self.client.pipeline(transaction=False)
                    for command, _ in batch:
                        pipe.execute_command(*command)
                    replies = await pipe.execute(raise_on_error=False)
                except (RedisError, OSError) as exc:
                    self.stalls.end(token, answered=False)
                    self.dropped += len(batch)
                    _finish(batch, [exc] * len(batch))
                    if not self._publish_failing:
                        self._publish_failing = True
                        log.warning(
                            "Redis unreachable (%s); messages to other servers are dropped "
                            "until it is back",
                            exc,
                        )
                    await asyncio.sleep(_RECONNECT_DELAYS[min(attempt, len(_RECONNECT_DELAYS) - 1)])
                    attempt += 1
                    continue
                self.stalls.end(token)
                _finish(batch, replies)
                attempt = 0
                if self._publish_failing:
                    self._publish_failing = False
                    log.warning("Redis reachable again")

    # -- other commands ---------------------------------------------------------------------

    async def numsub(self, channel: str, shard: bool = False) -> int | None:
        """How many connections subscribe to ``channel`` (a shard channel when ``shard``);
        ``None`` when Redis is away."""
        token = self.stalls.begin()
        answered = False
        try:
            if shard:
                answer = await self.client.pubsub_shardnumsub(channel)
            else:
                answer = await self.client.pubsub_numsub(channel)
            answered = True
        except (RedisError, OSError):
            return None
        finally:
            self.stalls.end(token, answered)
        return int(answer[0][1]) if answer else 0

    # -- life -------------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._closed or self._reader is not None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # started by the first call inside the server's loop
        self._wake = asyncio.Event()
        self._reader = asyncio.create_task(self._read(), name="tether redis subscriber")
        self._writer = asyncio.create_task(self._write(), name="tether redis publisher")
        if self._outbox:
            self._wake.set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        task.add_done_callback(_ignore_result)

    async def close(self) -> None:
        """Send what is queued (briefly), stop the tasks, close the client if it is ours."""
        if self._closed:
            return
        if self._outbox and self._writer is not None:
            for _ in range(50):
                if not self._outbox:
                    break
                await asyncio.sleep(0.01)
        self._closed = True
        self.stalls.close()
        for task in (self._reader, self._writer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if self._owns_client:
            with contextlib.suppress(Exception):
                await self.client.aclose()


def _finish(
    batch: list[tuple[tuple[Any, ...], Callable[[Any], None] | None]], replies: list[Any]
) -> None:
    for (_, done), reply in zip(batch, replies, strict=True):
        if done is not None:
            try:
                done(reply)
            except Exception:
                log.exception("error handling a Redis reply")


def _ignore_result(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisAdapter(MemoryAdapter):
    """Rooms of one namespace in memory, and the rest of the cluster through Redis."""

    def __init__(
        self,
        nsp: NamespaceLike,
        link: RedisLink,
        *,
        key: str = "socket.io",
        requests_timeout: float = 5.0,
        publish_on_specific_response_channel: bool = False,
    ) -> None:
        super().__init__(nsp)
        self.uid = _uid()
        self.link = link
        self.channels = Channels(key, nsp.name)
        self.requests_timeout = requests_timeout
        self.publish_on_specific_response_channel = publish_on_specific_response_channel
        self.requests: dict[str, PendingRequest] = {}
        self.ack_requests: dict[str, tuple[Callable[[int], None], Callable[[list[Any]], None]]] = {}
        channels = self.channels
        self._subscriptions = (
            [channels.broadcast_pattern],
            [channels.request, channels.response, channels.specific_response(self.uid)],
        )
        link.add(
            {channels.broadcast_pattern: self._on_broadcast},
            {
                channels.request: self._on_request,
                channels.response: self._on_response,
                channels.specific_response(self.uid): self._on_response,
            },
        )

    async def init(self) -> None:
        """Wait until Redis confirms this namespace's subscriptions."""
        patterns, channels = self._subscriptions
        await self.link.wait_subscribed(patterns + channels)

    async def close(self) -> None:
        """Unsubscribe this namespace (the link is closed by its factory)."""
        self.link.remove(*self._subscriptions)

    # -- broadcasts -------------------------------------------------------------------------

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        """Send to the designated sockets here, and publish for the other servers."""
        if not opts.flags.local:
            message = encode_broadcast(self.uid, packet, opts)
            self.link.publish(self.channels.for_rooms(opts.rooms), message)
        super().broadcast(packet, opts)

    def broadcast_with_ack(
        self,
        packet: Packet,
        opts: BroadcastOptions,
        on_count: Callable[[int], None],
        on_ack: Callable[[list[Any]], None],
    ) -> None:
        """Broadcast expecting acks; the other servers report their client counts and relay
        their clients' acks (the first argument of each, as Node does)."""
        if not opts.flags.local:
            request_id = _uid()
            request = {
                "uid": self.uid,
                "requestId": request_id,
                "type": int(RequestType.BROADCAST),
                "packet": encode_packet(packet),
                "opts": encode_opts(opts),
            }
            self.ack_requests[request_id] = (on_count, on_ack)
            # Late answers have nobody to go to: forget the request after its timeout.
            asyncio.get_running_loop().call_later(
                opts.flags.timeout or self.requests_timeout,
                self.ack_requests.pop,
                request_id,
                None,
            )
            self.link.publish(self.channels.request, notepack.pack(request))
        super().broadcast_with_ack(packet, opts, on_count, on_ack)

    def _on_broadcast(self, channel: str, data: bytes) -> None:
        room = self.channels.room_of(channel)
        if room is None or (room and room not in self.rooms):
            return  # a one-room broadcast for a room nobody here is in: not even decoded
        try:
            uid, packet, opts = decode_broadcast(data)
        except ProtocolError as exc:
            log.warning("ignoring a broadcast from Redis on %s: %s", channel, exc)
            return
        if uid == self.uid or packet.nsp != self.nsp.name:
            return
        super().broadcast(packet, opts)

    # -- requests from the other servers ----------------------------------------------------

    def _on_request(self, channel: str, data: bytes) -> None:
        try:
            request = decode_message(data)
            kind = RequestType(request["type"])
        except (ProtocolError, ValueError, KeyError) as exc:
            log.warning("ignoring a request from Redis: %s", exc)
            return
        try:
            handler = self._request_handlers[kind]
        except KeyError:
            return
        try:
            handler(self, request)
        except ProtocolError as exc:
            log.warning("ignoring a %s request from Redis: %s", kind.name, exc)

    def _respond(self, request: dict[str, Any], response: bytes) -> None:
        uid = request.get("uid")
        if self.publish_on_specific_response_channel and isinstance(uid, str):
            self.link.publish(self.channels.specific_response(uid), response)
        else:
            self.link.publish(self.channels.response, response)

    def _answer_sockets(self, request: dict[str, Any]) -> None:
        if request.get("requestId") in self.requests:
            return
        rooms = decode_opts({"rooms": request.get("rooms")}).rooms
        response = {"requestId": request.get("requestId"), "sockets": sorted(self.sockets(rooms))}
        self._respond(request, encode_json(response))

    def _answer_all_rooms(self, request: dict[str, Any]) -> None:
        if request.get("requestId") in self.requests:
            return
        response = {"requestId": request.get("requestId"), "rooms": sorted(self.rooms)}
        self._respond(request, encode_json(response))

    def _apply_remote(self, request: dict[str, Any], apply: Callable[[Any], None]) -> None:
        if request.get("uid") == self.uid:
            return  # done here already
        if request.get("opts"):
            apply(decode_opts(request["opts"]))
            return
        # The older form names one socket and expects an answer.
        socket = self.nsp.sockets.get(str(request.get("sid")))
        if socket is None:
            return
        apply(BroadcastOptions(rooms=frozenset((socket.id,))))
        self._respond(request, encode_json({"requestId": request.get("requestId")}))

    def _remote_join(self, request: dict[str, Any]) -> None:
        rooms = decode_rooms(request.get("rooms", request.get("room")))
        self._apply_remote(request, lambda opts: MemoryAdapter.add_sockets(self, opts, rooms))

    def _remote_leave(self, request: dict[str, Any]) -> None:
        rooms = decode_rooms(request.get("rooms", request.get("room")))
        self._apply_remote(request, lambda opts: MemoryAdapter.del_sockets(self, opts, rooms))

    def _remote_disconnect(self, request: dict[str, Any]) -> None:
        close = request.get("close") is True
        self._apply_remote(
            request, lambda opts: MemoryAdapter.disconnect_sockets(self, opts, close)
        )

    def _answer_fetch(self, request: dict[str, Any]) -> None:
        if request.get("requestId") in self.requests:
            return
        targets = self._targets(decode_opts(request.get("opts")))
        sockets = [RemoteSocketDetails.describe(socket) for socket in targets]
        response = {"requestId": request.get("requestId"), "sockets": sockets}
        self._respond(request, encode_json(response))

    def _server_side_emit(self, request: dict[str, Any]) -> None:
        if request.get("uid") == self.uid:
            return
        args = request.get("data")
        if not isinstance(args, list):
            raise ProtocolError("data must be [event, ...args]")
        request_id = request.get("requestId")
        if request_id is None:
            self.nsp.dispatch_server_side(args, None)
            return

        # The namespace calls ``ack`` once, with the handler's result.
        def ack(result: list[Any]) -> None:
            response = {
                "type": int(RequestType.SERVER_SIDE_EMIT),
                "requestId": request_id,
                "data": result[0] if result else None,
            }
            self.link.publish(self.channels.response, encode_json(response))

        self.nsp.dispatch_server_side(args, ack)

    def _remote_broadcast_with_ack(self, request: dict[str, Any]) -> None:
        request_id = request.get("requestId")
        if request_id in self.ack_requests:
            return  # our own
        packet = decode_packet(request.get("packet"))
        opts = decode_opts(request.get("opts"))

        def on_count(count: int) -> None:
            response = {
                "type": int(RequestType.BROADCAST_CLIENT_COUNT),
                "requestId": request_id,
                "clientCount": count,
            }
            self._respond(request, encode_json(response))

        def on_ack(value: Any) -> None:
            response = {
                "type": int(RequestType.BROADCAST_ACK),
                "requestId": request_id,
                "packet": value,
            }
            self._respond(request, notepack.pack(response))

        timeout = opts.flags.timeout or self.requests_timeout
        self.broadcast_for_peer(packet.data, opts, on_count, on_ack, timeout)

    _request_handlers: ClassVar[
        dict[RequestType, Callable[[RedisAdapter, dict[str, Any]], None]]
    ] = {
        RequestType.SOCKETS: _answer_sockets,
        RequestType.ALL_ROOMS: _answer_all_rooms,
        RequestType.REMOTE_JOIN: _remote_join,
        RequestType.REMOTE_LEAVE: _remote_leave,
        RequestType.REMOTE_DISCONNECT: _remote_disconnect,
        RequestType.REMOTE_FETCH: _answer_fetch,
        RequestType.SERVER_SIDE_EMIT: _server_side_emit,
        RequestType.BROADCAST: _remote_broadcast_with_ack,
    }

    # -- responses to our requests ----------------------------------------------------------

    def _on_response(self, channel: str, data: bytes) -> None:
        try:
            response = decode_message(data)
        except ProtocolError as exc:
            log.warning("ignoring a response from Redis: %s", exc)
            return
        request_id = response.get("requestId")
        if not isinstance(request_id, str):
            return
        callbacks = self.ack_requests.get(request_id)
        if callbacks is not None:
            on_count, on_ack = callbacks
            kind = response.get("type")
            if kind == RequestType.BROADCAST_CLIENT_COUNT:
                count = response.get("clientCount")
                if isinstance(count, int) and not isinstance(count, bool):
                    on_count(count)
            elif kind == RequestType.BROADCAST_ACK:
                on_ack([response.get("packet")])
            return
        request = self.requests.get(request_id)
        if request is None:
            return
        if request.kind is RequestType.SERVER_SIDE_EMIT:
            request.add([response.get("data")])
            return
        # An answer without the list still counts as an answer (as in Node).
        found = response.get("sockets" if request.kind is RequestType.REMOTE_FETCH else "rooms")
        request.add(found if isinstance(found, list) else [])

    async def _request(
        self, kind: RequestType, message: dict[str, Any], timeout: float
    ) -> PendingRequest:
        """Publish a request to the other servers and wait for their answers or ``timeout``."""

        def send(request_id: str) -> None:
            request = {"uid": self.uid, "requestId": request_id, "type": int(kind), **message}
            self.link.publish(self.channels.request, encode_json(request))

        expected = await self.server_count() - 1
        return await ask(self.requests, kind, expected, send, timeout)

    # -- operations on the whole cluster ----------------------------------------------------

    async def server_count(self) -> int:
        """Servers subscribed to this namespace's requests (1 when Redis is away)."""
        count = await self.link.numsub(self.channels.request)
        return max(count or 1, 1)

    async def all_rooms(self) -> set[str]:
        """Every room with a member on any server (those that answered in time)."""
        rooms = self.local_rooms()
        request = await self._request(RequestType.ALL_ROOMS, {}, self.requests_timeout)
        rooms.update(r for r in request.results if isinstance(r, str))
        return rooms

    async def fetch_sockets(self, opts: BroadcastOptions) -> list[Any]:
        """This server's designated sockets and those of every server that answered in time."""
        local: list[Any] = self._targets(opts)
        if opts.flags.local:
            return local
        request = await self._request(
            RequestType.REMOTE_FETCH, {"opts": _targets(opts)}, self.requests_timeout
        )
        for raw in request.results:
            details = RemoteSocketDetails.parse(raw)
            if details is not None:
                local.append(details)
        return local

    def _publish_request(self, message: dict[str, Any]) -> None:
        self.link.publish(self.channels.request, encode_json({"uid": self.uid, **message}))

    def add_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        """The designated sockets of every server join ``rooms``."""
        super().add_sockets(opts, rooms)
        if not opts.flags.local:
            self._publish_request(
                {"type": int(RequestType.REMOTE_JOIN), "opts": _targets(opts), "rooms": rooms}
            )

    def del_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        """The designated sockets of every server leave ``rooms``."""
        super().del_sockets(opts, rooms)
        if not opts.flags.local:
            self._publish_request(
                {"type": int(RequestType.REMOTE_LEAVE), "opts": _targets(opts), "rooms": rooms}
            )

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        """Disconnect the designated sockets of every server."""
        if not opts.flags.local:
            self._publish_request(
                {"type": int(RequestType.REMOTE_DISCONNECT), "opts": _targets(opts), "close": close}
            )
        super().disconnect_sockets(opts, close)

    def server_side_emit(self, args: list[Any]) -> None:
        """Emit ``[event, *args]`` to the other servers' server-side handlers."""
        self._publish_request({"type": int(RequestType.SERVER_SIDE_EMIT), "data": args})

    async def server_side_emit_with_ack(self, args: list[Any], timeout: float) -> list[Any]:
        """The answer of every other server; :class:`~tether.errors.AckTimeoutError` with the
        answers that came when some are missing after ``timeout`` seconds."""
        request = await self._request(RequestType.SERVER_SIDE_EMIT, {"data": args}, timeout)
        if not request.complete:
            raise AckTimeoutError(responses=list(request.results))
        return request.results


def _targets(opts: BroadcastOptions) -> dict[str, list[str]]:
    return {"rooms": sorted(opts.rooms), "except": sorted(opts.except_rooms)}


class RedisAdapterFactory:
    """Makes the :class:`RedisAdapter` of each namespace of one server; they share one
    :class:`RedisLink`. Pass it as ``tether.Server(adapter=...)``."""

    def __init__(
        self,
        link: RedisLink,
        *,
        key: str,
        requests_timeout: float,
        publish_on_specific_response_channel: bool,
    ) -> None:
        self.link = link
        self.key = key
        self.requests_timeout = requests_timeout
        self.publish_on_specific_response_channel = publish_on_specific_response_channel

    def __call__(self, nsp: NamespaceLike) -> RedisAdapter:
        return RedisAdapter(
            nsp,
            self.link,
            key=self.key,
            requests_timeout=self.requests_timeout,
            publish_on_specific_response_channel=self.publish_on_specific_response_channel,
        )

    async def close(self) -> None:
        """Close the link to Redis."""
        await self.link.close()


def create_adapter(
    redis: str | aioredis.Redis = "redis://127.0.0.1:6379/0",
    *,
    key: str = "socket.io",
    requests_timeout: float = 5.0,
    publish_on_specific_response_channel: bool = False,
    max_pending: int = 10_000,
    stall_after: float = 5.0,
) -> RedisAdapterFactory:
    """The Redis adapter for ``tether.Server(adapter=...)``, like Node's ``createAdapter``.

    ``redis``: a URL, or a ``redis.asyncio.Redis`` client (its pool gives the subscriber its
    own connection). ``key``: the channel prefix, the same on every server of the cluster.
    ``requests_timeout``: how long ``fetch_sockets`` and ``all_rooms`` wait for the other
    servers (seconds). ``publish_on_specific_response_channel``: answer each requester on its
    own channel (Node's option of that name). ``max_pending``: messages kept for Redis while
    it is unreachable. ``stall_after``: seconds a command may wait for Redis's reply before
    a WARNING says (once) that Redis is not answering; an INFO says when it answers again.
    """
    return RedisAdapterFactory(
        RedisLink.connect(redis, max_pending, stall_after),
        key=key,
        requests_timeout=requests_timeout,
        publish_on_specific_response_channel=publish_on_specific_response_channel,
    )
