"""One server's link to Redis (:class:`RedisLink`), shared by every namespace and adapter of
that server: pipelined commands in order, one pub/sub subscriber that subscribes again after a
reconnection, and a watch that says once when Redis stops answering (:class:`StallWatch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

__all__ = ["RedisLink", "StallWatch"]

log = logging.getLogger("tether.redis")

_RECONNECT_DELAYS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)

Handler = Callable[[str, bytes], None]
_SUBSCRIBE = {"pattern": "PSUBSCRIBE", "channel": "SUBSCRIBE", "shard": "SSUBSCRIBE"}
_UNSUBSCRIBE = {"pattern": "PUNSUBSCRIBE", "channel": "UNSUBSCRIBE", "shard": "SUNSUBSCRIBE"}


def new_uid() -> str:
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

    @property
    def connected(self) -> bool:
        """Whether the link is up: subscribed, and publishing without errors."""
        return (
            not self._closed
            and self._pubsub is not None
            and not self._subscribe_failing
            and not self._publish_failing
        )

    @property
    def pending(self) -> int:
        """Messages and commands waiting to be written to Redis."""
        return len(self._outbox)

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
