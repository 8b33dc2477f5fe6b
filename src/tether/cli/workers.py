"""Several worker processes on one port, without sticky sessions: ``tether serve app:io
--workers N``.

A light parent accepts every TCP connection, reads its request line, and hands the socket
itself (with the bytes already read) to the worker that owns the session named by its
``sid``: each worker puts its own prefix (``<index>.``) before the sids it makes. A request
without a sid (a new session) goes to the next worker in turn. Connections are not kept
alive between HTTP requests, so that every long-polling request is routed on its own; a
WebSocket stays on the worker it was handed to.

Workers share rooms and broadcasts through the server's adapter when it is a cluster one
(Redis), otherwise through the parent, which relays the cluster messages of each worker
to the others (:class:`tether.adapters.cluster.hub.HubAdapter`, the ClusterAdapter protocol over a
Unix socket).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import logging
import signal
import socket
import subprocess
import sys
from collections.abc import Callable

from tether.adapters.cluster.hub import FRAME, Hub
from tether.aio.http_protocol import HttpProtocol

__all__ = ["run_workers"]

log = logging.getLogger("tether.workers")

#: How much of a request the parent reads, at most, to find its sid (the request line).
MAX_REQUEST_LINE = 16 * 1024
#: Seconds a new connection has to send its request line to the parent.
REQUEST_LINE_TIMEOUT = 10.0


def route(first_bytes: bytes, workers: int, fallback: Callable[[], int]) -> int:
    """The worker for a request whose first bytes are ``first_bytes``: the one in the
    prefix of its ``sid``, else ``fallback()`` (a new session)."""
    line = first_bytes.split(b"\r\n", 1)[0]
    _, _, rest = line.partition(b"?")
    for pair in rest.split(b" ", 1)[0].split(b"&"):
        name, _, value = pair.partition(b"=")
        if name == b"sid":
            prefix, dot, _ = value.partition(b".")
            if dot and prefix.isdigit() and int(prefix) < workers:
                return int(prefix)
            break
    return fallback()


# -- the parent ------------------------------------------------------------------------------


class _Worker:
    def __init__(self, index: int, process: subprocess.Popen[bytes], fds: socket.socket) -> None:
        self.index = index
        self.process = process
        self.fds = fds
        self.hub: asyncio.StreamWriter | None = None


async def _hand_over(
    loop: asyncio.AbstractEventLoop, worker: _Worker, data: bytes, fd: int
) -> None:
    while True:
        try:
            socket.send_fds(worker.fds, [data], [fd])
            return
        except BlockingIOError:
            ready = loop.create_future()
            loop.add_writer(worker.fds, ready.set_result, None)
            try:
                await ready
            finally:
                loop.remove_writer(worker.fds)


async def _accept(listener: socket.socket, workers: list[_Worker]) -> None:
    loop = asyncio.get_running_loop()
    turn = itertools.cycle(range(len(workers))).__next__

    async def serve(conn: socket.socket) -> None:
        with conn:
            data = b""
            try:
                async with asyncio.timeout(REQUEST_LINE_TIMEOUT):
                    while b"\r\n" not in data and len(data) < MAX_REQUEST_LINE:
                        chunk = await loop.sock_recv(conn, MAX_REQUEST_LINE - len(data))
                        if not chunk:
                            return
                        data += chunk
            except (TimeoutError, OSError):
                return
            if b"\r\n" not in data:
                with contextlib.suppress(OSError):
                    conn.send(b"HTTP/1.1 414 URI Too Long\r\nConnection: close\r\n\r\n")
                return
            worker = workers[route(data, len(workers), turn)]
            try:
                await _hand_over(loop, worker, data, conn.fileno())
            except OSError as exc:
                log.warning("could not hand a connection to worker %d: %s", worker.index, exc)

    tasks: set[asyncio.Task[None]] = set()
    while True:
        try:
            conn, _ = await loop.sock_accept(listener)
        except OSError as exc:  # out of file descriptors, for one: keep accepting after
            log.warning("accept failed: %s", exc)
            await asyncio.sleep(0.1)
            continue
        conn.setblocking(False)
        task = asyncio.create_task(serve(conn))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def _relay(workers: list[_Worker], hub: socket.socket, index: int) -> None:
    """Pass each cluster message of worker ``index`` on to every other worker."""
    reader, writer = await asyncio.open_unix_connection(sock=hub)
    workers[index].hub = writer
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        while True:
            header = await reader.readexactly(FRAME.size)
            frame = header + await reader.readexactly(FRAME.unpack(header)[0])
            for other in workers:
                hub_writer = other.hub
                if other.index != index and hub_writer is not None and not hub_writer.is_closing():
                    hub_writer.write(frame)
                    await hub_writer.drain()  # a stalled worker slows its senders down


def run_workers(
    app: str,
    host: str,
    port: int,
    workers: int,
    *,
    on_ready: Callable[[int], None] | None = None,
    log_level: str = "WARNING",
) -> None:
    """Run ``workers`` processes of the server ``app`` (``module:attribute``) on one port
    until SIGTERM/SIGINT, then stop them (each shuts down gracefully)."""
    listener = socket.create_server((host, port), backlog=4096, reuse_port=False)
    listener.setblocking(False)
    handles: list[_Worker] = []
    hubs: list[socket.socket] = []
    for index in range(workers):
        fds_parent, fds_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        hub_parent, hub_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tether.cli.workers",
                app,
                "--index",
                str(index),
                "--workers",
                str(workers),
                "--fds",
                str(fds_child.fileno()),
                "--hub",
                str(hub_child.fileno()),
                "--log-level",
                log_level,
            ],
            pass_fds=(fds_child.fileno(), hub_child.fileno()),
        )
        fds_child.close()
        hub_child.close()
        fds_parent.setblocking(False)
        handles.append(_Worker(index, process, fds_parent))
        hubs.append(hub_parent)

    from tether.aio.listener import new_event_loop

    loop = new_event_loop()
    asyncio.set_event_loop(loop)

    async def main() -> None:
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        tasks = [asyncio.create_task(_relay(handles, hub, i)) for i, hub in enumerate(hubs)]
        tasks.append(asyncio.create_task(_accept(listener, handles)))
        if on_ready is not None:
            on_ready(listener.getsockname()[1])
        while not stop.is_set():
            exited = [h.index for h in handles if h.process.poll() is not None]
            if exited:
                log.error("worker %s exited; stopping", exited)
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
        listener.close()
        for handle in handles:
            if handle.process.poll() is None:
                handle.process.send_signal(signal.SIGTERM)
        deadline = loop.time() + 15
        while any(h.process.poll() is None for h in handles) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for handle in handles:
            if handle.process.poll() is None:
                handle.process.kill()
                handle.process.wait()
        for task in tasks:
            task.cancel()

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


# -- a worker --------------------------------------------------------------------------------


def _worker_main(argv: list[str] | None = None) -> None:
    from tether.aio.listener import new_event_loop
    from tether.cli.app import load_app as load
    from tether.server import Server

    parser = argparse.ArgumentParser(prog="tether worker")
    parser.add_argument("app")
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--fds", type=int, required=True)
    parser.add_argument("--hub", type=int, required=True)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    from tether.cli.logs import configure

    configure(args.log_level)
    io = load(args.app)
    if not isinstance(io, Server):
        raise SystemExit(f"tether: {args.app} is not a tether.Server")
    fds = socket.socket(fileno=args.fds)
    fds.setblocking(False)
    hub = Hub(socket.socket(fileno=args.hub), args.workers)
    io.engine.sid_prefix = f"{args.index}."
    if io.uses_default_adapter:
        if io.recovery is not None and args.index == 0:
            log.warning(
                "connection state recovery behind --workers needs the Redis Streams adapter"
            )
        io.replace_adapters(hub.factory)
    limits = dataclasses.replace(io.http_limits, keep_alive=False)

    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    connections: set[HttpProtocol] = set()
    stop = asyncio.Event()

    def on_handover() -> None:
        try:
            data, received, _, _ = socket.recv_fds(fds, MAX_REQUEST_LINE, 1)
        except BlockingIOError:
            return
        if not data and not received:
            stop.set()  # the parent is gone
            return
        for fd in received:
            conn = socket.socket(fileno=fd)
            conn.setblocking(False)
            loop.create_task(_adopt(loop, conn, data))

    async def _adopt(loop: asyncio.AbstractEventLoop, conn: socket.socket, data: bytes) -> None:
        try:
            await loop.connect_accepted_socket(
                lambda: HttpProtocol(io.router, limits, connections, "http", data), conn
            )
        except OSError:
            conn.close()

    async def main() -> None:
        await io.start()
        hub_task = asyncio.create_task(hub.run())
        loop.add_reader(fds, on_handover)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        loop.remove_reader(fds)
        io.engine.shutdown()
        for connection in list(connections):
            connection.shutdown()
        deadline = loop.time() + 5
        while connections and loop.time() < deadline:
            await asyncio.sleep(0.02)
        await io.close_adapters()
        hub_task.cancel()

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


if __name__ == "__main__":
    _worker_main()
