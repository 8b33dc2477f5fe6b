"""A Node ``socket.io-client`` driven line by line (``tests/interop/admin_node_client.mjs``): the admin UI's
side of the protocol, or an application's client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from tests.interop.harness import INTEROP_DIR, require_node

SCRIPT = INTEROP_DIR / "admin_node_client.mjs"


class NodeClient:
    """One official client in a Node process; :meth:`expect` awaits what it saw."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.seen: list[dict[str, Any]] = []
        self.id: str | None = None

    @classmethod
    async def start(
        cls,
        url: str,
        nsp: str = "/",
        auth: dict[str, Any] | None = None,
        transports: tuple[str, ...] = ("websocket",),
        parser: str = "json",
    ) -> NodeClient:
        proc = await asyncio.create_subprocess_exec(
            require_node(),
            str(SCRIPT),
            url,
            nsp,
            json.dumps(auth or {}),
            json.dumps(list(transports)),
            parser,
            cwd=INTEROP_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def expect(
        self, match: Callable[[dict[str, Any]], bool], what: str, timeout: float = 10.0
    ) -> dict[str, Any]:
        """The first line seen (earlier ones included) that ``match`` accepts."""
        for line in self.seen:
            if match(line):
                return line
        assert self.proc.stdout is not None
        try:
            async with asyncio.timeout(timeout):
                while True:
                    raw = await self.proc.stdout.readline()
                    if not raw:
                        raise AssertionError(f"the client exited before {what}: {self.seen}")
                    line = json.loads(raw)
                    self.seen.append(line)
                    if line.get("connect"):
                        self.id = line["id"]
                    if match(line):
                        return line
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; seen {self.seen}") from None

    async def event(
        self, name: str, where: Callable[[list[Any]], bool] = lambda args: True
    ) -> list[Any]:
        """The arguments of the first ``name`` event whose arguments ``where`` accepts."""
        line = await self.expect(
            lambda line: line.get("event") == name and where(line["args"]), f"event {name}"
        )
        args: list[Any] = line["args"]
        return args

    async def connected(self) -> str:
        """The socket id, once connected."""
        await self.expect(lambda line: "connect" in line or "connect_error" in line, "connect")
        assert self.id is not None, self.seen
        return self.id

    def emit(self, event: str, *args: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps([event, *args]).encode() + b"\n")

    async def close(self) -> None:
        if self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
