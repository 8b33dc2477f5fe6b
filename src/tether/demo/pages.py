"""The demo's pages: ``/`` (the chat), ``/hello`` (proof of life) and ``/static/*``."""

from __future__ import annotations

from pathlib import Path

from tether.http.exchange import Responder, Upgrade
from tether.http.messages import Request

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


class Pages:
    """A mounted app serving the files of one directory (no listing, no subdirectories)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.routes = {"/": "index.html", "/hello": "hello.html"}

    def handles(self, path: str) -> bool:
        """``/``, ``/hello``, ``/favicon.ico`` and ``/static/<file>``."""
        return path in self.routes or path == "/favicon.ico" or path.startswith("/static/")

    def handle_request(self, request: Request, responder: Responder) -> None:
        """Answer with the file, or 404."""
        if request.path == "/favicon.ico":
            responder.send(204, [("Cache-Control", "max-age=86400")])
            return
        name = self.routes.get(request.path) or request.path.removeprefix("/static/")
        file = self.directory / name
        if request.method not in ("GET", "HEAD") or "/" in name or name.startswith("."):
            responder.send(404, [("Content-Type", "text/plain")], b"Not Found")
            return
        try:
            body = file.read_bytes()
        except OSError:
            responder.send(404, [("Content-Type", "text/plain")], b"Not Found")
            return
        headers = [
            ("Content-Type", TYPES.get(file.suffix, "application/octet-stream")),
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        responder.send(200, headers, b"" if request.method == "HEAD" else body)

    def handle_upgrade(self, upgrade: Upgrade) -> None:
        """No WebSocket here."""
        upgrade.reject(404, [("Content-Type", "text/plain")], b"Not Found")
