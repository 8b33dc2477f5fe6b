"""The ``tether`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tether.aio.listener import Listener
from tether.cli.app import load_served
from tether.cli.bundle import register as register_bundle_commands
from tether.cli.console import register as register_client_commands
from tether.cli.contract import register_contract_commands
from tether.cli.logs import configure as configure_logging
from tether.cli.tool import register as register_tool_commands


def _demo(args: argparse.Namespace) -> int:
    import os

    from tether.aio.static import STATIC_DIR
    from tether.demo.chat import ENV_DB, ENV_REDIS, ChatState, create_app

    if args.redis:
        try:
            import redis  # noqa: F401
        except ImportError:
            raise SystemExit(
                "tether demo chat: --redis needs the redis extra: pip install 'tether[redis]'"
            ) from None
    db = args.db if args.db == ":memory:" else os.path.abspath(args.db)
    scheme = "https" if args.certfile else "http"

    def announce(port: int) -> None:
        print(f"tether demo chat: open {scheme}://{args.host}:{port}/", flush=True)
        if not (STATIC_DIR / "socket.io.min.js").is_file():
            print(
                f"tether demo: the socket.io-client bundle is missing from {STATIC_DIR};\n"
                "  install it with: tether bundle install",
                file=sys.stderr,
                flush=True,
            )
        print("Press Ctrl+C to stop.", flush=True)

    if args.workers > 1:
        if db == ":memory:":
            raise SystemExit("tether demo chat: --workers share the chat through a --db file")
        if args.certfile:
            raise SystemExit("tether: --workers serves plain HTTP; terminate TLS in front of it")
        from tether.cli.workers import run_workers

        os.environ[ENV_DB] = db
        if args.redis:
            os.environ[ENV_REDIS] = args.redis
        run_workers(
            "tether.demo.worker:io",
            args.host,
            args.port,
            args.workers,
            on_ready=announce,
            log_level=args.log_level,
        )
        return 0

    adapter = None
    if args.redis:
        from tether.adapters.redis.streams import create_adapter

        adapter = create_adapter(args.redis)
    state = ChatState(db=db)
    io = create_app(store=state, adapter=adapter)
    try:
        io.run(
            args.host,
            args.port,
            certfile=args.certfile,
            keyfile=args.keyfile,
            on_ready=lambda listener: announce(listener.port),
        )
    finally:
        state.history.close_now()
    return 0


def _admin(io: object, args: argparse.Namespace) -> None:
    """``--admin``: the admin UI at ``/admin/``; an app not instrumented yet is, with the
    credentials of ``TETHER_ADMIN_USER`` (default ``admin``) and
    ``TETHER_ADMIN_PASSWORD_HASH`` (a bcrypt hash)."""
    import os

    from tether.admin import instrument, instrumentation_of, serve_ui
    from tether.server import Server

    assert isinstance(io, Server)
    if args.workers > 1:
        raise SystemExit(
            "tether: --admin with --workers: call tether.admin.instrument(io, ..., "
            'ui_path="/admin/") in the app instead'
        )
    if instrumentation_of(io) is None:
        password = os.environ.get("TETHER_ADMIN_PASSWORD_HASH")
        if not password:
            raise SystemExit(
                "tether: --admin needs TETHER_ADMIN_PASSWORD_HASH (a bcrypt hash of the "
                "password; user TETHER_ADMIN_USER, default admin), or an app that calls "
                "tether.admin.instrument(io, auth=...)"
            )
        user = os.environ.get("TETHER_ADMIN_USER", "admin")
        try:
            instrument(io, auth={"username": user, "password": password})
        except (ValueError, RuntimeError) as error:
            raise SystemExit(f"tether: --admin: {error}") from None
    serve_ui(io, "/admin/")


def _serve(args: argparse.Namespace) -> int:
    from tether.aio.asgi_host import LifespanFailed
    from tether.aio.listener import make_ssl_context, run

    served = load_served(args.app, args.root_path)
    io = served.io
    if args.admin:
        _admin(io, args)
    if args.tool:
        from tether.tool import mount as mount_tool

        if args.workers > 1:
            raise SystemExit("tether: --tool with --workers: call tether.tool.mount(io) in the app")
        try:
            mount_tool(io)
        except ValueError as error:
            raise SystemExit(f"tether: --tool: {error}") from None
    if args.metrics or args.health:
        if args.workers > 1:
            raise SystemExit(
                "tether: --metrics and --health with --workers: call tether.metrics.enable(io) "
                "and tether.health.enable(io) in the app instead"
            )
        if args.metrics:
            from tether.metrics import enable as enable_metrics

            try:
                enable_metrics(io, path=args.metrics)
            except RuntimeError as error:
                raise SystemExit(f"tether: --metrics: {error}") from None
        if args.health:
            from tether.health import enable as enable_health

            enable_health(io)
    if args.workers > 1:
        if args.certfile:
            raise SystemExit("tether: --workers serves plain HTTP; terminate TLS in front of it")
        from tether.cli.workers import run_workers

        def workers_ready(port: int) -> None:
            print(
                f"tether: serving {args.app} on http://{args.host}:{port} "
                f"with {args.workers} workers",
                flush=True,
            )

        run_workers(
            args.app,
            args.host,
            args.port,
            args.workers,
            on_ready=workers_ready,
            log_level=args.log_level,
            root_path=args.root_path,
        )
        return 0

    def ready(listener: Listener) -> None:
        scheme = "https" if args.certfile else "http"
        print(f"tether: serving {args.app} on {scheme}://{args.host}:{listener.port}", flush=True)

    try:
        run(
            served.http_app,
            args.host,
            args.port,
            ssl=make_ssl_context(args.certfile, args.keyfile) if args.certfile else None,
            limits=served.io.http_limits,
            on_ready=ready,
            on_startup=served.startup,
            on_shutdown=served.close,
        )
    except LifespanFailed as exc:
        raise SystemExit(f"tether: {exc}") from None
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tether`` command."""
    parser = argparse.ArgumentParser(prog="tether", description="Socket.IO for Python.")
    parser.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=None,
        help="text (default) or json: one JSON object a line",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="start the demo: tether demo [chat]")
    demo.add_argument("app", nargs="?", default="chat", choices=["chat"], help="the demo (chat)")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--certfile")
    demo.add_argument("--keyfile")
    demo.add_argument(
        "--db",
        default="tether-chat.db",
        help="SQLite file of the history and channels (default ./tether-chat.db; :memory: for none)",
    )
    demo.add_argument(
        "--workers", type=int, default=1, help="worker processes on the one port (default 1)"
    )
    demo.add_argument(
        "--redis", help="a Redis URL: share the chat with other servers through Redis"
    )
    demo.set_defaults(func=_demo)
    serve = commands.add_parser(
        "serve", help="serve a tether.Server or a tether.ASGIApp: tether serve module:attr"
    )
    serve.add_argument(
        "app",
        help="module:attribute of a tether.Server, or of a tether.ASGIApp(io, other_asgi_app=...) "
        "(the other app is hosted by the native server; Socket.IO stays on the fast path)",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--certfile")
    serve.add_argument("--keyfile")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes on the one port; no sticky sessions needed (default 1)",
    )
    serve.add_argument(
        "--root-path",
        default="",
        help="the ASGI root_path of the hosted app (the prefix a proxy mounts it under)",
    )
    serve.add_argument(
        "--admin",
        action="store_true",
        help="serve the Socket.IO admin UI at /admin/ (see tether.admin)",
    )
    serve.add_argument(
        "--tool",
        action="store_true",
        help="serve the Socket.IO testing tool at /tool/ (see tether.tool)",
    )
    serve.add_argument(
        "--metrics",
        nargs="?",
        const="/metrics",
        metavar="PATH",
        help="Prometheus metrics at PATH (default /metrics; see tether.metrics)",
    )
    serve.add_argument(
        "--health", action="store_true", help="answer /healthz and /readyz (see tether.health)"
    )
    serve.set_defaults(func=_serve)
    register_client_commands(commands)
    register_bundle_commands(commands)
    register_tool_commands(commands)
    register_contract_commands(commands)
    args = parser.parse_args(argv)
    configure_logging(args.log_level, args.log_format)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
