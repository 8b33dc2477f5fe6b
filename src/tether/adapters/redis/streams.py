"""The Redis Streams adapter, on the wire of Node's ``@socket.io/redis-streams-adapter`` 0.3:
broadcasts and room changes go through a Redis stream (``XADD``/``XREAD``), so that each has
an offset and a client that reconnects to *another* server of the cluster recovers its id,
rooms, data and every packet it missed (connection state recovery across servers).

    from tether.adapters.redis.streams import create_adapter

    io = tether.Server(
        connection_state_recovery=True,
        adapter=create_adapter("redis://127.0.0.1:6379/0"),
    )

Requests that need answers (acks of clients on other servers, ``fetch_sockets``,
``server_side_emit``) and their answers travel by pub/sub: ``<prefix>#<nsp>#`` for every
server, ``<prefix>#<nsp>#<uid>#`` for one. Sessions of disconnected sockets are kept under
``<session_key_prefix><pid>`` for the recovery duration.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from tether.adapters import notepack
from tether.adapters.base import (
    NamespaceLike,
    PersistedSession,
    RestoredSession,
)
from tether.adapters.cluster.adapter import (
    MAY_CONTAIN_BINARY,
    ClusterAdapter,
    MessageType,
    has_binary,
)
from tether.adapters.cluster.wire import ProtocolError, decode_opts
from tether.adapters.redis.link import RedisLink, StallWatch

__all__ = ["RedisStreamsAdapter", "StreamsAdapterFactory", "create_adapter"]

log = logging.getLogger("tether.redis")

_OFFSET = re.compile(r"[0-9]+-[0-9]+")
_RESTORE_MAX_READS = 100


def encode_entry(message: dict[str, Any]) -> list[Any]:
    """The fields of a stream entry for ``message`` (flat: name, value, name, value...)."""
    fields: list[Any] = ["uid", message["uid"], "nsp", message["nsp"], "type", str(message["type"])]
    data = message.get("data")
    if data:
        if message["type"] in MAY_CONTAIN_BINARY and has_binary(data):
            fields += ["data", base64.b64encode(notepack.pack(data))]
        else:
            fields += ["data", orjson.dumps(data)]
    return fields


def decode_entry(fields: dict[bytes, bytes]) -> dict[str, Any]:
    """The message of a stream entry."""
    try:
        message: dict[str, Any] = {
            "uid": fields[b"uid"].decode(),
            "nsp": fields[b"nsp"].decode(),
            "type": int(fields[b"type"]),
        }
        raw = fields.get(b"data")
        if raw:
            if raw[:1] == b"{":
                message["data"] = orjson.loads(raw)
            else:
                message["data"] = notepack.unpack(base64.b64decode(raw, validate=True))
    except (KeyError, ValueError, UnicodeDecodeError, notepack.NotepackError) as exc:
        raise ProtocolError(f"malformed stream entry: {exc}") from exc
    return message


def _next_offset(offset: str) -> str:
    timestamp, _, sequence = offset.partition("-")
    return f"{timestamp}-{int(sequence) + 1}"


class StreamReader:
    """Reads the stream from the moment it starts and hands each entry to the adapter of its
    namespace, with the entry id as offset; reconnects by itself."""

    def __init__(
        self,
        client: aioredis.Redis,
        stream: str,
        read_count: int,
        block: float,
        stalls: StallWatch | None = None,
    ) -> None:
        self.client = client
        self.stalls = stalls or StallWatch(5.0)
        self.stream = stream
        self.read_count = read_count
        self.block_ms = max(1, round(block * 1000))
        self.adapters: dict[str, RedisStreamsAdapter] = {}
        self._task: asyncio.Task[None] | None = None
        self._started: asyncio.Future[None] | None = None
        self._failing = False

    async def start(self) -> None:
        """Start reading (once); returns when the starting offset is known."""
        if self._task is None:
            self._started = asyncio.get_running_loop().create_future()
            self._task = asyncio.create_task(self._read(), name="tether redis stream reader")
        assert self._started is not None
        await asyncio.shield(self._started)

    async def _read(self) -> None:
        assert self._started is not None
        offset = "$"
        delay = 0.05
        while True:
            try:
                if offset == "$":
                    # The current last id, so that nothing added from now on is missed.
                    info = await self._watched(self.client.xinfo_stream(self.stream))
                    offset = _text(info["last-generated-id"])
            except RedisError as exc:
                if "no such key" not in str(exc).lower():
                    delay = await self._failed(exc, delay)
                    continue
                offset = "0-0"
            except OSError as exc:
                delay = await self._failed(exc, delay)
                continue
            if not self._started.done():
                self._started.set_result(None)
            try:
                reply = await self._watched(
                    self.client.xread(
                        {self.stream: offset}, count=self.read_count, block=self.block_ms
                    ),
                    self.block_ms / 1000,
                )
            except (RedisError, OSError) as exc:
                delay = await self._failed(exc, delay)
                continue
            if self._failing:
                self._failing = False
                log.warning("Redis stream %s readable again", self.stream)
            delay = 0.05
            for _, entries in reply or ():
                for entry_id, fields in entries:
                    offset = _text(entry_id)
                    self._dispatch(fields, offset)

    async def _watched(self, command: Awaitable[Any], block: float = 0.0) -> Any:
        """The reply of ``command``, timed by the link's :class:`StallWatch`."""
        token = self.stalls.begin(block)
        answered = False
        try:
            reply = await command
            answered = True
            return reply
        except ResponseError:
            answered = True  # an error reply is an answer all the same
            raise
        finally:
            self.stalls.end(token, answered)

    async def _failed(self, exc: Exception, delay: float) -> float:
        if not self._failing:
            self._failing = True
            log.warning("Redis stream %s unreadable (%s); retrying", self.stream, exc)
        assert self._started is not None
        if not self._started.done():
            self._started.set_result(None)  # serve anyway; reading resumes when Redis is back
        await asyncio.sleep(delay)
        return min(delay * 2, 2.0)

    def _dispatch(self, fields: dict[bytes, bytes], offset: str) -> None:
        try:
            message = decode_entry(fields)
        except ProtocolError as exc:
            log.warning("ignoring a stream entry %s: %s", offset, exc)
            return
        adapter = self.adapters.get(message["nsp"])
        if adapter is not None:
            try:
                adapter.on_message(message, offset)
            except Exception:
                log.exception("error handling stream entry %s", offset)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisStreamsAdapter(ClusterAdapter):
    """Rooms of one namespace in memory; broadcasts through a Redis stream; requests and
    answers through pub/sub; sessions in Redis for recovery on any server."""

    def __init__(
        self,
        nsp: NamespaceLike,
        link: RedisLink,
        reader: StreamReader,
        *,
        channel_prefix: str = "socket.io",
        max_len: int = 10_000,
        session_key_prefix: str = "sio:session:",
        requests_timeout: float = 5.0,
    ) -> None:
        super().__init__(nsp, requests_timeout=requests_timeout)
        self.link = link
        self.reader = reader
        self.max_len = max_len
        self.session_key_prefix = session_key_prefix
        self.public_channel = f"{channel_prefix}#{nsp.name}#"
        self.private_channel = f"{channel_prefix}#{nsp.name}#{self.uid}#"
        self._channel_prefix = channel_prefix
        reader.adapters[nsp.name] = self
        link.add({}, {self.public_channel: self._on_pubsub, self.private_channel: self._on_pubsub})

    async def init(self) -> None:
        """Wait for the subscriptions and for the stream reader's starting point."""
        await asyncio.gather(
            self.link.wait_subscribed([self.public_channel, self.private_channel]),
            self.reader.start(),
        )

    async def close(self) -> None:
        """Stop receiving for this namespace."""
        self.reader.adapters.pop(self.nsp.name, None)
        self.link.remove([], [self.public_channel, self.private_channel])

    def _on_pubsub(self, channel: str, data: bytes) -> None:
        try:
            message = notepack.unpack(data)
        except notepack.NotepackError as exc:
            log.warning("ignoring a message on %s: %s", channel, exc)
            return
        if channel == self.private_channel:
            if isinstance(message, dict):
                self.on_response(message)
        else:
            self.on_message(message)

    @staticmethod
    def _ephemeral(message: dict[str, Any]) -> bool:
        kind = message["type"]
        if kind == MessageType.BROADCAST:
            return "requestId" in message.get("data", {})
        return kind in (MessageType.SERVER_SIDE_EMIT, MessageType.FETCH_SOCKETS)

    def _publish(self, message: dict[str, Any], done: Callable[[str | None], None] | None) -> None:
        if self._ephemeral(message):
            self.link.publish(self.public_channel, notepack.pack(message))
            if done is not None:
                done(None)
            return
        command = ("XADD", self.reader.stream, "MAXLEN", "~", self.max_len, "*")
        command += tuple(encode_entry(message))
        if done is None:
            self.link.send(command)
            return

        def added(reply: Any) -> None:
            done(None if isinstance(reply, Exception) else _text(reply))

        self.link.send(command, added)

    def _publish_response(self, uid: str, response: dict[str, Any]) -> None:
        channel = f"{self._channel_prefix}#{self.nsp.name}#{uid}#"
        self.link.publish(channel, notepack.pack(response))

    async def server_count(self) -> int:
        """Servers subscribed to this namespace's public channel (1 when Redis is away)."""
        count = await self.link.numsub(self.public_channel)
        return max(count or 1, 1)

    # -- connection state recovery ----------------------------------------------------------

    def persist_session(self, session: PersistedSession) -> None:
        """Keep a disconnected socket's session in Redis for the recovery duration."""
        duration = self.nsp.recovery_duration
        if duration is None:
            return
        payload = {
            "sid": session.sid,
            "pid": session.pid,
            "rooms": session.rooms,
            "data": session.data,
        }
        try:
            encoded = base64.b64encode(notepack.pack(payload))
        except notepack.NotepackError as exc:
            log.warning("session of %s not kept for recovery: %s", session.sid, exc)
            return
        key = self.session_key_prefix + session.pid
        self.link.send(("SET", key, encoded, "PX", max(1, round(duration * 1000))))

    async def restore_session(self, pid: str, offset: str) -> RestoredSession | None:
        """The session of ``pid`` and every broadcast it missed after ``offset``, if Redis
        still has both."""
        if not _OFFSET.fullmatch(offset):
            return None
        client = self.link.client
        key = self.session_key_prefix + pid
        try:
            pipe = client.pipeline(transaction=True)
            pipe.get(key)
            pipe.delete(key)
            raw, _ = await pipe.execute()
            found = await client.xrange(self.reader.stream, offset, offset)
            if not raw or not found:
                return None
            session = notepack.unpack(base64.b64decode(raw))
            missed: list[list[Any]] = []
            rooms = session.get("rooms") or []
            for _ in range(_RESTORE_MAX_READS):
                entries = await client.xrange(self.reader.stream, _next_offset(offset), "+")
                if not entries:
                    break
                for entry_id, fields in entries:
                    offset = _text(entry_id)
                    self._collect(fields, offset, set(rooms), missed)
        except (RedisError, OSError, notepack.NotepackError, ValueError) as exc:
            log.warning("session %s not restored: %s", pid, exc)
            return None
        return RestoredSession(
            sid=str(session.get("sid")),
            pid=pid,
            rooms=[r for r in rooms if isinstance(r, str)],
            data=session.get("data"),
            missed_packets=missed,
        )

    def _collect(
        self, fields: dict[bytes, bytes], offset: str, rooms: set[str], missed: list[list[Any]]
    ) -> None:
        try:
            message = decode_entry(fields)
            if message["nsp"] != self.nsp.name or message["type"] != MessageType.BROADCAST:
                return
            data = message["data"]
            opts = decode_opts(data.get("opts"))
            packet_data = data["packet"]["data"]
        except (ProtocolError, KeyError, TypeError, AttributeError):
            return
        included = not opts.rooms or not rooms.isdisjoint(opts.rooms)
        if included and rooms.isdisjoint(opts.except_rooms) and isinstance(packet_data, list):
            missed.append([*packet_data, offset])


