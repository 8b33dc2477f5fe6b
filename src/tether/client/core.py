"""The Socket.IO client (asyncio), the way ``socket.io-client`` behaves::

    client = tether.Client()

    @client.on("chat")
    def chat(text):                      # handler(*args); the return value answers an ack
        print(text)

    await client.connect("http://127.0.0.1:3000", auth={"token": "t"})
    client.emit("chat", "hello")         # queued; buffered while disconnected
    answer = await client.emit_with_ack("echo", 1, timeout=5)
    await client.disconnect()

Reserved events per namespace: ``connect()``, ``connect_error(data)``, ``disconnect(reason)``.
With connection state recovery on the server, the offset it appends to each event without ack
is kept for the next reconnection, not passed to handlers (a volatile event, sent without one,
cannot be told apart: its last argument is taken for an offset when it is a string).
Events of the connection as a whole (any namespace): ``reconnect_attempt(n)``,
``reconnect(n)``, ``reconnect_error(exc)``, ``reconnect_failed()``.

Transports and the upgrade live in :mod:`tether.client.engine`; packets in :mod:`tether.sio`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import random
import ssl as ssl_module
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, overload
from urllib.parse import parse_qsl, urlsplit

from tether.client.engine import EngineClient
from tether.client.http import HttpError, Origin
from tether.client.retry import RetryQueue
from tether.client.state import (
    MANAGER_EVENTS,
    RESERVED,
    Auth,
    Callback,
    ConnectError,
    H,
    Handler,
    NamespaceState,
    ack_args,
    ack_value,
    make_callback,
)
from tether.eio.errors import ParseError
from tether.errors import AckTimeoutError, DisconnectedError
from tether.sio import DecodeError, Packet, PacketType
from tether.sio.parsers import Parser, resolve
from tether.typed.validation import InvalidPayload, handler_error, invalid_payload, typed_ack

T = TypeVar("T")

log = logging.getLogger("tether.client")


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve the outcome of an emit nobody awaits (no "exception never retrieved")."""
    if not future.cancelled():
        future.exception()


