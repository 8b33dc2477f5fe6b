"""A connection handler that raises ``ConnectionRefusedError``, seen by the official
``socket.io-client`` (tests/interop/sio_refusal_client.mjs) against an in-process server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import tether
from tests.interop.harness import INTEROP_DIR, require_node
from tests.server.helpers import GATE_REFUSAL, add_gates
from tests.support import serving

pytestmark = pytest.mark.interop

CONNECT, EVENT, CONNECT_ERROR = 0, 2, 4


async def test_socket_io_client_sees_a_refusal_from_a_connection_handler() -> None:
    node = require_node()
    io = tether.Server()
    later = add_gates(io)

    @io.on("state")
    async def state(socket: tether.Socket, name: str) -> dict[str, Any]:
        nsp = io.of(name)
        return {
            "sockets": sorted(nsp.sockets),
            "vip": sorted(s.id for s in await nsp.in_("vip").fetch_sockets()),
        }

    async with serving(io) as port:
        proc = await asyncio.create_subprocess_exec(
            node,
            str(INTEROP_DIR / "sio_refusal_client.mjs"),
            f"http://127.0.0.1:{port}",
            cwd=INTEROP_DIR,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    result = json.loads(out)
    for name, welcomes in (("/sync", [1]), ("/async", [1, 2])):
        refused = result[name]["refused"]
        assert refused["error"] == GATE_REFUSAL
        assert refused["seen"] == []  # no connect, no event
        assert refused["packets"] == [{"type": CONNECT_ERROR, "nsp": name, "data": GATE_REFUSAL}]
        assert refused["state"] == {"sockets": [], "vip": []}

        accepted = result[name]["accepted"]
        assert accepted["error"] is None
        assert accepted["seen"] == [["connect"]] + [["event", "welcome", n] for n in welcomes]
        # On the wire too, the CONNECT answer comes before what the handler emitted.
        kinds = [(p["type"], p["data"]) for p in accepted["packets"]]
        sid = kinds[0][1]["sid"]
        assert kinds == [(CONNECT, {"sid": sid})] + [(EVENT, ["welcome", n]) for n in welcomes]
        assert accepted["state"] == {"sockets": [sid], "vip": [sid]}
        assert later[name] == [sid]
