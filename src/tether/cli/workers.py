"""Several worker processes on one port, without sticky sessions: ``tether serve app:io
--workers N``.

A light parent accepts every TCP connection, reads its request line, and hands the socket
itself (with the bytes already read) to the worker that owns the session named by its
``sid``: each worker puts its own prefix (``<index>.``) before the sids it makes. A request
without a sid (a new session) goes to the next worker in turn. Connections are kept alive:
when a later request on a connection is a Socket.IO request for a session of another
worker, or a new session, the worker hands the connection back to the parent with that
request (:class:`_WorkerProtocol`), and the parent routes it again as a new one. A request
that cannot be handed back (pipelined behind another, or over :data:`MAX_HANDOVER` bytes) is
answered where it is. A WebSocket stays on the worker it was handed to; the other requests
(an ASGI app's) stay on the connection's worker.

Workers share rooms and broadcasts through the server's adapter when it is a cluster one
(Redis), otherwise through the parent, which relays the cluster messages of each worker
to the others (:class:`tether.adapters.cluster.hub.HubAdapter`, the ClusterAdapter protocol over a
Unix socket).

The app may be a :class:`tether.ASGIApp`: every worker hosts its other app
(:mod:`tether.aio.asgi_host`, with its own lifespan) beside the Socket.IO server; an emit from
the app's handlers reaches every worker through the same adapter. A worker that fails to
start (its app's lifespan startup failed) stops them all, and the command exits with 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable

from tether.adapters.cluster.hub import FRAME, Hub
from tether.aio.heap import keep_heap
from tether.aio.http_protocol import HttpProtocol, StreamedRequest
from tether.http.exchange import HttpApp
from tether.http.messages import HttpLimits, Request

__all__ = ["run_workers"]

log = logging.getLogger("tether.workers")

#: How much of a request the parent reads, at most, to find its sid (the request line).
MAX_REQUEST_LINE = 16 * 1024
#: Seconds a new connection has to send its request line to the parent.
REQUEST_LINE_TIMEOUT = 10.0
#: The largest request a worker hands back to the parent with its connection (one message).
MAX_HANDOVER = 64 * 1024


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


class Turns:
    """The parent's round robin for requests that name no session: Engine.IO handshakes (new
    sessions) take turns apart from other requests, so that the page loads between them can't
    line every new session up on one worker."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._sessions = itertools.cycle(range(workers)).__next__
        self._others = itertools.cycle(range(workers)).__next__

    def pick(self, first_bytes: bytes) -> int:
        """The worker for a request whose first bytes are ``first_bytes`` (see :func:`route`)."""
        line = first_bytes.split(b"\r\n", 1)[0]
        return route(first_bytes, self.workers, self._sessions if b"EIO=" in line else self._others)


# -- the parent ------------------------------------------------------------------------------


class _Worker:
    def __init__(self, index: int, process: subprocess.Popen[bytes], fds: socket.socket) -> None:
        self.index = index
        self.process = process
        self.fds = fds
        self.hub: asyncio.StreamWriter | None = None


async def _send_fd(
    loop: asyncio.AbstractEventLoop, channel: socket.socket, data: bytes, fd: int
) -> None:
    """Send ``data`` and the descriptor ``fd`` as one message on ``channel``."""
    while True:
        try:
            socket.send_fds(channel, [data], [fd])
            return
        except BlockingIOError:
            ready = loop.create_future()
            loop.add_writer(channel, ready.set_result, None)
            try:
                await ready
            finally:
                loop.remove_writer(channel)


async def _hand_over(
    loop: asyncio.AbstractEventLoop, worker: _Worker, data: bytes, fd: int
) -> None:
    await _send_fd(loop, worker.fds, data, fd)


