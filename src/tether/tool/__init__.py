"""The socket testing tool in the browser: a page that connects to a Socket.IO server (tether
or Node's ``socket.io``), shows every event it receives and emits events with JSON (and binary)
arguments, with their acks.

Off until :func:`mount` is called (``tether serve app:io --tool`` does it); ``tether tool``
serves the page alone. The page is plain HTML, CSS and JavaScript modules (``static/``, in the
package) and uses the ``socket.io-client`` bundle the same server serves
(``<path>socket.io.min.js``, see :class:`tether.aio.static.ClientBundle`).
"""

from __future__ import annotations

import json
import logging
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

from tether.aio.static import STATIC_DIR, AdminUi, ClientBundle

if TYPE_CHECKING:
    from tether.http.exchange import Responder
    from tether.http.messages import Request
    from tether.server import Server

__all__ = ["TOOL_DIR", "ToolPage", "mount"]

log = logging.getLogger("tether.tool")

#: Where the page's files are (``tether/tool/static/``).
TOOL_DIR = Path(__file__).resolve().parent / "static"
_BUNDLE = "socket.io.min.js"


class ToolPage(AdminUi):
    """A mounted app (see :class:`tether.aio.listener.Router`) serving the tool's files under
    ``path`` as :class:`~tether.aio.static.AdminUi` serves the admin UI's, and
    ``<path>config.json``: where the client bundle is and the URL the connect form starts
    with."""

    def __init__(
        self, path: str, bundle: str, url: str | None = None, directory: Path = TOOL_DIR
    ) -> None:
        super().__init__(path, directory)
        self.config_path = self.base + "config.json"
        self.config = json.dumps({"bundle": bundle, "url": url}).encode()

    def handle_request(self, request: Request, responder: Responder) -> None:
        """The page's files, and its configuration."""
        if request.path != self.config_path:
            super().handle_request(request, responder)
            return
        if request.method not in ("GET", "HEAD"):
            responder.send(405, [("Allow", "GET, HEAD"), ("Content-Type", "text/plain")], b"")
            return
        headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
        responder.send(200, headers, b"" if request.method == "HEAD" else self.config)


def _bundle_path(io: Server) -> str | None:
    for app in io.router.apps:
        if isinstance(app, ClientBundle):
            for route, name in app.routes.items():
                if name == _BUNDLE:
                    return route
    return None


def mount(io: Server, path: str = "/tool/", *, url: str | None = None) -> ToolPage:
    """Serve the testing tool at ``path`` on the server's port (call it before serving).

    Args:
        io: the server; it must serve the client bundle (``serve_client=True``, the default):
            the page loads it from there.
        path: where the page is (``/tool/``; ``/tool`` redirects there).
        url: the server the connect form starts with (default: the page's own server).
    """
    bundle = _bundle_path(io)
    if bundle is None:
        raise ValueError("the testing tool loads the client bundle: serve_client must be True")
    if not (STATIC_DIR / _BUNDLE).is_file():
        log.warning(
            "the socket.io-client bundle is missing: install it with `tether bundle install`"
        )
    page = ToolPage(path, "", url)
    # Relative to the page: still right behind a proxy that mounts the server under a prefix.
    page.config = json.dumps({"bundle": posixpath.relpath(bundle, page.base), "url": url}).encode()
    io.router.apps.insert(0, page)
    return page
