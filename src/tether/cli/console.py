"""``tether client`` and ``tether emit``: a Socket.IO client on the command line.

``tether client URL`` is interactive (the terminal peer of the browser "socket.io client
tool"): it prints every event received, with a timestamp, and sends what is typed::

    chat {"text": "hi"}        emit "chat" with one argument (JSON values separated by spaces)
    emit echo 1 2 three        the same with the ``emit`` keyword; a bare word is a string
    ack echo "x"               emit and wait for the ack, then print it
    /admin ping                a leading namespace (one given with -n) sends there
    help, quit

``tether emit URL EVENT [ARGS...] [--ack]`` is for scripts: it connects, emits once, prints
the ack as JSON with ``--ack``, and exits non-zero with a message on stderr on failure.

Runs as ``python -m tether.cli.console client URL`` too; :func:`register` adds both commands
to the ``tether`` parser.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from tether.client import Client, ConnectError
from tether.errors import AckTimeoutError, DisconnectedError

#: How many bytes of a binary argument are shown in hex.
HEX_PREVIEW = 16

HELP = """\
commands:
  EVENT [ARGS...]        emit EVENT; ARGS are JSON values separated by spaces,
                         a bare word that is not JSON is a string: chat {"text": "hi"}
  emit EVENT [ARGS...]   the same (for an event named like a command)
  ack EVENT [ARGS...]    emit and wait for the ack, then print it
  /NSP ...               any of the above in namespace /NSP (given with -n)
  help                   this text
  quit                   disconnect and leave (Ctrl+D too)"""


class InputError(ValueError):
    """A line or an argument that cannot be parsed."""


# -- parsing --------------------------------------------------------------------------------

_DECODER = json.JSONDecoder()
_JSON_OPENERS = '{["'


def parse_value(token: str) -> Any:
    """One command-line argument: JSON if it parses, else the bare word as a string."""
    try:
        return json.loads(token)
    except ValueError:
        if token[:1] in _JSON_OPENERS:
            raise InputError(f"invalid JSON: {token}") from None
        return token


def parse_values(text: str) -> list[Any]:
    """JSON values separated by whitespace; a bare word that is not JSON is a string."""
    values: list[Any] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos == end:
            return values
        try:
            value, stop = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            if text[pos] in _JSON_OPENERS:
                raise InputError(f"invalid JSON at column {exc.pos + 1}: {exc.msg}") from None
        else:
            if stop == end or text[stop].isspace():
                values.append(value)
                pos = stop
                continue
            if text[pos] in _JSON_OPENERS:
                raise InputError(f"invalid JSON at column {stop + 1}: expected a space")
        stop = pos
        while stop < end and not text[stop].isspace():
            stop += 1
        values.append(text[pos:stop])
        pos = stop


def parse_headers(items: Sequence[str]) -> list[tuple[str, str]]:
    headers = []
    for item in items:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise InputError(f"invalid header {item!r}: expected NAME:VALUE")
        headers.append((name.strip(), value.strip()))
    return headers


def parse_auth(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        auth = json.loads(text)
    except ValueError as exc:
        raise InputError(f"invalid --auth JSON: {exc}") from None
    if not isinstance(auth, dict):
        raise InputError("--auth must be a JSON object")
    return auth


def parse_transports(text: str) -> list[str]:
    transports = [t.strip() for t in text.split(",") if t.strip()]
    if not transports or any(t not in ("polling", "websocket") for t in transports):
        raise InputError(f"invalid --transports {text!r}: use polling,websocket|websocket|polling")
    return transports


# -- rendering ------------------------------------------------------------------------------


def render_bytes(data: bytes) -> str:
    preview = data[:HEX_PREVIEW].hex(" ")
    more = " ..." if len(data) > HEX_PREVIEW else ""
    return f"<binary {len(data)} bytes: {preview}{more}>"


def render(value: Any, indent: int | None = 2) -> str:
    """Pretty JSON; bytes (anywhere inside) as their size and the first bytes in hex."""
    blobs: list[bytes] = []

    def strip(item: Any) -> Any:
        if isinstance(item, bytes | bytearray | memoryview):
            blobs.append(bytes(item))
            return f"\x00blob{len(blobs) - 1}\x00"
        if isinstance(item, dict):
            return {str(k): strip(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [strip(v) for v in item]
        return item

    text = json.dumps(strip(value), indent=indent, ensure_ascii=False, default=repr)
    for i, blob in enumerate(blobs):
        text = text.replace(f'"\\u0000blob{i}\\u0000"', render_bytes(blob))
    return text


def render_args(args: Sequence[Any]) -> str:
    return " ".join(render(arg) for arg in args)


def stamp() -> str:
    now = time.time()
    return time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"


# -- the interactive tool -------------------------------------------------------------------


class Console:
    """Prints above the prompt; reads lines on a thread of its own (``readline`` on a TTY)."""

    prompt = "> "

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self.tty = sys.stdin.isatty() and sys.stdout.isatty()
        self.readline: Any = None
        if self.tty:
            with contextlib.suppress(ImportError):
                import readline

                self.readline = readline
        self.reading = False
        self.resume = threading.Event()
        self.closed = False

    def start(self) -> None:
        threading.Thread(target=self._read, name="tether-client-stdin", daemon=True).start()

    def close(self) -> None:
        """Leaving: end the line being typed, redraw no prompt."""
        if self.tty and self.reading and not self.closed:
            sys.stdout.write("\n")
            sys.stdout.flush()
        self.closed = True

    def next_line(self) -> None:
        """The last line was handled: read the next one."""
        self.resume.set()

    def _read(self) -> None:
        # One line at a time: the next is read once the loop has handled this one, so that
        # nothing is reading (with the terminal in readline's mode) after ``quit``.
        line: str | None
        while True:
            self.resume.clear()
            try:
                self.reading = True
                line = input(self.prompt) if self.tty else sys.stdin.readline() or None
            except (EOFError, KeyboardInterrupt, ValueError, OSError):
                line = None
            finally:
                self.reading = False
            self.loop.call_soon_threadsafe(self.lines.put_nowait, line)
            if line is None:
                return
            self.resume.wait()

    def show(self, text: str, *, error: bool = False) -> None:
        """One message, timestamped, without breaking the line being typed."""
        lines = f"[{stamp()}] {text}"
        if not self.tty:
            print(lines, file=sys.stderr if error else sys.stdout, flush=True)
            return
        typed = self.readline.get_line_buffer() if self.readline is not None else ""
        out = "\r\x1b[K" + lines + "\n"  # the terminal turns \n into \r\n
        if self.reading and not self.closed:
            out += self.prompt + typed
        sys.stdout.write(out)
        sys.stdout.flush()


class Session:
    """One ``tether client`` run: the client, its handlers, the commands typed."""

    def __init__(self, args: argparse.Namespace, console: Console) -> None:
        self.args = args
        self.console = console
        self.namespaces: list[str] = args.namespace or ["/"]
        self.client = Client(ssl=False if args.insecure else None, parser=args.parser)
        self.acks = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self._register()

    def _register(self) -> None:
        client, show = self.client, self.console.show
        for ns in self.namespaces:
            client.on_any(self._event_printer(ns), namespace=ns)
            client.on("connect", self._connected_printer(ns), namespace=ns)
            client.on(
                "connect_error",
                lambda data, ns=ns: show(f"connect_error ({ns}): {render(data, None)}", error=True),
                namespace=ns,
            )
            client.on(
                "disconnect",
                lambda reason, ns=ns: show(f"disconnected ({ns}): {reason}"),
                namespace=ns,
            )
        client.on("reconnect_attempt", lambda n: show(f"reconnecting (attempt {n}) ..."))
        client.on("reconnect_error", lambda exc: show(f"reconnect failed: {exc}", error=True))
        client.on("reconnect_failed", lambda: show("gave up reconnecting", error=True))
        client.on(
            "reconnect",
            lambda n: show(
                f"reconnected after {n} attempt(s) over {client.transport}; "
                f"session recovered: {'yes' if client.recovered else 'no'}"
            ),
        )

    def _event_printer(self, ns: str) -> Callable[..., None]:
        where = "" if ns == "/" else f"{ns} "

        def printed(event: Any, *args: Any) -> None:
            self.console.show(f"<- {where}{event} {render_args(args)}".rstrip())

        return printed

    def _connected_printer(self, ns: str) -> Callable[[], None]:
        def printed() -> None:
            self.console.show(
                f"connected to {ns} as {self.client.get_sid(ns)} over {self.client.transport}"
            )

        return printed

    async def run(self) -> int:
        args = self.args
        try:
            await self.client.connect(
                args.url,
                namespaces=self.namespaces,
                auth=parse_auth(args.auth),
                headers=parse_headers(args.header),
                transports=parse_transports(args.transports),
                wait_timeout=args.timeout,
            )
        except (ConnectError, InputError, ValueError) as exc:
            return fail(exc)
        self.console.show('type "help" for the commands')
        self.console.start()
        done = asyncio.ensure_future(self.client.wait())
        try:
            while True:
                line = asyncio.ensure_future(self.console.lines.get())
                await asyncio.wait({line, done}, return_when=asyncio.FIRST_COMPLETED)
                if not line.done():
                    line.cancel()
                    self.console.show("disconnected for good", error=True)
                    return 1
                text = line.result()
                if text is None or not self.command(text):
                    return 0
                self.console.next_line()
        finally:
            done.cancel()
            self.console.close()
            for task in list(self.tasks):
                task.cancel()
            await self.client.disconnect()

    def command(self, line: str) -> bool:
        """Run one typed line; ``False`` to leave."""
        text = line.strip()
        if not text:
            return True
        word, _, rest = text.partition(" ")
        if word in ("quit", "exit"):
            return False
        if word == "help":
            self.console.show(HELP)
            return True
        ns = self.namespaces[0]
        if word.startswith("/") and word in self.namespaces:
            ns = word
            word, _, rest = rest.strip().partition(" ")
        wants_ack = word == "ack"
        if word not in ("ack", "emit"):
            rest = f"{word} {rest}"
        try:
            values = parse_values(rest)  # the event name first ("quoted" if it has spaces)
        except InputError as exc:
            self.console.show(f"error: {exc}", error=True)
            return True
        if not values or not isinstance(values[0], str):
            self.console.show("error: a line starts with an event name (type help)", error=True)
            return True
        word, values = values[0], values[1:]
        try:
            if wants_ack:
                self.acks += 1
                task = asyncio.ensure_future(self._ack(ns, word, values, self.acks))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            else:
                self.client.emit(word, *values, namespace=ns)
        except ValueError as exc:
            self.console.show(f"error: {exc}", error=True)
            return True
        where = "" if ns == "/" else f"{ns} "
        label = f" (ack #{self.acks})" if wants_ack else ""
        queued = "" if self.client.get_sid(ns) else " [buffered until reconnected]"
        self.console.show(f"-> {where}{word} {render_args(values)}{label}{queued}".rstrip())
        return True

    async def _ack(self, ns: str, event: str, values: list[Any], number: int) -> None:
        try:
            answer = await self.client.emit_with_ack(
                event, *values, namespace=ns, timeout=self.args.ack_timeout
            )
        except AckTimeoutError:
            self.console.show(f"ack #{number} ({event}): no answer in time", error=True)
        except DisconnectedError as exc:
            self.console.show(f"ack #{number} ({event}): {exc}", error=True)
        except ValueError as exc:
            self.console.show(f"error: {exc}", error=True)
        else:
            shown = render_args(answer) if isinstance(answer, tuple) else render(answer)
            self.console.show(f"ack #{number} ({event}): {shown}")


def fail(exc: BaseException) -> int:
    message = exc.message if isinstance(exc, ConnectError) else str(exc)
    print(f"tether: {message}", file=sys.stderr, flush=True)
    if isinstance(exc, ConnectError) and exc.data is not None:
        print(f"tether: data: {render(exc.data, None)}", file=sys.stderr, flush=True)
    return 1


def _client(args: argparse.Namespace) -> int:
    async def run() -> int:
        return await Session(args, Console(asyncio.get_running_loop())).run()

    saved = _terminal_state()
    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        return 130
    finally:
        if saved is not None:  # readline may still hold the terminal (Ctrl+C, server gone)
            import termios

            with contextlib.suppress(termios.error):
                termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)


def _terminal_state() -> list[Any] | None:
    if not sys.stdin.isatty():
        return None
    try:
        import termios
    except ImportError:  # Windows
        return None
    try:
        return termios.tcgetattr(sys.stdin.fileno())
    except termios.error:
        return None


# -- one-shot emit --------------------------------------------------------------------------


async def _emit_once(args: argparse.Namespace) -> int:
    try:
        values = [parse_value(token) for token in args.args]
        auth = parse_auth(args.auth)
        headers = parse_headers(args.header)
        transports = parse_transports(args.transports)
    except InputError as exc:
        print(f"tether: {exc}", file=sys.stderr, flush=True)
        return 2
    namespace = args.namespace or "/"
    client = Client(reconnection=False, ssl=False if args.insecure else None, parser=args.parser)
    try:
        await client.connect(
            args.url,
            namespaces=[namespace],
            auth=auth,
            headers=headers,
            transports=transports,
            wait_timeout=args.timeout,
        )
    except (ConnectError, ValueError) as exc:
        return fail(exc)
    try:
        if not args.ack:
            client.emit(args.event, *values, namespace=namespace)
            return 0
        try:
            answer = await client.emit_with_ack(
                args.event, *values, namespace=namespace, timeout=args.timeout
            )
        except AckTimeoutError:
            print(f"tether: no ack within {args.timeout:g} s", file=sys.stderr, flush=True)
            return 1
        except (DisconnectedError, ValueError) as exc:
            return fail(exc)
        value = list(answer) if isinstance(answer, tuple) else answer
        print(render(value, None), flush=True)
        return 0
    finally:
        await client.disconnect()


def _emit(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_emit_once(args))
    except KeyboardInterrupt:
        return 130


# -- the parser -----------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="the server, e.g. http://127.0.0.1:3000")
    parser.add_argument("--auth", metavar="JSON", help="the auth object sent on connect")
    parser.add_argument(
        "--transports",
        default="polling,websocket",
        metavar="LIST",
        help="polling,websocket (default), websocket or polling",
    )
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="an HTTP header of the handshake (repeatable)",
    )
    parser.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    parser.add_argument(
        "--parser",
        choices=("json", "msgpack"),
        default="json",
        help="the server's packet parser: json (default) or msgpack (socket.io-msgpack-parser)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for the connection (emit: and for the ack); default 10",
    )


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``client`` and ``emit`` to the ``tether`` command's subparsers."""
    client = subparsers.add_parser(
        "client",
        help="an interactive Socket.IO client: tether client URL",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(client)
    client.add_argument(
        "-n",
        "--namespace",
        action="append",
        metavar="NSP",
        help="a namespace to join (repeatable; default /)",
    )
    client.add_argument(
        "--ack-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="for the ack command; default 10",
    )
    client.set_defaults(func=_client)
    emit = subparsers.add_parser(
        "emit", help="emit one event (and print its ack): tether emit URL EVENT [ARGS...] --ack"
    )
    _common(emit)
    emit.add_argument("event", help="the event name")
    emit.add_argument("args", nargs="*", help="JSON values; a bare word is a string")
    emit.add_argument("-n", "--namespace", metavar="NSP", help="the namespace (default /)")
    emit.add_argument("--ack", action="store_true", help="wait for the ack and print it as JSON")
    emit.set_defaults(func=_emit)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tether.cli.console client|emit ...``."""
    parser = argparse.ArgumentParser(prog="tether", description="Socket.IO client commands.")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
