"""``tether serve module:attr`` running the benchmark contract server, as a user would."""

from __future__ import annotations

import asyncio
import signal

from tests.server.helpers import SioClient
from tests.support import start_tether


async def test_serve_the_bench_contract() -> None:
    process = await start_tether("serve", "bench.servers.tether_contract:io", "--port", "0")
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        assert line.startswith(
            "tether: serving bench.servers.tether_contract:io on http://127.0.0.1:"
        )
        port = int(line.rsplit(":", 1)[1])
        receiver, sender = await SioClient.open(port), await SioClient.open(port)
        await receiver.connect()
        await sender.connect()
        assert await sender.call("echo", "a", 1, {"b": [2]}) == ["a", 1, {"b": [2]}]
        assert await receiver.call("join", "r1") == []
        assert await sender.call("fanout", {"room": "r1", "count": 3, "size": 4}) == []
        assert [await receiver.event() for _ in range(3)] == [["tick", i, "xxxx"] for i in range(3)]
        await sender.nothing()
        await receiver.close()
        await sender.close()
        # The client commands are wired into the same `tether` command.
        emit = await start_tether("emit", f"http://127.0.0.1:{port}", "echo", "1", "x", "--ack")
        out, _ = await asyncio.wait_for(emit.communicate(), 20)
        assert emit.returncode == 0
        assert out.decode().split() == ["[1,", '"x"]']
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
