"""The official Socket.IO admin UI (``@socket.io/admin-ui`` 0.5) for a tether server.

:func:`instrument` adds the namespace the UI connects to (``/admin`` by default) and speaks
its protocol: the server's stats every two seconds (from every server of a cluster: they
are broadcast through the namespace's adapter), the socket list with each socket's
handshake, transport and rooms, room and socket events as they happen and, in development
mode, every event received and sent; the UI's actions (emit, join, leave, disconnect)
unless ``read_only``.

The UI itself is served by tether (``instrument(io, ..., ui_path="/admin/")``,
:func:`serve_ui` or ``tether serve app:io --admin``; see :class:`tether.aio.static.AdminUi`),
or use the hosted one at https://admin.socket.io (allow its origin with ``cors_origins``).

When :func:`instrument` is not called, the server pays one ``None`` check when a socket
connects, disconnects, joins or leaves a room, and nothing per event.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import logging
import os
import re
import secrets
import socket as socket_module
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from tether.client_session import ClientSession
from tether.errors import ConnectionRefusedError
from tether.handlers import spawn

if TYPE_CHECKING:
    from tether.namespace import Namespace
    from tether.server import Server
    from tether.socket import Socket

log = logging.getLogger("tether.admin")

#: Seconds between two ``server_stats`` (the UI's own rhythm).
STATS_INTERVAL = 2.0
#: The UI's actions, all offered unless read-only.
ACTIONS = ("EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT")
_BCRYPT_HASH = re.compile(r"^\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}$")
_START = time.monotonic()

AuthCheck = Callable[[dict[str, Any]], bool]

_instrumented: weakref.WeakKeyDictionary[Server, Instrumentation] = weakref.WeakKeyDictionary()


def _now() -> str:
    """A JavaScript ``Date`` as JSON: ISO 8601 in UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _basic_check(username: str, password_hash: str) -> AuthCheck:
    """Check a username and a password against a bcrypt hash (fails closed)."""
    if not _BCRYPT_HASH.match(password_hash):
        raise ValueError("the admin password must be a bcrypt hash ($2b$...)")
    try:
        import bcrypt
    except ImportError as error:
        raise RuntimeError(
            "checking the admin UI's password needs bcrypt: pip install 'tether[admin]'"
        ) from error
    expected = password_hash.encode("ascii")

    def check(auth: dict[str, Any]) -> bool:
        given_name, given_password = auth.get("username"), auth.get("password")
        if not isinstance(given_name, str) or not isinstance(given_password, str):
            return False
        # Hash even for a wrong name, so that the time taken tells nothing.
        matched = bcrypt.checkpw(given_password.encode("utf-8"), expected)
        return hmac.compare_digest(given_name.encode(), username.encode()) and matched

    return check


def _auth_check(auth: Any) -> AuthCheck | None:
    if auth is False:
        log.warning("the admin UI needs no authentication (auth=False): use with caution")
        return None
    if callable(auth):
        return auth  # type: ignore[no-any-return]
    if isinstance(auth, Mapping):
        if auth.get("type", "basic") != "basic":
            raise ValueError("admin auth: only the 'basic' type is known")
        username, password = auth.get("username"), auth.get("password")
        if isinstance(username, str) and isinstance(password, str):
            return _basic_check(username, password)
    raise ValueError(
        "admin auth must be False, {'username': ..., 'password': <bcrypt hash>} "
        "or a function of the client's auth dict"
    )


