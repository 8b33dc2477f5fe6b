"""The official ``socket.io-client`` browser bundle, served by tether (Node's ``serveClient``).

The bundle is not part of the repository: the package build puts the pinned npm release into
``tether/static/`` (:mod:`tether.cli.bundle`), and ``tether bundle install`` does it for an
installed package that lacks it. :class:`ClientBundle` answers ``<path>socket.io.js``,
``socket.io.min.js``, ``socket.io.esm.min.js``, ``socket.io.msgpack.min.js`` and their ``.map``
files with an ``ETag`` (304 on ``If-None-Match``) and gzip when the client accepts it; 404
when the files are absent.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from tether.http.compression import preferred_coding
from tether.http.exchange import Responder, Upgrade
from tether.http.messages import Request

#: Where the bundle files are (``tether/static/`` in the package).
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
#: The files served (those of :data:`tether.cli.bundle.FILES`).
BUNDLE_FILES = (
    "socket.io.js",
    "socket.io.min.js",
    "socket.io.js.map",
    "socket.io.min.js.map",
    "socket.io.esm.min.js",
    "socket.io.esm.min.js.map",
    "socket.io.msgpack.min.js",
    "socket.io.msgpack.min.js.map",
)
_JS = "application/javascript; charset=utf-8"
_MAP = "application/json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class _Cached:
    stamp: tuple[int, int]
    body: bytes
    gzipped: bytes
    etag: str


class ClientBundle:
    """A mounted app (see :class:`tether.aio.listener.Router`) serving the client bundle
    under ``path`` (the Socket.IO path, ``/socket.io/`` by default)."""

    def __init__(self, path: str = "/socket.io/", directory: Path = STATIC_DIR) -> None:
        base = path if path.endswith("/") else path + "/"
        self.directory = directory
        self.routes = {base + name: name for name in BUNDLE_FILES}
        self._cache: dict[str, _Cached] = {}

    def handles(self, path: str) -> bool:
        """Whether ``path`` names one of the bundle files."""
        return path in self.routes

    def _load(self, name: str) -> _Cached | None:
        file = self.directory / name
        try:
            info = file.stat()
        except OSError:
            return None
        stamp = (info.st_mtime_ns, info.st_size)
        cached = self._cache.get(name)
        if cached is None or cached.stamp != stamp:
            body = file.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            cached = self._cache[name] = _Cached(stamp, body, gzip.compress(body, 6), etag)
        return cached

    def handle_request(self, request: Request, responder: Responder) -> None:
        """Answer GET/HEAD with the file, 304 when the ETag matches, 404 when absent."""
        name = self.routes[request.path]
        if request.method not in ("GET", "HEAD"):
            responder.send(405, [("Allow", "GET, HEAD"), ("Content-Type", "text/plain")], b"")
            return
        cached = self._load(name)
        if cached is None:
            responder.send(404, [("Content-Type", "text/plain")], b"Not Found")
            return
        headers = [
            ("Content-Type", _MAP if name.endswith(".map") else _JS),
            ("ETag", cached.etag),
            ("Cache-Control", "public, max-age=0"),
            ("Vary", "Accept-Encoding"),
        ]
        wanted = request.headers.get("if-none-match", "")
        if cached.etag in (tag.strip() for tag in wanted.split(",")):
            responder.send(304, headers)
            return
        body = cached.body
        if preferred_coding(request.headers.get("accept-encoding", ""), ("gzip",)):
            headers.append(("Content-Encoding", "gzip"))
            body = cached.gzipped
        responder.send(200, headers, b"" if request.method == "HEAD" else body)

    def handle_upgrade(self, upgrade: Upgrade) -> None:
        """No WebSocket here."""
        upgrade.reject(400, [("Content-Type", "text/plain")], b"Bad Request")
