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

from tether._compiled import mypyc_attr
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


@mypyc_attr(allow_interpreted_subclasses=True)
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


#: Where the admin UI's files are (``tether/static/socket.io-admin-ui/``: the ``ui/dist`` of
#: ``@socket.io/admin-ui``, see :data:`tether.cli.bundle.ADMIN_UI`).
ADMIN_UI_DIR = STATIC_DIR / "socket.io-admin-ui"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": _JS,
    ".map": _MAP,
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".json": _MAP,
}


@mypyc_attr(allow_interpreted_subclasses=True)
class AdminUi:
    """A mounted app serving the official admin UI (:mod:`tether.admin`) under ``path``
    (``/admin/``): ``path`` answers its ``index.html``, ``path`` without its slash redirects
    there, and the UI's files are served with an ``ETag`` and gzip as the client bundle is.
    Only regular files inside the directory are served (no ``..``, no symbolic link out);
    404 when the UI is not installed (``tether bundle install``)."""

    def __init__(self, path: str = "/admin/", directory: Path = ADMIN_UI_DIR) -> None:
        self.base = path if path.endswith("/") else path + "/"
        self.directory = directory
        self._files = ClientBundle(self.base, directory)

    def handles(self, path: str) -> bool:
        """Whether ``path`` is under the UI's path (or is that path without its slash)."""
        return path.startswith(self.base) or path == self.base[:-1]

    def _name(self, path: str) -> str | None:
        name = path[len(self.base) :] or "index.html"
        parts = name.split("/")
        if any(part in ("", ".", "..") or "\\" in part or "\x00" in part for part in parts):
            return None
        file = self.directory / name
        try:
            root = self.directory.resolve(strict=True)
            if not file.resolve(strict=True).is_relative_to(root) or not file.is_file():
                return None
        except OSError:
            return None
        return name

    def handle_request(self, request: Request, responder: Responder) -> None:
        """The UI's files; a redirect from the path without its slash."""
        if request.path == self.base[:-1]:
            responder.send(301, [("Location", self.base), ("Content-Type", "text/plain")], b"")
            return
        if request.method not in ("GET", "HEAD"):
            responder.send(405, [("Allow", "GET, HEAD"), ("Content-Type", "text/plain")], b"")
            return
        name = self._name(request.path)
        cached = self._files._load(name) if name is not None else None
        if name is None or cached is None:
            responder.send(404, [("Content-Type", "text/plain")], b"Not Found")
            return
        suffix = Path(name).suffix
        headers = [
            ("Content-Type", _TYPES.get(suffix, "application/octet-stream")),
            ("ETag", cached.etag),
            ("Cache-Control", "public, max-age=0"),
            ("Vary", "Accept-Encoding"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        wanted = request.headers.get("if-none-match", "")
        if cached.etag in (tag.strip() for tag in wanted.split(",")):
            responder.send(304, headers)
            return
        body = cached.body
        if suffix not in (".png",) and preferred_coding(
            request.headers.get("accept-encoding", ""), ("gzip",)
        ):
            headers.append(("Content-Encoding", "gzip"))
            body = cached.gzipped
        responder.send(200, headers, b"" if request.method == "HEAD" else body)

    def handle_upgrade(self, upgrade: Upgrade) -> None:
        """No WebSocket here."""
        upgrade.reject(400, [("Content-Type", "text/plain")], b"Bad Request")
