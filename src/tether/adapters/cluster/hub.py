"""The cluster adapter of ``--workers`` without Redis: each worker's namespaces reach the
others through the parent process, which relays the ClusterAdapter messages of each worker
to the others over Unix sockets (length-prefixed notepack frames)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import Callable
from typing import Any

from tether.adapters import notepack
from tether.adapters.base import NamespaceLike
from tether.adapters.cluster.adapter import ClusterAdapter, MessageType

log = logging.getLogger("tether.cluster")

#: The length prefix of a relayed frame.
FRAME = struct.Struct("!I")


class HubAdapter(ClusterAdapter):
    """Rooms of one namespace in memory; the other workers reached through the parent.

    A worker counts the workers that have this namespace (a child of a dynamic namespace
    may exist on some only) by heartbeats, as Node's ``ClusterAdapterWithHeartbeat``: a
    new adapter announces itself, the others answer, a closing one says goodbye.
    """

    def __init__(self, nsp: NamespaceLike, hub: Hub) -> None:
        super().__init__(nsp)
        self.hub = hub
        self.peers: set[str] = set()
        hub.adapters[nsp.name] = self
        hub.send(self._message(MessageType.INITIAL_HEARTBEAT))

    def on_message(self, message: Any, offset: str | None = None) -> None:
        if isinstance(message, dict):
            uid, kind = message.get("uid"), message.get("type")
            if isinstance(uid, str) and uid != self.uid:
                if kind == MessageType.ADAPTER_CLOSE:
                    self.peers.discard(uid)
                    return
                self.peers.add(uid)
                if kind == MessageType.INITIAL_HEARTBEAT:
                    self.hub.send(self._message(MessageType.HEARTBEAT))
        super().on_message(message, offset)

    def _publish(self, message: dict[str, Any], done: Callable[[str | None], None] | None) -> None:
        self.hub.send(message)
        if done is not None:
            done(None)

    def _publish_response(self, uid: str, response: dict[str, Any]) -> None:
        self.hub.send({**response, "to": uid})

    async def server_count(self) -> int:
        """The workers that have this namespace, this one included."""
        return 1 + len(self.peers)

    async def close(self) -> None:
        """Say goodbye and stop receiving for this namespace."""
        self.hub.send(self._message(MessageType.ADAPTER_CLOSE))
        self.hub.adapters.pop(self.nsp.name, None)


class Hub:
    """A worker's link to the parent's relay: length-prefixed notepack frames."""

    def __init__(self, sock: socket.socket, workers: int) -> None:
        self.sock = sock
        self.workers = workers
        self.adapters: dict[str, HubAdapter] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._pending: list[bytes] = []

    def factory(self, nsp: NamespaceLike) -> HubAdapter:
        """The adapter factory to give the server."""
        return HubAdapter(nsp, self)

    def send(self, message: dict[str, Any]) -> None:
        data = notepack.pack(message)
        frame = FRAME.pack(len(data)) + data
        if self._writer is None:
            self._pending.append(frame)
        else:
            self._writer.write(frame)

    async def run(self) -> None:
        reader, writer = await asyncio.open_unix_connection(sock=self.sock)
        self._writer = writer
        for frame in self._pending:
            writer.write(frame)
        self._pending.clear()
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                header = await reader.readexactly(FRAME.size)
                frame = await reader.readexactly(FRAME.unpack(header)[0])
                try:
                    self._dispatch(notepack.unpack(frame))
                except Exception:
                    log.exception("error handling a message from another worker")

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict):
            return
        adapter = self.adapters.get(str(message.get("nsp")))
        if adapter is None:
            return
        to = message.get("to")
        if to is None:
            adapter.on_message(message)
        elif to == adapter.uid:
            adapter.on_response(message)