def _take_back(
    loop: asyncio.AbstractEventLoop,
    workers: list[_Worker],
    worker: _Worker,
    turns: Turns,
    tasks: set[asyncio.Task[None]],
) -> None:
    """A connection handed back by ``worker`` with its next request: route it again."""
    try:
        data, received, _, _ = socket.recv_fds(worker.fds, MAX_HANDOVER, 1)
    except BlockingIOError:
        return
    except OSError:
        received, data = [], b""
    if not data and not received:
        loop.remove_reader(worker.fds)  # the worker is gone
        return
    for fd in received:
        target = workers[turns.pick(data)]

        async def pass_on(target: _Worker = target, fd: int = fd) -> None:
            try:
                await _hand_over(loop, target, data, fd)
            except OSError as exc:
                log.warning("could not hand a connection to worker %d: %s", target.index, exc)
            finally:
                os.close(fd)

        task = loop.create_task(pass_on())
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def _accept(listener: socket.socket, workers: list[_Worker]) -> None:
    loop = asyncio.get_running_loop()
    turns = Turns(len(workers))
    handed_back: set[asyncio.Task[None]] = set()
    for worker in workers:
        loop.add_reader(worker.fds, _take_back, loop, workers, worker, turns, handed_back)

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
            worker = workers[turns.pick(data)]
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
    root_path: str = "",
) -> None:
    """Run ``workers`` processes of the server ``app`` (``module:attribute``) on one port
    until SIGTERM/SIGINT, then stop them (each shuts down gracefully). Raises
    ``SystemExit(1)`` when a worker exits on its own (the others are stopped)."""
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
                "--root-path",
                root_path,
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

    failed = False

    async def main() -> None:
        nonlocal failed
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
                failed = True
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
    if failed:
        raise SystemExit(1)


# -- a worker --------------------------------------------------------------------------------


