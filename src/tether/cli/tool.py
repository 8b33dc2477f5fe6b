"""``tether tool``: the Socket.IO testing tool (:mod:`tether.tool`) served alone, on a local port."""

from __future__ import annotations

import argparse
import threading
import webbrowser

from tether.aio.listener import Listener

#: The port ``tether tool`` serves on unless told: profiles and history live in the browser's
#: storage of the page's origin, so a fixed port keeps them.
DEFAULT_PORT = 8700
#: The server the connect form starts with: ``tether serve``'s default.
DEFAULT_URL = "http://localhost:3000"


def _run(args: argparse.Namespace) -> int:
    from tether import tool
    from tether.server import Server

    io = Server()
    tool.mount(io, "/tool/", url=args.url)

    def ready(listener: Listener) -> None:
        host = f"[{args.host}]" if ":" in args.host else args.host
        url = f"http://{host}:{listener.port}/tool/"
        print(f"tether tool: open {url}", flush=True)
        print("Press Ctrl+C to stop.", flush=True)
        if args.open:
            # In a thread: a text-mode browser would hold the server's loop.
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()

    io.run(args.host, args.port, on_ready=ready)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``tool`` to the ``tether`` command's subparsers."""
    parser = subparsers.add_parser(
        "tool",
        help="serve the Socket.IO testing tool in the browser (connect, listen, emit)",
        description="Serve the Socket.IO testing tool: a page that connects to a Socket.IO "
        "server, shows the events it receives and emits events, with their acks.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"the port (default {DEFAULT_PORT}; 0: a free one). The page keeps its profiles "
        "per origin: the same port finds them again",
    )
    parser.add_argument(
        "--url",
        default=DEFAULT_URL,
        help=f"the server the connect form starts with (default {DEFAULT_URL})",
    )
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    parser.set_defaults(func=_run)
