"""The server-side API called from other threads (a Flask view, a worker thread): every call
is handed to the server's loop, many threads at once; what must wait for an answer raises a
clear error out of the loop. Refusing a connection by returning False."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import pytest

from tests.compat.support import uvicorn_serving
from tests.support import serving, until
from tether import ASGIApp, Client, ConnectError, Server, Socket

THREADS = 16
PER_THREAD = 50


async def _clients(port: int, transports: tuple[str, ...], count: int) -> list[Client]:
    clients = []
    for _ in range(count):
        client = Client(reconnection=False)
        await client.connect(f"http://127.0.0.1:{port}", transports=transports)
        clients.append(client)
    return clients


@pytest.mark.parametrize("transports", [("polling",), ("websocket",)])
async def test_emits_joins_and_disconnects_from_many_threads(transports: tuple[str, ...]) -> None:
    io = Server(ping_interval=60, ping_timeout=60)
    sockets: dict[str, Socket] = {}
    io.on("connection", lambda socket: sockets.__setitem__(socket.id, socket))
    async with serving(io) as port:
        clients = await _clients(port, transports, 4)
        received: list[Counter[str]] = [Counter() for _ in clients]
        for client, counter in zip(clients, received, strict=True):
            client.on_any(lambda event, *args, counter=counter: counter.update([event]))
        await until(lambda: len(sockets) == 4, "4 sockets")
        first, second, third, fourth = (sockets[c.sid or ""] for c in clients)
        loop_thread = threading.get_ident()
        callers: set[int] = set()
        # Where the server did the work: its listeners see it, in its loop's thread only.
        workers: set[int] = set()
        for socket in (first, second):
            socket.on_any_outgoing(lambda *args: workers.add(threading.get_ident()))

        def work(n: int) -> None:
            callers.add(threading.get_ident())
            for _ in range(PER_THREAD):
                io.emit("all")  # every socket
                io.to("odd").emit("odd")
                first.emit("direct")
            first.join(f"t{n}")
            io.in_(second.id).sockets_join("odd")
            fourth.join("odd")

        first.join("odd")
        threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            await asyncio.to_thread(thread.join)
        assert loop_thread not in callers
        await until(lambda: bool(workers), "a listener call")
        assert workers == {loop_thread}
        total = THREADS * PER_THREAD
        await until(lambda: all(c["all"] == total for c in received), "every broadcast", 10)
        await until(lambda: received[0]["direct"] == total, "every direct emit", 10)
        # "odd" counts depend on when the joins ran; the first socket was in "odd" from the
        # start, the third never.
        await until(lambda: received[0]["odd"] == total, "every room emit", 10)
        assert received[2]["odd"] == 0
        assert {f"t{n}" for n in range(THREADS)} <= first.rooms
        assert "odd" in second.rooms and "odd" in fourth.rooms

        gone = asyncio.Event()
        clients[3].on("disconnect", lambda reason: gone.set())
        threading.Thread(target=fourth.disconnect).start()
        await asyncio.wait_for(gone.wait(), 5)
        threading.Thread(target=lambda: io.in_(third.id).disconnect_sockets()).start()
        await until(lambda: not clients[2].connected, "the third client disconnected")
        for client in clients:
            await client.disconnect()


async def test_under_an_asgi_server_without_lifespan() -> None:
    """No lifespan, so no start(): the first connection tells the server its loop."""
    io = Server()
    workers: set[int] = set()
    sockets: list[Socket] = []

    @io.on("connection")
    def connected(socket: Socket) -> None:
        socket.on_any_outgoing(lambda *args: workers.add(threading.get_ident()))
        sockets.append(socket)

    async with uvicorn_serving(ASGIApp(io), lifespan="off") as port:
        client = Client(reconnection=False)
        got: asyncio.Queue[Any] = asyncio.Queue()
        client.on("news", got.put_nowait)
        await client.connect(f"http://127.0.0.1:{port}")
        await until(lambda: bool(sockets), "the socket")
        await asyncio.to_thread(io.emit, "news", "from a thread")
        assert await asyncio.wait_for(got.get(), 5) == "from a thread"
        assert workers == {threading.get_ident()}
        await client.disconnect()


async def test_waiting_calls_from_another_thread_raise_a_clear_error() -> None:
    io = Server()
    async with serving(io) as port:
        client = Client(reconnection=False)
        await client.connect(f"http://127.0.0.1:{port}")
        errors: list[BaseException] = []

        def work() -> None:
            for coro in (io.fetch_sockets(), io.timeout(1).emit_with_ack("x")):
                try:
                    asyncio.run(coro)
                except RuntimeError as exc:
                    errors.append(exc)

        await asyncio.to_thread(work)
        assert len(errors) == 2
        assert all("run_coroutine_threadsafe" in str(e) for e in errors)
        # the documented way works
        loop = asyncio.get_running_loop()
        found = await asyncio.to_thread(
            lambda: asyncio.run_coroutine_threadsafe(io.fetch_sockets(), loop).result(5)
        )
        assert [s.id for s in found] == [client.sid]
        await client.disconnect()


@pytest.mark.parametrize("is_async", [False, True])
async def test_a_connection_handler_returning_false_refuses(is_async: bool) -> None:
    io = Server()
    seen: list[Any] = []

    if is_async:

        async def connect(socket: Socket) -> bool:
            socket.emit("never")
            return bool(socket.handshake.auth.get("ok"))

    else:

        def connect(socket: Socket) -> bool:  # type: ignore[misc]
            socket.emit("never")
            return bool(socket.handshake.auth.get("ok"))

    io.on("connection", connect)
    async with serving(io) as port:
        refused = Client(reconnection=False)
        refused.on_any(lambda *args: seen.append(args))
        with pytest.raises(ConnectError) as info:
            await refused.connect(f"http://127.0.0.1:{port}")
        assert info.value.message == "Connection refused"
        assert seen == []
        accepted = Client(reconnection=False)
        await accepted.connect(f"http://127.0.0.1:{port}", auth={"ok": True})
        assert accepted.connected
        await accepted.disconnect()
