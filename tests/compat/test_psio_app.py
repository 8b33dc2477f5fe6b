"""python-socketio's API on tether: ``psio_app.py`` (an application written for
python-socketio) runs on python-socketio as written (the reference: what every assertion
here was checked against) and on tether with only its import line changed, driven by
python-socketio's own ``AsyncClient`` (PyPI) and by the official Node ``socket.io-client``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import socketio as psio

from tests.compat.support import load_app, tether_serving, tether_source, uvicorn_serving
from tests.interop.harness import INTEROP_DIR, require_node

#: (the library the app runs on, how it is served): "native" is sio.tether_server.serve()
#: in the test's loop, "tether-serve" the command line hosting the module's ASGIApp.
SETUPS = [
    ("python-socketio", "uvicorn"),
    ("tether", "uvicorn"),
    ("tether", "native"),
    ("tether", "tether-serve"),
]


@contextlib.asynccontextmanager
async def served(flavour: str, how: str) -> AsyncIterator[tuple[str, Any]]:
    if how == "tether-serve":
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "psio_app_on_tether.py").write_text(tether_source())
            async with tether_serving("psio_app_on_tether:app", Path(folder)) as port:
                yield f"http://127.0.0.1:{port}", None
        return
    module = load_app(flavour)
    if how == "uvicorn":
        async with uvicorn_serving(module.app) as port:
            yield f"http://127.0.0.1:{port}", module
    else:
        listener = await module.sio.tether_server.serve("127.0.0.1", 0)
        try:
            yield f"http://127.0.0.1:{listener.port}", module
        finally:
            await listener.shutdown(grace=0.5)


class Inbox:
    """What a python-socketio client received, event by event."""

    def __init__(self) -> None:
        self.queues: dict[str, asyncio.Queue[Any]] = {}

    def queue(self, event: str) -> asyncio.Queue[Any]:
        return self.queues.setdefault(event, asyncio.Queue())

    def put(self, event: str, *args: Any) -> None:
        self.queue(event).put_nowait(args[0] if len(args) == 1 else args)

    async def get(self, event: str) -> Any:
        return await asyncio.wait_for(self.queue(event).get(), 5)

    def empty(self, event: str) -> bool:
        return self.queue(event).empty()


def make_client(inbox: Inbox) -> psio.AsyncClient:
    client = psio.AsyncClient(reconnection=False)
    for event in ("welcome", "said", "tick", "acked", "news"):
        client.on(event, lambda *args, event=event: inbox.put(event, *args), namespace="/")
        client.on(event, lambda *args, event=event: inbox.put(event, *args), namespace="/chat")

    @client.on("question", namespace="/chat")
    async def question(text: str) -> str:
        return f"you asked {text}"

    @client.on("please_ack", namespace="/")
    def please_ack(data: Any) -> tuple[str, Any]:
        return "got", data

    @client.on("disconnect")
    def disconnected(reason: str) -> None:
        inbox.put("disconnect", reason)

    return client


@pytest.mark.parametrize(("flavour", "how"), SETUPS, ids=["-".join(s) for s in SETUPS])
async def test_python_socketio_client(flavour: str, how: str) -> None:
    async with served(flavour, how) as (url, _module):
        # refusals: False from connect, ConnectionRefusedError in the namespace class
        refused = psio.AsyncClient(reconnection=False)
        with pytest.raises(psio.exceptions.ConnectionError):
            await refused.connect(url, headers={"X-Refuse": "1"}, wait_timeout=3)
        with pytest.raises(psio.exceptions.ConnectionError):
            await refused.connect(
                url, namespaces=["/chat"], auth={"token": "wrong"}, wait_timeout=3
            )

        a_inbox, b_inbox = Inbox(), Inbox()
        a, b = make_client(a_inbox), make_client(b_inbox)
        await a.connect(
            url, namespaces=["/", "/chat"], auth={"token": "secret", "name": "ann"}, wait_timeout=3
        )
        await b.connect(
            url,
            namespaces=["/", "/chat"],
            auth={"token": "secret", "name": "bob"},
            transports=["websocket"],
            wait_timeout=3,
        )
        assert await a_inbox.get("welcome") == {"room": "lobby"}
        assert await b_inbox.get("welcome") == {"room": "lobby"}

        # events, acks, tuples, a sync handler, the catch-all
        assert await a.call("add", (2, 3)) == 5
        assert await a.call("pair") == ("one", 2)
        assert await a.call("mystery", (1, "x")) == ["caught", "mystery", 1, "x"]
        assert await a.call("session") == {"user_agent_seen": True}

        # rooms and sessions in a class-based namespace
        assert await a.call("join", "r1", namespace="/chat") == ["lobby", "r1"]
        assert await b.call("join", "r1", namespace="/chat") == ["lobby", "r1"]
        assert await a.call("say", ("r1", "hello"), namespace="/chat") == "sent"
        assert await b_inbox.get("said") == {"from": "ann", "text": "hello"}
        assert await b.call("rename", "bobby", namespace="/chat") == "bobby"
        assert await b.call("say", ("lobby", "hi"), namespace="/chat") == "sent"
        assert await a_inbox.get("said") == {"from": "bobby", "text": "hi"}
        assert await b.call("leave", "r1", namespace="/chat") == ["lobby"]
        assert await a.call("say", ("r1", "alone"), namespace="/chat") == "sent"
        assert await a.call("close", "lobby", namespace="/chat") == "closed"
        assert await a.call("say", ("lobby", "nobody"), namespace="/chat") == "sent"
        await a.call("add", (0, 0))  # a round trip: b would have had them by now
        assert b_inbox.empty("said") and a_inbox.empty("said")

        # the server calls the client back; emit with a callback
        assert await a.call("ask", "why", namespace="/chat") == {"answer": "you asked why"}
        await a.emit("ack_me", {"n": 1})
        assert await a_inbox.get("acked") == ["got", {"n": 1}]

        # a background task, a broadcast
        assert await a.call("ticks", 3) == "started"
        assert [await a_inbox.get("tick") for _ in range(3)] == [0, 1, 2]
        await b.emit("broadcast", "extra")
        assert await a_inbox.get("news") == "extra"
        assert await b_inbox.get("news") == "extra"

        # the server disconnects a client; a client leaves
        await b.emit("kick")
        assert await b_inbox.get("disconnect") in ("server disconnect", "io server disconnect")
        report = await a.call("report")
        assert ["/", "server disconnect"] in report["disconnects"]
        assert report["callbacks"] == [["got", {"n": 1}]]
        await a.disconnect()
        await b.disconnect()


NODE_EXPECTED = {
    "badToken": {"message": "bad token", "data": {"hint": "secret"}},
    "refused": {"message": "Connection rejected by server", "data": None},
    "welcome": [{"room": "lobby"}],
    "add": 5,
    "pair": ["one", 2],
    "caught": ["caught", "mystery", 1, "x"],
    "ask": {"answer": "node heard how"},
    "join": ["lobby", "r2"],
    "said": [{"from": "eve", "text": "from eve"}],
    "acked": [["node got", {"n": 2}]],
    "ticks": "started",
    "tickValues": [0, 1, 2],
    "kicked": ["io server disconnect", None],
}


@pytest.mark.interop
@pytest.mark.parametrize(("flavour", "how"), SETUPS, ids=["-".join(s) for s in SETUPS])
async def test_node_client(flavour: str, how: str) -> None:
    node = require_node()
    async with served(flavour, how) as (url, _module):
        proc = await asyncio.create_subprocess_exec(
            node,
            str(INTEROP_DIR / "psio_compat_client.mjs"),
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, stderr.decode()
    assert json.loads(stdout) == NODE_EXPECTED
