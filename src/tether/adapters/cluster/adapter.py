"""The cluster adapter protocol of Node's ``socket.io-adapter`` (``ClusterAdapter``), which
the Redis Streams adapter and the sharded Redis adapter speak: every message is
``{"uid", "nsp", "type", "data"}`` with a :class:`MessageType`, and answers go to the
requester by its uid. A subclass only says how messages travel (:meth:`_publish`,
:meth:`_publish_response`) and how many servers there are (:meth:`server_count`).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
from collections.abc import Callable
from typing import Any

from tether.adapters.base import BroadcastOptions, NamespaceLike, RemoteSocketDetails
from tether.adapters.cluster.wire import (
    EMITTER_UID,
    ProtocolError,
    decode_opts,
    decode_packet,
    decode_rooms,
    encode_opts,
    encode_packet,
)
from tether.adapters.memory import MemoryAdapter
from tether.adapters.pending import PendingRequest, ask
from tether.errors import AckTimeoutError
from tether.sio import Packet, PacketType

__all__ = ["MAY_CONTAIN_BINARY", "ClusterAdapter", "MessageType", "has_binary"]

log = logging.getLogger("tether.cluster")


class MessageType(enum.IntEnum):
    """The ``type`` of a cluster message or response."""

    INITIAL_HEARTBEAT = 1
    HEARTBEAT = 2
    BROADCAST = 3
    SOCKETS_JOIN = 4
    SOCKETS_LEAVE = 5
    DISCONNECT_SOCKETS = 6
    FETCH_SOCKETS = 7
    FETCH_SOCKETS_RESPONSE = 8
    SERVER_SIDE_EMIT = 9
    SERVER_SIDE_EMIT_RESPONSE = 10
    BROADCAST_CLIENT_COUNT = 11
    BROADCAST_ACK = 12
    ADAPTER_CLOSE = 13


#: Messages that may carry binary (Node encodes those as MessagePack when they do).
MAY_CONTAIN_BINARY = frozenset(
    {
        MessageType.BROADCAST,
        MessageType.FETCH_SOCKETS_RESPONSE,
        MessageType.SERVER_SIDE_EMIT,
        MessageType.SERVER_SIDE_EMIT_RESPONSE,
        MessageType.BROADCAST_ACK,
    }
)


def has_binary(value: Any) -> bool:
    """Whether ``value`` holds binary anywhere (then Node sends MessagePack, not JSON)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return True
    if isinstance(value, (list, tuple)):
        return any(has_binary(v) for v in value)
    if isinstance(value, dict):
        return any(has_binary(v) for v in value.values())
    return False


