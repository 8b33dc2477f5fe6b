"""Runs the Python samples of one page, in order, in one namespace: ``python
tests/docs/run_page.py BLOCKS.json`` (a list of ``{"name", "code"}``).

Prints ``@@block N`` before block N, ``@@done`` at the end; an exception prints its traceback
and ``@@failed N``, exit status 1. A server a sample starts (``io.run``, Engine.IO's ``run``,
``uvicorn.run``) really serves, on 127.0.0.1 and a free port, and prints
``@@serving PORT KIND PATH`` (KIND: ``socket.io`` or ``engine.io``); the test connects a
client to it, then sends SIGINT, which stops it as Ctrl+C would, and the page goes on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import traceback
import types
from pathlib import Path
from typing import Any

import tether.aio.listener
import tether.server
from tether.aio.engine import EngineServer


def describe(app: Any) -> tuple[str, str]:
    """The kind and path of what ``app`` (a Router, an ASGIApp) serves."""
    router = getattr(getattr(app, "io", None), "router", app)
    for mounted in getattr(router, "apps", []):
        if isinstance(mounted, EngineServer):
            kind = "socket.io" if isinstance(mounted.handler, tether.server.Server) else "engine.io"
            return kind, mounted.options.path
    raise RuntimeError(f"the sample serves something unknown: {app!r}")


original_run = tether.aio.listener.run


def run(app: Any, host: str = "127.0.0.1", port: int = 3000, **options: Any) -> None:
    kind, path = describe(app)
    on_ready = options.pop("on_ready", None)

    def ready(listener: Any) -> None:
        if on_ready is not None:
            on_ready(listener)
        print(f"@@serving {listener.port} {kind} {path}", flush=True)

    original_run(app, "127.0.0.1", 0, on_ready=ready, **options)


tether.aio.listener.run = run
tether.server.run = run  # type: ignore[attr-defined]

try:
    import uvicorn
except ImportError:  # pragma: no cover - uvicorn is in the dev extra
    uvicorn = None
else:
    original_uvicorn_run = uvicorn.run

    def uvicorn_run(app: Any, **options: Any) -> None:
        kind, path = describe(app)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        options.update(host="127.0.0.1", port=port, log_level="warning")
        # uvicorn prints nothing when it is ready: the test retries until it connects.
        print(f"@@serving {port} {kind} {path}", flush=True)
        # uvicorn raises the captured SIGINT again once it has shut down
        with contextlib.suppress(KeyboardInterrupt):
            original_uvicorn_run(app, **options)

    uvicorn.run = uvicorn_run


class ErrorLog(logging.Handler):
    """Errors logged while the samples run (an exception in a handler is logged, and the
    connection carries on: a sample that logs one fails all the same)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        print(f"@@logged {record.name}: {self.format(record)}", flush=True)


def main() -> int:
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    blocks = json.loads(Path(sys.argv[1]).read_text())
    # The namespace is the dict of a module registered as __main__, as a script's is: what
    # looks names up through a class's module (pydantic, for one) finds the page's names.
    main_module = types.ModuleType("__main__")
    sys.modules["__main__"] = main_module
    namespace: dict[str, Any] = main_module.__dict__
    for n, block in enumerate(blocks):
        print(f"@@block {n}", flush=True)
        try:
            # dont_inherit: a sample runs as the script it shows, without this file's
            # `from __future__ import annotations` (its TypedDicts' annotations evaluated)
            code = compile(block["code"], block["name"], "exec", dont_inherit=True)
            exec(code, namespace)
        except BaseException:
            traceback.print_exc(file=sys.stdout)
            print(f"@@failed {n}", flush=True)
            return 1
        sys.stdout.flush()
        if errors.records:
            print(f"@@failed {n}: it logged errors", flush=True)
            return 1
    print("@@done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
