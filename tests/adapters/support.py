"""What the cluster tests run besides ``redis-server`` (tests.support.RedisServer): tether
servers with the Redis adapter, and the Node peer (a socket.io server with
``@socket.io/redis-adapter``, official ``socket.io-client`` clients and
``@socket.io/redis-emitter``)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import signal
from collections.abc import AsyncIterator
from typing import Any

import tether
from tests.interop.harness import INTEROP_DIR, require_node
from tether.adapters.redis import create_adapter
from tether.adapters.redis.sharded import create_adapter as create_sharded_adapter
from tether.adapters.redis.streams import create_adapter as create_streams_adapter

PEER_SCRIPT = INTEROP_DIR / "cluster_peer.mjs"


class NodePeer:
    """The Node process of ``cluster_peer.mjs``; ``await peer.call("server.emit", ...)``."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    async def start(
        cls,
        redis_url: str | None,
        key: str = "socket.io",
        requests_timeout_ms: int = 2000,
        adapter: str = "redis",
    ) -> NodePeer:
        node = require_node()
        process = await asyncio.create_subprocess_exec(
            node,
            str(PEER_SCRIPT),
            *(("--redis", redis_url) if redis_url else ()),
            "--key",
            key,
            "--requests-timeout",
            str(requests_timeout_ms),
            "--adapter",
            adapter,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=INTEROP_DIR,
        )
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        ready = json.loads(line)
        return cls(process, int(ready["port"]))

    async def call(self, cmd: str, **args: Any) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        async with self._lock:
            request_id = next(self._ids)
            line = json.dumps({"id": request_id, "cmd": cmd, **args}) + "\n"
            self.process.stdin.write(line.encode())
            await self.process.stdin.drain()
            raw = await asyncio.wait_for(self.process.stdout.readline(), 15)
        if not raw:
            raise AssertionError(f"the Node peer exited during {cmd}")
        answer = json.loads(raw)
        assert answer["id"] == request_id
        if not answer["ok"]:
            raise AssertionError(f"{cmd} failed in Node: {answer['error']}")
        return answer["result"]

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGCONT)
                self.process.kill()
            await self.process.wait()


class NodeClients:
    """The official clients of a cluster, in its Node peer (``node``), by name."""

    node: NodePeer

    async def received(self, name: str) -> list[list[Any]]:
        """What client ``name`` received so far: ``[event, *args]`` each."""
        result: list[list[Any]] = await self.node.call("client.received", name=name)
        return result

    async def wait_for(self, name: str, event: str, timeout: float = 5.0) -> list[Any]:
        """The first ``event`` client ``name`` received, waiting for it if need be."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for entry in await self.received(name):
                if entry[0] == event:
                    return entry
            await asyncio.sleep(0.02)
        raise AssertionError(f"{name} never received {event}: {await self.received(name)}")


def build_server(
    redis_url: str, key: str, name: str, requests_timeout: float = 2.0, adapter: str = "redis"
) -> tether.Server:
    """A tether server with a Redis adapter and the handlers the Node peer has too."""
    if adapter == "streams":
        io = tether.Server(
            adapter=create_streams_adapter(
                redis_url,
                stream_name=key,
                channel_prefix=key,
                session_key_prefix=f"{key}:session:",
                requests_timeout=requests_timeout,
                block_time=0.5,
            ),
            connection_state_recovery=tether.RecoveryOptions(max_disconnection_duration=30),
        )
    elif adapter == "sharded":
        io = tether.Server(
            adapter=create_sharded_adapter(
                redis_url, channel_prefix=key, requests_timeout=requests_timeout
            )
        )
    else:
        io = tether.Server(
            adapter=create_adapter(redis_url, key=key, requests_timeout=requests_timeout)
        )
    server_side: list[Any] = []
    io.server_side_events = server_side  # type: ignore[attr-defined]

    @io.on("connection")
    def connected(socket: tether.Socket) -> None:
        socket.data = {"name": socket.handshake.auth.get("name"), "server": name}

    @io.on("join")
    def join(socket: tether.Socket, room: str) -> str:
        socket.join(room)
        return "joined"

    @io.on("leave")
    def leave(socket: tether.Socket, room: str) -> str:
        socket.leave(room)
        return "left"

    @io.on_server_side("ping-servers")
    def ping_servers(*args: Any) -> str:
        server_side.append(list(args))
        return f"{name}:{','.join(str(a) for a in args)}"

    @io.on_server_side("note")
    def note(*args: Any) -> None:
        server_side.append(list(args))

    return io


@contextlib.asynccontextmanager
async def tether_server(
    redis_url: str, key: str, name: str, requests_timeout: float = 2.0, adapter: str = "redis"
) -> AsyncIterator[tuple[tether.Server, str]]:
    io = build_server(redis_url, key, name, requests_timeout, adapter)
    listener = await io.serve("127.0.0.1", 0)
    try:
        yield io, f"http://127.0.0.1:{listener.port}"
    finally:
        await io.close()


async def until_servers(io: tether.Server, count: int, timeout: float = 10.0) -> None:
    """Wait until ``io`` sees ``count`` servers in its cluster (every one subscribed)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while await io.server_count() != count:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the cluster never had {count} servers")
        await asyncio.sleep(0.02)
