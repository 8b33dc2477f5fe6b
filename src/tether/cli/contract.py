"""``tether typegen`` and ``tether asyncapi``: the contract of an app, handed to clients."""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tether.cli.app import load_app

if TYPE_CHECKING:
    from tether.contract.model import Contract


def load_contract(target: str) -> Contract:
    """The contract of the :class:`tether.Server` (or :class:`tether.ASGIApp` of one) named
    by ``module:attribute``, or made by the function it names (called without arguments:
    an app factory such as ``tether.demo.chat:create_app``)."""
    from tether.aio.asgi import ASGIApp
    from tether.contract.model import contract_of
    from tether.server import Server
    from tether.typed.signature import SignatureError

    app = load_app(target)
    if inspect.isfunction(app) or inspect.ismethod(app):
        app = app()
    if isinstance(app, ASGIApp) and isinstance(app.io, Server):
        app = app.io
    if not isinstance(app, Server):
        raise SystemExit(f"tether: {target} is not a tether.Server nor a tether.ASGIApp of one")
    try:
        return contract_of(app)
    except SignatureError as error:
        raise SystemExit(f"tether: {error}") from None


def _write(text: str, output: str | None) -> None:
    if output is None or output == "-":
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")


def _typegen(args: argparse.Namespace) -> int:
    from tether.contract.schema import ContractError
    from tether.contract.typescript import generate_typescript

    try:
        text = generate_typescript(load_contract(args.app))
    except ContractError as error:
        raise SystemExit(f"tether typegen: {error}") from None
    _write(text, args.output)
    return 0


def _asyncapi(args: argparse.Namespace) -> int:
    from tether.contract.asyncapi import dump_json, generate_asyncapi
    from tether.contract.schema import ContractError

    try:
        document = generate_asyncapi(
            load_contract(args.app), title=args.title or args.app, version=args.api_version
        )
    except ContractError as error:
        raise SystemExit(f"tether asyncapi: {error}") from None
    _write(dump_json(document), args.output)
    return 0


def register_contract_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``typegen`` and ``asyncapi`` to the ``tether`` command's subparsers."""
    app_help = (
        "module:attribute of a tether.Server, of a tether.ASGIApp of one, or of a function "
        "returning one (called without arguments)"
    )
    typegen = commands.add_parser(
        "typegen",
        help="write socket.io-client's typed-event interfaces (TypeScript) of an app",
        description="Write the TypeScript interfaces (ServerToClientEvents, "
        "ClientToServerEvents, per namespace) of an app's annotated handlers and declared "
        "events, for io<ServerToClientEvents, ClientToServerEvents>() of socket.io-client. "
        "Needs pydantic: pip install 'tether[typed]'.",
    )
    typegen.add_argument("app", help=app_help)
    typegen.add_argument("-o", "--output", help="the .d.ts file to write (default: stdout)")
    typegen.set_defaults(func=_typegen)
    asyncapi = commands.add_parser(
        "asyncapi",
        help="write the AsyncAPI 3.0 document (JSON) of an app's events",
        description="Write an AsyncAPI 3.0 document (JSON) of an app's annotated handlers "
        "and declared events: a channel per namespace, an operation per event, a reply per "
        "acknowledgement. Needs pydantic: pip install 'tether[typed]'.",
    )
    asyncapi.add_argument("app", help=app_help)
    asyncapi.add_argument("-o", "--output", help="the file to write (default: stdout)")
    asyncapi.add_argument(
        "--format",
        choices=["json"],
        default="json",
        help="json (AsyncAPI tools read JSON as well as YAML)",
    )
    asyncapi.add_argument("--title", help="the document's info.title (default: the app)")
    asyncapi.add_argument(
        "--api-version", default="1.0.0", help="the document's info.version (default 1.0.0)"
    )
    asyncapi.set_defaults(func=_asyncapi)