class _EventBuffer:
    """Counts per second and kind, for the UI's charts (``aggregatedEvents``)."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[tuple[int, str, str | None], int] = {}

    def push(self, kind: str, sub: str | None = None, count: int = 1) -> None:
        key = (int(time.time()) * 1000, kind, sub)
        self.counts[key] = self.counts.get(key, 0) + count

    def take(self) -> list[dict[str, Any]]:
        counts, self.counts = self.counts, {}
        return [
            {"timestamp": stamp, "type": kind, "subType": sub, "count": count}
            for (stamp, kind, sub), count in counts.items()
        ]


def _counted_session_class(base: type[ClientSession], events: _EventBuffer) -> type[ClientSession]:
    """A subclass of ``base`` (the server's session class) that counts connections, packets
    and bytes for the UI's charts."""

    class CountedSession(base):  # type: ignore[valid-type,misc]
        __slots__ = ()

        def __init__(self, server: Any, engine: Any) -> None:
            super().__init__(server, engine)
            events.push("rawConnection")

        def on_message(self, data: str | bytes) -> None:
            events.push("packetsIn")
            events.push("bytesIn", None, len(data))
            super().on_message(data)

        def send_parts(self, parts: list[str | bytes]) -> None:
            events.push("packetsOut")
            events.push("bytesOut", None, sum(len(p) for p in parts))
            super().send_parts(parts)

        def on_close(self, reason: str) -> None:
            events.push("rawDisconnection", reason)
            super().on_close(reason)

    return CountedSession


class Monitor:
    """What :func:`instrument` hooks into the server: the sockets' and rooms' events, told
    to the admin namespace (development mode only)."""

    def __init__(self, admin: Namespace) -> None:
        self.admin = admin

    def socket_connected(self, socket: Socket) -> None:
        """A socket connected: tell the UI and, outside the admin namespace, follow its
        events both ways."""
        if isinstance(socket.data, dict):
            socket.data["_admin"] = {
                "clientId": socket.conn.engine.sid[:12],
                "transport": socket.transport,
            }
        self.admin.emit("socket_connected", serialize(socket, socket.nsp.name), _now())
        if socket.nsp is self.admin:
            return
        nsp, sid, admin = socket.nsp.name, socket.id, self.admin

        def received(event: str, *args: Any) -> None:
            admin.emit("event_received", nsp, sid, [event, *args], _now())

        def sent(event: str, *args: Any) -> None:
            admin.emit("event_sent", nsp, sid, [event, *args], _now())

        socket.on_any(received)
        socket.on_any_outgoing(sent)

    def socket_disconnected(self, socket: Socket, reason: str) -> None:
        """A socket disconnected: it left its rooms, then it is gone."""
        nsp, sid, now = socket.nsp.name, socket.id, _now()
        for room in sorted(socket.rooms):
            self.admin.emit("room_left", nsp, room, sid, now)
        self.admin.emit("socket_disconnected", nsp, sid, reason, now)

    def refused(self, reason: str) -> None:
        """A request refused (the engine's observer): nothing for the UI."""

    def upgraded(self, engine: Any) -> None:
        """A session upgraded: its sockets' transport changed."""
        sockets = getattr(engine.handler, "sockets", None)
        if not sockets:
            return
        transport = engine.transport.name
        for socket in list(sockets.values()):
            if isinstance(socket.data, dict) and isinstance(socket.data.get("_admin"), dict):
                socket.data["_admin"]["transport"] = transport
            self.admin.emit(
                "socket_updated", {"id": socket.id, "nsp": socket.nsp.name, "transport": transport}
            )

    def rooms_joined(self, socket: Socket, rooms: Iterable[str]) -> None:
        """A socket joined rooms."""
        now = _now()
        for room in rooms:
            self.admin.emit("room_joined", socket.nsp.name, room, socket.id, now)

    def room_left(self, socket: Socket, room: str) -> None:
        """A socket left a room."""
        self.admin.emit("room_left", socket.nsp.name, room, socket.id, _now())


def serialize(socket: Any, nsp: str) -> dict[str, Any]:
    """A socket (local or of another server) as the UI lists it."""
    data = socket.data
    admin = data.get("_admin") if isinstance(data, dict) else None
    admin = admin if isinstance(admin, dict) else {}
    transport = getattr(socket, "transport", None) or admin.get("transport")
    conn = getattr(socket, "conn", None)
    client_id = conn.engine.sid[:12] if conn is not None else admin.get("clientId")
    handshake = dataclasses.asdict(socket.handshake)
    handshake.pop("auth", None)
    headers = handshake.get("headers") or {}
    handshake["address"] = (
        headers.get("cf-connecting-ip") or headers.get("x-forwarded-for") or handshake["address"]
    )
    if isinstance(data, dict):
        data = {key: value for key, value in data.items() if key != "_admin"}
    return {
        "id": socket.id,
        "clientId": client_id,
        "transport": transport,
        "nsp": nsp,
        "data": data,
        "handshake": handshake,
        "rooms": sorted(socket.rooms),
    }


class Instrumentation:
    """The admin namespace of one server, as :func:`instrument` sets it up."""

    def __init__(
        self,
        io: Server,
        admin: Namespace,
        check: AuthCheck | None,
        development: bool,
        read_only: bool,
        server_id: str,
        max_sessions: int,
    ) -> None:
        self.io = io
        self.admin = admin
        self.check = check
        self.development = development
        self.features = ([] if read_only else list(ACTIONS)) + ["AGGREGATED_EVENTS"]
        if development:
            self.features.append("ALL_EVENTS")
        self.server_id = server_id
        self.max_sessions = max_sessions
        self.sessions: OrderedDict[str, None] = OrderedDict()
        self.events = _EventBuffer()
        self._new_sessions: dict[str, str] = {}
        self._timer: asyncio.TimerHandle | None = None
        admin.use(self._authenticate)
        admin.on("connection", self._connected)
        if not read_only:
            admin.on("emit", self._emit)
            admin.on("join", self._join)
            admin.on("leave", self._leave)
            admin.on("_disconnect", self._disconnect)

    # -- authentication ---------------------------------------------------------------------

    async def _authenticate(self, socket: Socket) -> None:
        check = self.check
        if check is None:
            return
        auth = socket.handshake.auth
        session = auth.get("sessionId")
        if isinstance(session, str) and session in self.sessions:
            self.sessions.move_to_end(session)
            return
        if await asyncio.to_thread(check, auth):
            session = secrets.token_hex(8)
            self.sessions[session] = None
            while len(self.sessions) > self.max_sessions:
                self.sessions.popitem(last=False)
            self._new_sessions[socket.id] = session
            return
        log.info(
            "admin UI login refused: invalid credentials (address %s)", socket.handshake.address
        )
        raise ConnectionRefusedError("invalid credentials")

    def _connected(self, socket: Socket) -> None:
        session = self._new_sessions.pop(socket.id, None)
        if session is not None:
            socket.emit("session", session)
        socket.emit("config", {"supportedFeatures": self.features})
        if self.development:
            spawn(self._send_all_sockets(socket), "the admin UI's socket list")

    async def _send_all_sockets(self, socket: Socket) -> None:
        listed: list[dict[str, Any]] = []
        for namespace in list(self.io.namespaces.values()):
            found = await namespace.fetch_sockets()
            listed.extend(serialize(each, namespace.name) for each in found)
        socket.emit("all_sockets", listed)

    # -- the UI's actions -------------------------------------------------------------------

    def _target(self, nsp: Any, filter_: Any) -> Any:
        namespace = self.io.namespaces.get(nsp) if isinstance(nsp, str) else None
        if namespace is None:
            return None
        if isinstance(filter_, str) and filter_:
            return namespace.to(filter_)
        return namespace

    def _emit(self, socket: Socket, nsp: Any, filter_: Any, event: Any, *args: Any) -> None:
        target = self._target(nsp, filter_)
        if target is not None and isinstance(event, str):
            log.info("admin UI: emit %r to %s %s", event, nsp, filter_ or "")
            target.emit(event, *args)

    def _join(self, socket: Socket, nsp: Any, room: Any, filter_: Any = None) -> None:
        target = self._target(nsp, filter_)
        if target is not None and isinstance(room, str):
            log.info("admin UI: sockets of %s %s join %r", nsp, filter_ or "", room)
            target.sockets_join(room)

    def _leave(self, socket: Socket, nsp: Any, room: Any, filter_: Any = None) -> None:
        target = self._target(nsp, filter_)
        if target is not None and isinstance(room, str):
            log.info("admin UI: sockets of %s %s leave %r", nsp, filter_ or "", room)
            target.sockets_leave(room)

    def _disconnect(self, socket: Socket, nsp: Any, close: Any, filter_: Any = None) -> None:
        target = self._target(nsp, filter_)
        if target is not None:
            log.info("admin UI: disconnect sockets of %s %s", nsp, filter_ or "")
            target.disconnect_sockets(close is True)

    # -- stats ------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """This server's ``server_stats``."""
        sessions = self.io.engine.sessions.values()
        return {
            "serverId": self.server_id,
            "hostname": socket_module.gethostname(),
            "pid": os.getpid(),
            "uptime": time.monotonic() - _START,
            "clientsCount": len(sessions),
            "pollingClientsCount": sum(1 for s in sessions if s.transport.name == "polling"),
            "aggregatedEvents": self.events.take(),
            "namespaces": [
                {"name": nsp.name, "socketsCount": len(nsp.sockets)}
                for nsp in list(self.io.namespaces.values())
            ],
        }

    async def start(self) -> None:
        """Send the stats now and every :data:`STATS_INTERVAL` seconds."""
        if self._timer is None:
            self._tick()

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self.admin.emit("server_stats", self.stats())
        except Exception:
            log.exception("could not send the admin UI's stats")
        self._timer = loop.call_later(STATS_INTERVAL, self._tick)

    def stop(self) -> None:
        """Stop sending stats."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def close(self) -> None:
        """The server is closing (:meth:`tether.Server.close_adapters`): stop the stats."""
        self.stop()


def instrument(
    io: Server,
    auth: Any,
    mode: Literal["development", "production"] = "development",
    read_only: bool = False,
    namespace_name: str = "/admin",
    server_id: str | None = None,
    max_sessions: int = 1000,
    ui_path: str | None = None,
) -> Instrumentation:
    """Let the official Socket.IO admin UI watch and act on ``io``.

    Args:
        io: the server.
        auth: ``False`` (anyone may connect: use with caution), or
            ``{"username": ..., "password": <bcrypt hash>}`` (needs the ``admin`` extra:
            ``pip install 'tether[admin]'``; refused at once without it), or a function of
            the client's auth dict returning whether it may in. A login gets a session id
            the UI reconnects with.
        mode: ``"development"``: every socket, room and event as it happens (each
            socket's ``data`` dict gets an ``_admin`` entry, its client id and transport,
            as Node's does: the other servers of a cluster list it from there);
            ``"production"``: the stats only, and the counts of the UI's charts
            (connections, packets, bytes: a few additions per message).
        read_only: refuse the UI's actions (emit, join, leave, disconnect).
        namespace_name: the namespace the UI connects to.
        server_id: this server's name in the UI (default: the host name, with the process
            id after ``#``).
        max_sessions: login sessions remembered (the oldest forgotten first).
        ui_path: serve the UI at this path too (``"/admin/"``; see :func:`serve_ui`).

    Call it before serving. The stats start with the server (:meth:`tether.Server.start`).
    """
    if mode not in ("development", "production"):
        raise ValueError("mode must be 'development' or 'production'")
    check = _auth_check(auth)
    if max_sessions < 1:
        raise ValueError("max_sessions must be >= 1")
    admin = io.of(namespace_name)
    development = mode == "development"
    if development:
        monitor = Monitor(admin)
        io.monitor = monitor
        io.engine.observe(monitor)
        for namespace in [*io.namespaces.values(), *(p for _, p in io._parents)]:
            namespace.monitor = monitor
    instrumentation = Instrumentation(
        io,
        admin,
        check,
        development,
        read_only,
        server_id or f"{socket_module.gethostname()}#{os.getpid()}",
        max_sessions,
    )
    io.session_class = _counted_session_class(io.session_class, instrumentation.events)
    io.startup_hooks.append(instrumentation.start)
    io.shutdown_hooks.append(instrumentation.close)
    _instrumented[io] = instrumentation
    if ui_path is not None:
        serve_ui(io, ui_path)
    return instrumentation


def instrumentation_of(io: Server) -> Instrumentation | None:
    """What :func:`instrument` set up on ``io``, if it was called."""
    return _instrumented.get(io)


def serve_ui(io: Server, path: str = "/admin/") -> None:
    """Serve the admin UI's page and files at ``path`` on the server's port (the files of
    ``tether bundle install``, shipped in the package). Log in with the server's URL (the
    page's own origin), the admin namespace and the credentials of :func:`instrument`."""
    from tether.aio.static import ADMIN_UI_DIR, AdminUi

    if not (ADMIN_UI_DIR / "index.html").is_file():
        log.warning(
            "the admin UI is missing from %s: install it with `tether bundle install`",
            ADMIN_UI_DIR,
        )
    io.router.apps.insert(0, AdminUi(path))