class Client:
    """A Socket.IO client: one Engine.IO connection, one or more namespaces on it.

    Args:
        reconnection: reconnect by itself after a lost connection.
        reconnection_attempts: attempts before giving up (``reconnect_failed``).
        reconnection_delay: seconds before the first attempt; doubled at each next one.
        reconnection_delay_max: the longest delay between attempts, in seconds.
        randomization_factor: jitter of each delay (0 to 1).
        retries: with more than 0, every emit waits for an ack and is sent again up to
            this many times (socket.io-client's ``retries``; delivery at least once).
        ack_timeout: seconds each try of a retried emit waits for its ack.
        ssl: ``None`` verifies ``https``/``wss`` certificates; an ``ssl.SSLContext`` of
            yours, or ``False`` not to verify.
        ack_errors: answer an ack the server asked for with an error object when the
            payload does not match the handler's annotations (``{"error": "invalid_payload",
            "event": ..., "details": [...]}``, see :mod:`tether.typed.validation`) or the
            handler raises (``{"error": "handler_error", "event": ...}``); ``False``: the
            server gets no answer, as before.
        parser: ``"json"`` (the default), ``"msgpack"`` (``socket.io-msgpack-parser``
            3.x's wire, for a server using that parser) or a parser object (see
            :mod:`tether.sio.parsers`); the server must speak the same one.
    """

    def __init__(
        self,
        *,
        reconnection: bool = True,
        reconnection_attempts: float = math.inf,
        reconnection_delay: float = 1.0,
        reconnection_delay_max: float = 5.0,
        randomization_factor: float = 0.5,
        retries: int = 0,
        ack_timeout: float | None = None,
        ssl: ssl_module.SSLContext | bool | None = None,
        ack_errors: bool = True,
        parser: str | Parser = "json",
    ) -> None:
        self.reconnection = reconnection
        self.reconnection_attempts = reconnection_attempts
        self.reconnection_delay = reconnection_delay
        self.reconnection_delay_max = reconnection_delay_max
        self.randomization_factor = randomization_factor
        #: socket.io-client's ``retries``/``ackTimeout``: see :mod:`tether.client.retry`.
        self.retries = retries
        self.ack_timeout = ack_timeout
        self._queues: dict[str, RetryQueue] = {}
        self.ssl = ssl
        self.ack_errors = ack_errors
        self._handlers: dict[str, dict[str, Callback]] = {}
        self._any: dict[str, list[Callback]] = {}
        self._manager: dict[str, Callback] = {}
        self._namespaces: dict[str, NamespaceState] = {}
        self._engine: EngineClient | None = None
        self._codec = resolve(parser)
        self._decoder = self._codec.new_decoder(10)
        self._reconnect_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._done = asyncio.Event()
        self._closing = False
        self._origin: Origin | None = None
        self._path = "/socket.io/"
        self._query: list[tuple[str, str]] = []
        self._headers: list[tuple[str, str]] = []
        self._transports: tuple[str, ...] = ("polling", "websocket")
        self._auth: Auth = None
        self._wait_timeout = 5.0

    # -- handlers ---------------------------------------------------------------------------

    @overload
    def on(self, event: str, handler: None = None, *, namespace: str = "/") -> Callable[[H], H]: ...
    @overload
    def on(self, event: str, handler: H, *, namespace: str = "/") -> H: ...

    def on(
        self, event: str, handler: Handler | None = None, *, namespace: str = "/"
    ) -> Callable[[Handler], Handler] | Handler:
        """Register ``handler(*args)`` for ``event``; usable as ``@client.on(event)``.

        The return value answers the server's ack. With the extra ``tether[typed]``
        (pydantic), the handler's annotations are enforced as on the server (see
        :meth:`tether.Namespace.on`); a signature that cannot receive the event raises
        ``TypeError`` here.
        """

        def register(fn: Handler) -> Handler:
            if event in MANAGER_EVENTS:
                self._manager[event] = make_callback(fn, event)
            else:
                self._handlers.setdefault(namespace, {})[event] = make_callback(fn, event)
            return fn

        return register if handler is None else register(handler)

    @overload
    def on_any(self, handler: None = None, *, namespace: str = "/") -> Callable[[H], H]: ...
    @overload
    def on_any(self, handler: H, *, namespace: str = "/") -> H: ...

    def on_any(
        self, handler: Handler | None = None, *, namespace: str = "/"
    ) -> Callable[[Handler], Handler] | Handler:
        """Register ``handler(event, *args)`` for every event received in ``namespace``."""

        def register(fn: Handler) -> Handler:
            self._any.setdefault(namespace, []).append(make_callback(fn))
            return fn

        return register if handler is None else register(handler)

    # -- state ------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether every namespace asked for is connected."""
        spaces = self._namespaces.values()
        return bool(spaces) and all(ns.connected for ns in spaces)

    @property
    def sid(self) -> str | None:
        """The id of the socket in ``"/"`` (``None`` when not connected)."""
        return self.get_sid("/")

    def get_sid(self, namespace: str = "/") -> str | None:
        """The socket id in ``namespace`` while connected there."""
        ns = self._namespaces.get(namespace)
        return ns.sid if ns is not None and ns.connected else None

    @property
    def transport(self) -> str | None:
        """``"polling"`` or ``"websocket"`` while the connection is open."""
        engine = self._engine
        return engine.transport if engine is not None and not engine.closed else None

    @property
    def recovered(self) -> bool:
        """Whether the last connection recovered the session of every namespace."""
        spaces = self._namespaces.values()
        return bool(spaces) and all(ns.recovered for ns in spaces)

    # -- connecting -------------------------------------------------------------------------

    async def connect(
        self,
        url: str,
        *,
        namespaces: Iterable[str] | None = None,
        auth: Auth = None,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        transports: Sequence[str] = ("polling", "websocket"),
        path: str = "/socket.io/",
        wait_timeout: float = 5.0,
    ) -> None:
        """Connect and join ``namespaces`` (default: the URL's path, else ``"/"``).

        Raises :class:`ConnectError` when the server cannot be reached, refuses a namespace
        (``data`` holds its CONNECT_ERROR data) or does not answer within ``wait_timeout``.

        Args:
            url: ``http``, ``https``, ``ws`` or ``wss`` URL of the server; its path, if any,
                is the namespace.
            namespaces: the namespaces to join on the connection.
            auth: the auth object sent with each CONNECT: a dict, or a function (sync or
                async) returning one, called at each connection.
            headers: extra HTTP headers of the handshake requests.
            transports: ``("polling", "websocket")`` starts with polling and upgrades;
                ``("websocket",)`` opens a WebSocket right away.
            path: the server's path.
            wait_timeout: seconds to wait for the connection and every namespace.
        """
        if self._engine is not None and not self._engine.closed:
            raise RuntimeError("already connected")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
            raise ValueError(f"unsupported URL {url!r}")
        secure = scheme in ("https", "wss")
        self._origin = Origin(
            parts.hostname, parts.port or (443 if secure else 80), self._ssl_context(secure)
        )
        if not transports or any(t not in ("polling", "websocket") for t in transports):
            raise ValueError(f"invalid transports {transports!r}")
        self._transports = tuple(transports)
        self._path = path if path.endswith("/") else path + "/"
        self._query = parse_qsl(parts.query)
        items = headers.items() if isinstance(headers, Mapping) else headers or ()
        self._headers = [(str(k), str(v)) for k, v in items]
        self._auth = auth
        self._wait_timeout = wait_timeout
        names = list(namespaces or [parts.path if parts.path not in ("", "/") else "/"])
        self._namespaces = {name: NamespaceState(name) for name in names}
        self._closing = False
        self._done.clear()
        try:
            await self._establish()
        except ConnectError:
            self._finish()
            raise

    def _ssl_context(self, secure: bool) -> ssl_module.SSLContext | None:
        if not secure:
            return None
        if isinstance(self.ssl, ssl_module.SSLContext):
            return self.ssl
        context = ssl_module.create_default_context()
        if self.ssl is False:
            context.check_hostname = False
            context.verify_mode = ssl_module.CERT_NONE
        return context

    async def _establish(self) -> None:
        """Open the Engine.IO session and CONNECT every active namespace."""
        assert self._origin is not None
        self._decoder.reset()
        engine = EngineClient(
            self._origin,
            self._path,
            query=self._query,
            headers=self._headers,
            transports=self._transports,
            on_message=self._on_message,
            on_close=self._on_engine_close,
        )
        self._engine = engine
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._wait_timeout):
                await engine.open()
                waiters = []
                for ns in self._namespaces.values():
                    if ns.active:
                        ns.waiter = loop.create_future()
                        waiters.append(ns.waiter)
                        await self._send_connect(ns)
                await asyncio.gather(*waiters)
        except (
            HttpError,
            ParseError,
            TimeoutError,
            ConnectError,
            OSError,
            ValueError,
            KeyError,
        ) as exc:
            engine.close()
            self._engine = None
            if isinstance(exc, ConnectError):
                raise
            message = "timed out" if isinstance(exc, TimeoutError) else str(exc)
            for ns in self._namespaces.values():
                if ns.active:  # as socket.io-client: connect_error for a transport failure too
                    self._emit_local(ns.name, "connect_error", [{"message": message}])
            raise ConnectError(f"cannot connect: {message}") from exc
        except asyncio.CancelledError:
            engine.close()
            self._engine = None
            raise
        finally:
            for ns in self._namespaces.values():
                ns.waiter = None

    async def _send_connect(self, ns: NamespaceState) -> None:
        auth = self._auth
        data: Any = auth() if callable(auth) else auth
        if inspect.isawaitable(data):
            data = await data
        payload = dict(data) if data is not None else None
        if ns.pid is not None and ns.offset is not None:
            payload = {**(payload or {}), "pid": ns.pid, "offset": ns.offset}
        if self._engine is not None:
            self._engine.send(self._codec.encode(Packet(PacketType.CONNECT, ns.name, payload)))

    # -- receiving --------------------------------------------------------------------------

    def _on_message(self, message: str | bytes) -> None:
        try:
            if type(message) is str:
                packet = self._decoder.feed_text(message)
            else:
                packet = self._decoder.feed_binary(message)  # type: ignore[arg-type]
        except DecodeError as exc:
            log.debug("invalid packet from the server: %s", exc)
            if self._engine is not None:
                self._engine.close()
                self._on_engine_close("parse error")
            return
        if packet is None:
            return
        ns = self._namespaces.get(packet.nsp)
        if ns is None:
            return
        ptype = packet.type
        if ptype is PacketType.EVENT:
            if ns.connected:
                self._on_event(ns, packet.data, packet.id)
            elif ns.active:
                # Before the CONNECT answer (Node sends a recovered session's missed packets
                # first): delivered once connected, as socket.io-client's receive buffer.
                ns.received.append((packet.data, packet.id))
        elif ptype is PacketType.ACK:
            future = ns.acks.pop(packet.id, None) if packet.id is not None else None
            if future is not None and not future.done():
                future.set_result(packet.data)
        elif ptype is PacketType.CONNECT:
            self._on_connect(ns, packet.data or {})
        elif ptype is PacketType.CONNECT_ERROR:
            self._on_connect_error(ns, packet.data)
        elif ptype is PacketType.DISCONNECT:
            self._on_server_disconnect(ns)

    def _on_connect(self, ns: NamespaceState, data: dict[str, Any]) -> None:
        pid = data.get("pid")
        ns.recovered = pid is not None and pid == ns.pid
        ns.pid = pid if isinstance(pid, str) else None
        if not ns.recovered:
            ns.offset = None
        ns.sid = data.get("sid")
        ns.connected = True
        received, ns.received = ns.received, []
        for event, ack_id in received:
            self._on_event(ns, event, ack_id)
        buffer, ns.buffer = ns.buffer, []
        if self._engine is not None:
            for parts, _ in buffer:
                self._engine.send(parts)
        queue = self._queues.get(ns.name)
        if queue is not None:
            queue.drain(self._engine is not None, force=True)
        if ns.waiter is not None and not ns.waiter.done():
            ns.waiter.set_result(None)
        self._emit_local(ns.name, "connect", [])

    def _on_connect_error(self, ns: NamespaceState, data: Any) -> None:
        ns.active = False
        if isinstance(data, dict):
            message, extra = str(data.get("message", "")), data.get("data")
        else:
            message, extra, data = str(data), None, {"message": str(data)}
        self._emit_local(ns.name, "connect_error", [data])
        if ns.waiter is not None and not ns.waiter.done():
            ns.waiter.set_exception(ConnectError(message, extra))
        self._close_if_idle()

    def _on_server_disconnect(self, ns: NamespaceState) -> None:
        ns.active = False
        self._drop(ns, "io server disconnect")
        self._close_if_idle()

    def _close_if_idle(self) -> None:
        if not any(ns.active for ns in self._namespaces.values()) and self._engine is not None:
            self._engine.close()
            self._engine = None
            self._finish()

    def _on_event(self, ns: NamespaceState, data: list[Any], ack_id: int | None) -> None:
        event, args = data[0], data[1:]
        if ns.pid is not None and ack_id is None and args and type(args[-1]) is str:
            # With connection state recovery the server appends its offset to every event
            # without ack: kept for the next reconnection (socket.io-client's _lastOffset),
            # not an argument of the event.
            ns.offset = args.pop()
        for callback in self._any.get(ns.name, ()):
            self._run(callback, [event, *args], None, ns, str(event))
        handler = self._handlers.get(ns.name, {}).get(event)
        if handler is not None:
            self._run(handler, args, ack_id, ns, str(event))
        elif ack_id is not None:
            log.debug("no handler for %r in %s: its ack is not answered", event, ns.name)

    def _emit_local(self, namespace: str, event: str, args: list[Any]) -> None:
        handler = self._handlers.get(namespace, {}).get(event)
        if handler is not None:
            self._run(handler, args, None, None, event)

    def _emit_manager(self, event: str, args: list[Any]) -> None:
        handler = self._manager.get(event)
        if handler is not None:
            self._run(handler, args, None, None, event)

    def _run(
        self,
        callback: Callback,
        args: list[Any],
        ack_id: int | None,
        ns: NamespaceState | None,
        event: str,
    ) -> None:
        validator = callback.validator
        if validator is not None:
            try:
                args = validator.arguments(args)
            except InvalidPayload as exc:
                log.debug("invalid payload for the client handler of %r: %s", event, exc.details)
                if ack_id is not None and ns is not None and self.ack_errors:
                    self._answer(ns, ack_id, invalid_payload(event, exc.details))
                return
            except Exception:  # a validator of the application's types that failed
                log.exception("client handler for %r failed", event)
                if ack_id is not None and ns is not None and self.ack_errors:
                    self._answer(ns, ack_id, handler_error(event))
                return
        if callback.is_coroutine:
            task = asyncio.get_running_loop().create_task(
                self._run_coroutine(callback, args, ack_id, ns, event)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        try:
            result = callback.fn(*args)
            if validator is not None and ack_id is not None:
                result = validator.result(result)
        except Exception:
            log.exception("client handler for %r failed", event)
            if ack_id is not None and ns is not None and self.ack_errors:
                self._answer(ns, ack_id, handler_error(event))
            return
        if ack_id is not None and ns is not None:
            self._answer(ns, ack_id, result)

    async def _run_coroutine(
        self,
        callback: Callback,
        args: list[Any],
        ack_id: int | None,
        ns: NamespaceState | None,
        event: str,
    ) -> None:
        try:
            result = await callback.fn(*args)
            if callback.validator is not None and ack_id is not None:
                result = callback.validator.result(result)
        except Exception:
            log.exception("client handler for %r failed", event)
            if ack_id is not None and ns is not None and self.ack_errors:
                self._answer(ns, ack_id, handler_error(event))
            return
        if ack_id is not None and ns is not None:
            self._answer(ns, ack_id, result)

    def _answer(self, ns: NamespaceState, ack_id: int, result: Any) -> None:
        if ns.connected and self._engine is not None:
            self._engine.send(self._codec.encode_ack(ns.name, ack_id, ack_args(result)))

    # -- sending ----------------------------------------------------------------------------

    def emit(self, event: str, *args: Any, namespace: str = "/", volatile: bool = False) -> None:
        """Send ``event``; buffered while disconnected unless ``volatile``. With ``retries``,
        sent again until the server acknowledges it."""
        ns = self._namespace(namespace, event)
        if self.retries > 0 and not volatile:
            answer = self._queue(ns).add(event, args, self.ack_timeout)
            answer.add_done_callback(_consume)
            self._queue(ns).drain(ns.connected and self._engine is not None)
            return
        self._send_event(ns, event, args, None, volatile)

    def _queue(self, ns: NamespaceState) -> RetryQueue:
        queue = self._queues.get(ns.name)
        if queue is None:

            def send(event: str, args: Sequence[Any], ack_id: int) -> None:
                self._send_event(ns, event, args, ack_id, False)

            def new_ack() -> tuple[int, asyncio.Future[list[Any]]]:
                ack_id = ns.next_id
                ns.next_id += 1
                future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
                ns.acks[ack_id] = future
                return ack_id, future

            queue = self._queues[ns.name] = RetryQueue(self.retries, send, new_ack)
        return queue

    @overload
    async def emit_with_ack(
        self,
        event: str,
        *args: Any,
        namespace: str = "/",
        timeout: float | None = None,
        result: None = None,
    ) -> Any: ...
    @overload
    async def emit_with_ack(
        self,
        event: str,
        *args: Any,
        namespace: str = "/",
        timeout: float | None = None,
        result: type[T],
    ) -> T: ...

    async def emit_with_ack(
        self,
        event: str,
        *args: Any,
        namespace: str = "/",
        timeout: float | None = None,
        result: Any = None,
    ) -> Any:
        """Send ``event`` and return the server's answer: one value, a tuple, or ``None``.

        Raises :class:`AckTimeoutError` after ``timeout`` seconds, :class:`DisconnectedError`
        when the connection is lost after the event was sent. With ``retries``, ``timeout``
        (or ``ack_timeout``) bounds each try, the event is sent again after a timeout or a
        reconnection, and the error comes once every try failed.

        ``result``: a type (a pydantic model, a dataclass, a TypedDict, ``list[int]``...) the
        answer is validated and converted to, and the return type for the type checkers
        (needs the ``typed`` extra); :class:`~tether.errors.InvalidAckError` if it does not
        match (its ``ack`` is the answer as it came, e.g. the server's ``invalid_payload``
        error object).
        """
        answer = await self._emit_with_ack(event, args, namespace, timeout)
        return answer if result is None else typed_ack(event, answer, result)

    async def _emit_with_ack(
        self, event: str, args: tuple[Any, ...], namespace: str, timeout: float | None
    ) -> Any:
        ns = self._namespace(namespace, event)
        if self.retries > 0:
            queue = self._queue(ns)
            queued = queue.add(event, args, timeout if timeout is not None else self.ack_timeout)
            queue.drain(ns.connected and self._engine is not None)
            return ack_value(await queued)
        ack_id = ns.next_id
        ns.next_id += 1
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        ns.acks[ack_id] = future
        self._send_event(ns, event, args, ack_id, False)
        try:
            async with asyncio.timeout(timeout):
                answer = await future
        except TimeoutError:
            raise AckTimeoutError() from None
        finally:
            ns.acks.pop(ack_id, None)
            ns.buffer = [item for item in ns.buffer if item[1] != ack_id]
        return ack_value(answer)

    def _namespace(self, namespace: str, event: str) -> NamespaceState:
        if event in RESERVED:
            raise ValueError(f"{event!r} is a reserved event name")
        ns = self._namespaces.get(namespace)
        if ns is None:
            raise ValueError(f"namespace {namespace!r} was not asked for in connect()")
        return ns

    def _send_event(
        self,
        ns: NamespaceState,
        event: str,
        args: Sequence[Any],
        ack_id: int | None,
        volatile: bool,
    ) -> None:
        parts = self._codec.encode_event(ns.name, event, args, ack_id)
        engine = self._engine
        if ns.connected and engine is not None and not engine.closed:
            engine.send(parts)
        elif not volatile:
            ns.buffer.append((parts, ack_id))

    # -- disconnecting and reconnecting -----------------------------------------------------

    def _drop(self, ns: NamespaceState, reason: str) -> None:
        """``ns`` lost its connection: fail the acks of what was sent, tell the handler."""
        ns.received = []
        buffered = {ack_id for _, ack_id in ns.buffer}
        for ack_id, future in list(ns.acks.items()):
            if ack_id not in buffered:
                del ns.acks[ack_id]
                if not future.done():
                    future.set_exception(DisconnectedError(f"disconnected: {reason}"))
        if ns.connected:
            ns.connected = False
            self._emit_local(ns.name, "disconnect", [reason])

    def _on_engine_close(self, reason: str) -> None:
        self._engine = None
        for ns in self._namespaces.values():
            if ns.waiter is not None and not ns.waiter.done():
                ns.waiter.set_exception(ConnectError(f"connection closed: {reason}"))
            self._drop(ns, reason)
        if self._closing:
            return
        wanted = any(ns.active for ns in self._namespaces.values())
        establishing = any(ns.waiter is not None for ns in self._namespaces.values())
        if self.reconnection and wanted and self._reconnect_task is None and not establishing:
            self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect())
        elif not establishing and self._reconnect_task is None:
            self._finish()

    def _backoff(self, attempt: int) -> float:
        """engine.io-client's backoff: doubling from the delay, jittered, capped."""
        delay = float(self.reconnection_delay * 2**attempt)
        if self.randomization_factor:
            rand = random.random()
            deviation = rand * self.randomization_factor * delay
            delay = delay - deviation if int(rand * 10) & 1 == 0 else delay + deviation
        return float(min(delay, self.reconnection_delay_max))

    async def _reconnect(self) -> None:
        attempt = 0
        try:
            while not self._closing:
                if attempt >= self.reconnection_attempts:
                    self._emit_manager("reconnect_failed", [])
                    self._finish()
                    return
                await asyncio.sleep(self._backoff(attempt))
                attempt += 1
                self._emit_manager("reconnect_attempt", [attempt])
                try:
                    await self._establish()
                except ConnectError as exc:
                    self._emit_manager("reconnect_error", [exc])
                    if not any(ns.active for ns in self._namespaces.values()):
                        self._finish()
                        return
                    continue
                self._emit_manager("reconnect", [attempt])
                return
        finally:
            self._reconnect_task = None

    async def disconnect(self) -> None:
        """Leave every namespace and close the connection; no reconnection follows."""
        self._closing = True
        task, self._reconnect_task = self._reconnect_task, None
        if task is not None:
            task.cancel()
        engine, self._engine = self._engine, None
        for ns in self._namespaces.values():
            if ns.connected and engine is not None:
                engine.send(self._codec.encode(Packet(PacketType.DISCONNECT, ns.name)))
            ns.active = False
            self._drop(ns, "io client disconnect")
        if engine is not None:
            engine.close()
            await engine.wait_closed()
        self._finish()

    def _finish(self) -> None:
        """Disconnected for good: no ack can be answered any more."""
        for ns in self._namespaces.values():
            acks, ns.acks, ns.buffer = ns.acks, {}, []
            for future in acks.values():
                if not future.done():
                    future.set_exception(DisconnectedError("the client is disconnected"))
        for queue in self._queues.values():
            queue.fail_all(DisconnectedError("the client is disconnected"))
        self._done.set()

    async def wait(self) -> None:
        """Wait until the client is disconnected for good (no reconnection pending)."""
        await self._done.wait()
