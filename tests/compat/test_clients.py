"""tether.compat.socketio's ``AsyncClient`` and ``AsyncSimpleClient`` against
``psio_app.py`` served by python-socketio (the reference) and by tether."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.compat.test_psio_app import SETUPS, served
from tether.compat import socketio


@pytest.mark.parametrize(("flavour", "how"), SETUPS, ids=["-".join(s) for s in SETUPS])
async def test_async_client(flavour: str, how: str) -> None:
    async with served(flavour, how) as (url, _module):
        refused = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect(url, namespaces=["/chat"], auth={"token": "no"})

        got: asyncio.Queue[Any] = asyncio.Queue()
        client = socketio.AsyncClient(reconnection=False)

        class Chat(socketio.AsyncClientNamespace):
            def on_welcome(self, data: Any) -> None:
                got.put_nowait(("welcome", data))

            async def on_question(self, text: str) -> str:
                return f"tether heard {text}"

        client.register_namespace(Chat("/chat"))

        @client.event
        async def connect() -> None:
            got.put_nowait(("connect",))

        @client.on("*")
        def catch_all(event: str, *args: Any) -> None:
            got.put_nowait((event, *args))

        @client.on("please_ack")
        def please_ack(data: Any) -> tuple[str, Any]:
            return "tether got", data

        @client.event
        def disconnect(reason: str) -> None:
            got.put_nowait(("disconnect", reason))

        async def take() -> Any:
            return await asyncio.wait_for(got.get(), 5)

        await client.connect(
            url, namespaces=["/", "/chat"], auth={"token": "secret", "name": "cat"}
        )
        assert client.connected and client.sid and client.get_sid("/chat")
        assert sorted(client.namespaces) == ["/", "/chat"]
        first = [await take(), await take()]
        assert sorted(first, key=len) == [("connect",), ("welcome", {"room": "lobby"})]
        assert await client.call("add", (4, 5)) == 9
        assert await client.call("pair") == ("one", 2)
        assert await client.call("ask", "what", namespace="/chat") == {
            "answer": "tether heard what"
        }
        answers: asyncio.Queue[Any] = asyncio.Queue()
        await client.emit("add", (1, 1), callback=lambda *args: answers.put_nowait(args))
        assert await asyncio.wait_for(answers.get(), 5) == (2,)
        await client.emit("ack_me", "x")
        assert await take() == ("acked", ["tether got", "x"])  # no handler: the catch-all
        with pytest.raises(socketio.exceptions.BadNamespaceError):
            await client.emit("add", (1, 2), namespace="/nowhere")
        await client.emit("kick")
        assert await take() == ("disconnect", "server disconnect")
        await client.disconnect()


@pytest.mark.parametrize(("flavour", "how"), SETUPS[:2], ids=["-".join(s) for s in SETUPS[:2]])
async def test_async_simple_client(flavour: str, how: str) -> None:
    async with served(flavour, how) as (url, _module):
        async with socketio.AsyncSimpleClient() as client:
            await client.connect(url, namespace="/chat", auth={"token": "secret", "name": "sim"})
            assert client.sid and client.transport in ("polling", "websocket")
            assert await client.receive(timeout=5) == ["welcome", {"room": "lobby"}]
            assert await client.call("join", "r3") == ["lobby", "r3"]
            with pytest.raises(socketio.exceptions.TimeoutError):
                await client.receive(timeout=0.05)
        async with socketio.AsyncSimpleClient() as root:
            await root.connect(url)
            await root.emit("ticks", 2)
            assert [await root.receive(timeout=5) for _ in range(2)] == [["tick", 0], ["tick", 1]]
            await root.emit("kick")
            with pytest.raises(socketio.exceptions.DisconnectedError):
                await root.receive(timeout=5)