class StreamsAdapterFactory:
    """Makes the adapter of each namespace of one server; they share one Redis link and one
    stream reader. Pass it as ``tether.Server(adapter=...)``."""

    def __init__(self, link: RedisLink, reader: StreamReader, **options: Any) -> None:
        self.link = link
        self.reader = reader
        self.options = options

    def __call__(self, nsp: NamespaceLike) -> RedisStreamsAdapter:
        return RedisStreamsAdapter(nsp, self.link, self.reader, **self.options)

    async def close(self) -> None:
        """Stop reading the stream and close the link to Redis."""
        await self.reader.close()
        await self.link.close()


def create_adapter(
    redis: str | aioredis.Redis = "redis://127.0.0.1:6379/0",
    *,
    stream_name: str = "socket.io",
    channel_prefix: str = "socket.io",
    max_len: int = 10_000,
    read_count: int = 100,
    block_time: float = 5.0,
    session_key_prefix: str = "sio:session:",
    requests_timeout: float = 5.0,
    max_pending: int = 10_000,
    stall_after: float = 5.0,
) -> StreamsAdapterFactory:
    """The Redis Streams adapter for ``tether.Server(adapter=...)``, like Node's
    ``createAdapter`` of ``@socket.io/redis-streams-adapter``.

    ``stream_name``: the stream (one for every namespace). ``channel_prefix``: of the pub/sub
    channels. ``max_len``: the stream is trimmed to about this many entries (recovery reaches
    no further back). ``read_count``/``block_time``: entries per ``XREAD`` and how long it
    blocks (seconds). ``session_key_prefix``: of the keys that keep sessions for recovery.
    ``requests_timeout``: how long ``fetch_sockets`` waits for the other servers (seconds).
    ``max_pending``: commands kept while Redis is unreachable. ``stall_after``: seconds a
    command (an ``XREAD`` beyond its ``block_time``) may wait for Redis's reply before a
    WARNING says (once) that Redis is not answering; an INFO says when it answers again.
    """
    link = RedisLink.connect(redis, max_pending, stall_after)
    reader = StreamReader(link.client, stream_name, read_count, block_time, link.stalls)
    return StreamsAdapterFactory(
        link,
        reader,
        channel_prefix=channel_prefix,
        max_len=max_len,
        session_key_prefix=session_key_prefix,
        requests_timeout=requests_timeout,
    )