class ClusterAdapter(MemoryAdapter):
    """Rooms in memory, the rest of the cluster through :meth:`_publish`."""

    def __init__(self, nsp: NamespaceLike, *, requests_timeout: float = 5.0) -> None:
        super().__init__(nsp)
        self.uid = secrets.token_hex(8)
        self.requests_timeout = requests_timeout
        self.requests: dict[str, PendingRequest] = {}
        self.ack_requests: dict[str, tuple[Callable[[int], None], Callable[[list[Any]], None]]] = {}

    # -- what a subclass provides -----------------------------------------------------------

    def _publish(self, message: dict[str, Any], done: Callable[[str | None], None] | None) -> None:
        """Send ``message`` to every server; ``done`` gets its offset (``None`` if none or if
        sending failed) once it is sent."""
        raise NotImplementedError

    def _publish_response(self, uid: str, response: dict[str, Any]) -> None:
        """Send ``response`` to the server ``uid``."""
        raise NotImplementedError

    async def server_count(self) -> int:
        """Servers in the cluster, this one included."""
        raise NotImplementedError

    def _message(self, kind: MessageType, data: dict[str, Any] | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"uid": self.uid, "nsp": self.nsp.name, "type": int(kind)}
        if data is not None:
            message["data"] = data
        return message

    # -- outgoing ---------------------------------------------------------------------------

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        """Publish, then deliver here once the message has its offset (for recovery)."""
        if opts.flags.local:
            self._deliver(packet, opts, None)
            return
        message = self._message(
            MessageType.BROADCAST, {"packet": encode_packet(packet), "opts": encode_opts(opts)}
        )
        self._publish(message, lambda offset: self._deliver(packet, opts, offset))

    def _deliver(self, packet: Packet, opts: BroadcastOptions, offset: str | None) -> None:
        if (
            offset
            and self.nsp.recovery_duration is not None
            and packet.type is PacketType.EVENT
            and packet.id is None
            and not opts.flags.volatile
        ):
            packet = Packet(packet.type, packet.nsp, [*packet.data, offset])
        MemoryAdapter.broadcast(self, packet, opts)

    def broadcast_with_ack(
        self,
        packet: Packet,
        opts: BroadcastOptions,
        on_count: Callable[[int], None],
        on_ack: Callable[[list[Any]], None],
    ) -> None:
        """Broadcast expecting acks from the clients of every server."""
        if not opts.flags.local:
            request_id = secrets.token_hex(8)
            self.ack_requests[request_id] = (on_count, on_ack)
            asyncio.get_running_loop().call_later(
                opts.flags.timeout or self.requests_timeout,
                self.ack_requests.pop,
                request_id,
                None,
            )
            data = {
                "packet": encode_packet(packet),
                "requestId": request_id,
                "opts": encode_opts(opts),
            }
            self._publish(self._message(MessageType.BROADCAST, data), None)
        super().broadcast_with_ack(packet, opts, on_count, on_ack)

    def add_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        """The designated sockets of every server join ``rooms``."""
        super().add_sockets(opts, rooms)
        if not opts.flags.local:
            data = {"opts": encode_opts(opts), "rooms": rooms}
            self._publish(self._message(MessageType.SOCKETS_JOIN, data), None)

    def del_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        """The designated sockets of every server leave ``rooms``."""
        super().del_sockets(opts, rooms)
        if not opts.flags.local:
            data = {"opts": encode_opts(opts), "rooms": rooms}
            self._publish(self._message(MessageType.SOCKETS_LEAVE, data), None)

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        """Disconnect the designated sockets of every server."""
        if not opts.flags.local:
            data = {"opts": encode_opts(opts), "close": close}
            self._publish(self._message(MessageType.DISCONNECT_SOCKETS, data), None)
        super().disconnect_sockets(opts, close)

    async def _ask(self, kind: MessageType, data: dict[str, Any], timeout: float) -> PendingRequest:
        """Publish a request to the other servers and wait for their answers or ``timeout``."""

        def send(request_id: str) -> None:
            self._publish(self._message(kind, {**data, "requestId": request_id}), None)

        expected = await self.server_count() - 1
        return await ask(self.requests, kind, expected, send, timeout)

    async def fetch_sockets(self, opts: BroadcastOptions) -> list[Any]:
        """This server's designated sockets and those of the servers that answered in time."""
        found: list[Any] = self._targets(opts)
        if opts.flags.local:
            return found
        request = await self._ask(
            MessageType.FETCH_SOCKETS,
            {"opts": encode_opts(opts)},
            opts.flags.timeout or self.requests_timeout,
        )
        found.extend(d for d in map(RemoteSocketDetails.parse, request.results) if d is not None)
        return found

    def server_side_emit(self, args: list[Any]) -> None:
        """Emit ``[event, *args]`` to the other servers' server-side handlers."""
        self._publish(self._message(MessageType.SERVER_SIDE_EMIT, {"packet": args}), None)

    async def server_side_emit_with_ack(self, args: list[Any], timeout: float) -> list[Any]:
        """The answer of every other server (:class:`~tether.errors.AckTimeoutError` with the
        answers that came when some are missing after ``timeout`` seconds)."""
        request = await self._ask(MessageType.SERVER_SIDE_EMIT, {"packet": args}, timeout)
        if not request.complete:
            raise AckTimeoutError(responses=list(request.results))
        return request.results

    # -- incoming ---------------------------------------------------------------------------

    def on_message(self, message: Any, offset: str | None = None) -> None:
        """A message from another server (or from an emitter)."""
        try:
            self._on_message(message, offset)
        except (ProtocolError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring a cluster message: %r", exc)
        except Exception:
            log.exception("error handling a cluster message")

    def _on_message(self, message: Any, offset: str | None) -> None:
        if not isinstance(message, dict):
            raise ProtocolError("a message is an object")
        uid = message.get("uid")
        if uid == self.uid or message.get("nsp") != self.nsp.name:
            return
        kind = MessageType(message["type"])
        data = message.get("data") or {}
        if not isinstance(data, dict):
            raise ProtocolError("data must be an object")
        if kind is MessageType.BROADCAST:
            packet = decode_packet({**data["packet"], "nsp": self.nsp.name})
            opts = decode_opts(data.get("opts"))
            request_id = data.get("requestId")
            if request_id is None:
                self._deliver(packet, opts, offset)
            else:
                self._broadcast_for(str(uid), request_id, packet, opts)
        elif kind is MessageType.SOCKETS_JOIN:
            MemoryAdapter.add_sockets(
                self, decode_opts(data.get("opts")), decode_rooms(data.get("rooms"))
            )
        elif kind is MessageType.SOCKETS_LEAVE:
            MemoryAdapter.del_sockets(
                self, decode_opts(data.get("opts")), decode_rooms(data.get("rooms"))
            )
        elif kind is MessageType.DISCONNECT_SOCKETS:
            MemoryAdapter.disconnect_sockets(
                self, decode_opts(data.get("opts")), data.get("close") is True
            )
        elif kind is MessageType.FETCH_SOCKETS:
            targets = self._targets(decode_opts(data.get("opts")))
            sockets = [RemoteSocketDetails.describe(s) for s in targets]
            self._publish_response(
                str(uid),
                self._message(
                    MessageType.FETCH_SOCKETS_RESPONSE,
                    {"requestId": data.get("requestId"), "sockets": sockets},
                ),
            )
        elif kind is MessageType.SERVER_SIDE_EMIT:
            self._server_side_emit(str(uid), data)
        elif kind in (
            MessageType.FETCH_SOCKETS_RESPONSE,
            MessageType.SERVER_SIDE_EMIT_RESPONSE,
            MessageType.BROADCAST_CLIENT_COUNT,
            MessageType.BROADCAST_ACK,
        ):
            self.on_response(message)

    def _broadcast_for(
        self, uid: str, request_id: Any, packet: Packet, opts: BroadcastOptions
    ) -> None:
        def on_count(count: int) -> None:
            data = {"requestId": request_id, "clientCount": count}
            self._publish_response(uid, self._message(MessageType.BROADCAST_CLIENT_COUNT, data))

        def on_ack(value: Any) -> None:
            data = {"requestId": request_id, "packet": value}
            self._publish_response(uid, self._message(MessageType.BROADCAST_ACK, data))

        timeout = opts.flags.timeout or self.requests_timeout
        self.broadcast_for_peer(packet.data, opts, on_count, on_ack, timeout)

    def _server_side_emit(self, uid: str, data: dict[str, Any]) -> None:
        args = data.get("packet")
        if not isinstance(args, list):
            raise ProtocolError("packet must be [event, ...args]")
        request_id = data.get("requestId")
        if request_id is None or uid == EMITTER_UID:
            self.nsp.dispatch_server_side(args, None)
            return

        # The namespace calls ``ack`` once, with the handler's result.
        def ack(result: list[Any]) -> None:
            response = {"requestId": request_id, "packet": result[0] if result else None}
            self._publish_response(
                uid, self._message(MessageType.SERVER_SIDE_EMIT_RESPONSE, response)
            )

        self.nsp.dispatch_server_side(args, ack)

    def on_response(self, response: dict[str, Any]) -> None:
        """An answer to one of our requests."""
        data = response.get("data")
        if not isinstance(data, dict):
            return
        request_id = data.get("requestId")
        kind = response.get("type")
        if kind in (MessageType.BROADCAST_CLIENT_COUNT, MessageType.BROADCAST_ACK):
            callbacks = self.ack_requests.get(str(request_id))
            if callbacks is None:
                return
            if kind == MessageType.BROADCAST_CLIENT_COUNT:
                count = data.get("clientCount")
                if isinstance(count, int) and not isinstance(count, bool):
                    callbacks[0](count)
            else:
                callbacks[1]([data.get("packet")])
            return
        request = self.requests.get(str(request_id))
        if request is None:
            return
        if kind == MessageType.FETCH_SOCKETS_RESPONSE:
            sockets = data.get("sockets")
            if isinstance(sockets, list):
                request.add(sockets)
        elif kind == MessageType.SERVER_SIDE_EMIT_RESPONSE:
            request.add([data.get("packet")])