def _render(request: Request) -> bytes:
    """``request`` as bytes again, for the worker it is handed to (its body decoded, so
    with a Content-Length)."""
    target = request.path + "?" + request.query_string if request.query_string else request.path
    lines = [f"{request.method} {target} HTTP/1.1"]
    lines.extend(
        f"{name}: {value}"
        for name, value in request.headers.items()
        if name not in ("content-length", "transfer-encoding")
    )
    if request.body or request.method in ("POST", "PUT", "PATCH"):
        lines.append(f"content-length: {len(request.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body


class _WorkerProtocol(HttpProtocol):
    """A worker's connection: kept alive, and handed back to the parent when a later
    request on it is a Socket.IO request that another worker should answer (its session's,
    or the next in turn for a new session)."""

    __slots__ = ("_fresh", "_give_back", "_index", "_leaving", "_path", "_workers")

    def __init__(
        self,
        app: HttpApp,
        limits: HttpLimits,
        connections: set[HttpProtocol],
        received: bytes,
        *,
        path: str,
        index: int,
        workers: int,
        give_back: Callable[[bytes, int], None],
    ) -> None:
        super().__init__(app, limits, connections, "http", received)
        self._path = path
        self._index = index
        self._workers = workers
        self._give_back = give_back
        self._fresh = True  # the parent routed its first request
        self._leaving = False

    def _elsewhere(self, request: Request) -> bool:
        if not request.path.startswith(self._path) or type(request) is StreamedRequest:
            return False
        prefix, dot, _ = request.query.get("sid", "").partition(".")
        if not dot:
            return True  # a new session: the parent chooses the worker
        return prefix.isdigit() and int(prefix) < self._workers and int(prefix) != self._index

    def _enqueue(self, request: Request) -> None:
        if self._leaving:
            self._own_queue().append(request)  # pipelined behind the one handed back: see _leave
            self._pause_reading()
            return
        if self._fresh:
            self._fresh = False
        elif self._current is None and not self._queue and self._elsewhere(request):
            data = _render(request)
            if len(data) <= MAX_HANDOVER:
                self._leaving = True
                self._pause_reading()
                # Once the parser is done with what it was fed: anything after this request
                # (pipelined) would be lost with the connection.
                self.loop.call_soon(self._leave, request, data)
                return
        super()._enqueue(request)

    def _leave(self, request: Request, data: bytes) -> None:
        self._leaving = False
        if self.closed:
            return
        if self._queue or self._reading or not self._hand_back(data):
            # Bytes past this request were read, or an answer is still being written: it is
            # answered here (a session elsewhere gets "Session ID unknown"), in order.
            self._own_queue().insert(0, request)
            self._dispatch_queue()

    def _hand_back(self, data: bytes) -> bool:
        transport = self.transport
        writer = self.writer
        if transport is None or writer is None or writer.buffered:
            return False
        raw = transport.get_extra_info("socket")
        if raw is None:
            return False
        fd = os.dup(raw.fileno())
        transport.abort()  # the duplicate keeps the TCP connection open
        self._give_back(data, fd)
        return True

    def _start_upgrade(self, tail: bytes) -> None:
        request = self._upgrade_request
        if (
            request is not None
            and not self._fresh
            and not tail
            and self._current is None
            and not self._queue
            and self._elsewhere(request)
        ):
            # The parser stopped at the upgrade: nothing was read past it.
            data = _render(request)
            if len(data) <= MAX_HANDOVER and self._hand_back(data):
                return
        self._fresh = False
        super()._start_upgrade(tail)


def _worker_main(argv: list[str] | None = None) -> None:
    from tether.aio.asgi_host import LifespanFailed
    from tether.aio.listener import new_event_loop
    from tether.cli.app import load_served

    parser = argparse.ArgumentParser(prog="tether worker")
    parser.add_argument("app")
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--fds", type=int, required=True)
    parser.add_argument("--hub", type=int, required=True)
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--root-path", default="")
    args = parser.parse_args(argv)
    from tether.cli.logs import configure

    configure(args.log_level)
    served = load_served(args.app, args.root_path)
    io = served.io
    keep_heap(io.http_limits.heap_trim_threshold)
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
    limits = io.http_limits

    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    connections: set[HttpProtocol] = set()
    stop = asyncio.Event()

    def on_handover() -> None:
        try:
            data, received, _, _ = socket.recv_fds(fds, MAX_HANDOVER, 1)
        except BlockingIOError:
            return
        if not data and not received:
            stop.set()  # the parent is gone
            return
        for fd in received:
            conn = socket.socket(fileno=fd)
            conn.setblocking(False)
            loop.create_task(_adopt(loop, conn, data))

    giving_back: set[asyncio.Task[None]] = set()

    def give_back(data: bytes, fd: int) -> None:
        async def send() -> None:
            try:
                await _send_fd(loop, fds, data, fd)
            except OSError as exc:
                log.warning("could not hand a connection back: %s", exc)
            finally:
                os.close(fd)

        task = loop.create_task(send())
        giving_back.add(task)
        task.add_done_callback(giving_back.discard)

    def protocol(data: bytes) -> HttpProtocol:
        return _WorkerProtocol(
            served.http_app,
            limits,
            connections,
            data,
            path=io.engine.options.path,
            index=args.index,
            workers=args.workers,
            give_back=give_back,
        )

    async def _adopt(loop: asyncio.AbstractEventLoop, conn: socket.socket, data: bytes) -> None:
        try:
            await loop.connect_accepted_socket(lambda: protocol(data), conn)
        except OSError:
            conn.close()

    async def main() -> None:
        await served.startup()
        hub_task = asyncio.create_task(hub.run())
        loop.add_reader(fds, on_handover)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        loop.remove_reader(fds)
        stop_app: Callable[[], None] = getattr(served.http_app, "shutdown", io.engine.shutdown)
        stop_app()
        for connection in list(connections):
            connection.shutdown()
        deadline = loop.time() + 5
        while connections and loop.time() < deadline:
            await asyncio.sleep(0.02)
        await served.close()
        hub_task.cancel()

    try:
        loop.run_until_complete(main())
    except LifespanFailed as exc:
        raise SystemExit(f"tether worker {args.index}: {exc}") from None
    finally:
        loop.close()


if __name__ == "__main__":
    _worker_main()
