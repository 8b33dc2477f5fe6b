"""Health checks for load balancers and Kubernetes probes: ``/healthz`` and ``/readyz``.

:func:`enable` mounts them on the server's port (off until it is called):

- ``/healthz`` (liveness): 200 while the process answers HTTP at all.
- ``/readyz`` (readiness): 200 when the server has started (its adapters ready, see
  :meth:`tether.Server.start`), its cluster adapter's link (Redis) is up and it is not
  shutting down; else 503. The body is JSON: ``{"ready": ..., "checks": {...}}``, each
  check ``true`` or ``false``.

Both answer GET and HEAD, never cached.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.http.exchange import Responder, Upgrade
    from tether.http.messages import Request
    from tether.server import Server

_HEADERS = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]


class HealthChecks:
    """A mounted app (see :class:`tether.aio.listener.Router`) answering the two paths."""

    def __init__(self, io: Server, live: str = "/healthz", ready: str = "/readyz") -> None:
        self.io = io
        self.live = live
        self.ready = ready
        self.started = False
        self.stopping = False

    async def _on_start(self) -> None:
        self.started = True

    def handles(self, path: str) -> bool:
        """Whether ``path`` is one of the two."""
        return path == self.live or path == self.ready

    def checks(self) -> dict[str, bool]:
        """What readiness is made of."""
        link: Any = getattr(getattr(self.io, "_adapter_factory", None), "link", None)
        return {
            "started": self.started,
            "adapter": link is None or bool(link.connected),
            "not_shutting_down": not self.stopping,
        }

    def handle_request(self, request: Request, responder: Responder) -> None:
        """200 or 503, with the checks."""
        if request.method not in ("GET", "HEAD"):
            responder.send(405, [("Allow", "GET, HEAD"), ("Content-Type", "text/plain")], b"")
            return
        body: dict[str, Any]
        if request.path == self.live:
            status, body = 200, {"alive": True}
        else:
            checks = self.checks()
            ready = all(checks.values())
            status, body = (200 if ready else 503), {"ready": ready, "checks": checks}
        data = json.dumps(body).encode()
        responder.send(status, _HEADERS, b"" if request.method == "HEAD" else data)

    def handle_upgrade(self, upgrade: Upgrade) -> None:
        """No WebSocket here."""
        upgrade.reject(400, [("Content-Type", "text/plain")], b"Bad Request")

    def shutdown(self) -> None:
        """The server is stopping (called by the listener): not ready any more."""
        self.stopping = True


def enable(io: Server, live: str = "/healthz", ready: str = "/readyz") -> HealthChecks:
    """Answer ``live`` and ``ready`` on the server's port (call it before serving)."""
    checks = HealthChecks(io, live, ready)
    io.startup_hooks.append(checks._on_start)
    io.router.apps.insert(0, checks)
    return checks
