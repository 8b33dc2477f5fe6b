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
import logging
from collections.abc import Callable
from typing import Any, ClassVar

import redis.asyncio as aioredis

from tether.adapters import notepack
from tether.adapters.base import BroadcastOptions, NamespaceLike, RemoteSocketDetails
from tether.adapters.cluster.wire import (
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
from tether.adapters.memory import MemoryAdapter
from tether.adapters.pending import PendingRequest, ask
from tether.adapters.redis.link import RedisLink, new_uid
from tether.errors import AckTimeoutError
from tether.sio import Packet

__all__ = ["RedisAdapter", "RedisAdapterFactory", "create_adapter"]

log = logging.getLogger("tether.redis")


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
        self.uid = new_uid()
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
            request_id = new_uid()
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
