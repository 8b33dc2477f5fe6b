"""The compiled build of tether: which modules mypyc compiles, and how setuptools builds them.

The modules below are compiled by mypyc from their own typed source (``src/tether/...``)
into extension modules installed beside the ``.py`` files, which stay the reference: with
``TETHER_PURE_PYTHON=1`` (at build time: a pure build; at run time: the ``.py`` files are
imported even beside the extensions) tether runs without them. A build without mypy, without
a working C compiler or whose compilation fails is pure too, and says why.

The build records the SHA-256 of each compiled source in ``tether/_compiled.json``
(generated, never committed): at import, tether checks it against the ``.py`` files, and
a source edited since the build (an editable install not rebuilt) makes tether use the
pure-Python modules, with a warning (``tether/_compiled.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from setuptools import Extension
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"

#: The modules compiled by mypyc (paths under ``src/``): the per-message path, from the
#: profile (bench/README.md, "Profile"). A compiled class can't be subclassed by interpreted
#: code unless it says so: ``@mypyc_attr(allow_interpreted_subclasses=True)`` (from
#: ``tether._compiled``, a no-op at run time) on the classes that code which is not compiled
#: subclasses: ``HttpProtocol`` (``cli/workers.py``), ``ClientSession`` (metrics, admin UI),
#: ``MemoryAdapter`` and ``SessionAwareAdapter`` (the Redis, cluster and users' adapters), the
#: transports (tests, new transports), ``AdminUi`` (the testing tool's page), and the public
#: ``Router``, ``Listener`` and ``ClientBundle`` (users' apps). Compiled code still calls their methods through the
#: class's vtable (an interpreted subclass gets one that calls its Python methods), which
#: costs no more than for the other classes.
MODULES: tuple[str, ...] = (
    # WebSocket: frame parsing, framing, UTF-8 checks, events.
    "tether/ws/connection.py",
    "tether/ws/events.py",
    "tether/ws/frames.py",
    "tether/ws/handshake.py",
    "tether/ws/utf8.py",
    # Engine.IO: packets, payloads, the session (v3 subclasses it).
    "tether/eio/encoded.py",
    "tether/eio/packet.py",
    "tether/eio/session.py",
    "tether/eio/v3.py",
    # Socket.IO: decoding, encoding, binary attachments, the msgpack reader. Not sio/parsers.py
    # (mypyc refuses its @runtime_checkable protocols) nor sio/msgpack_parser.py (it takes event
    # names of any type where its annotations say str: compiled code would refuse them).
    "tether/sio/binary.py",
    "tether/sio/decoder.py",
    "tether/sio/encoder.py",
    "tether/sio/notepack2.py",
    "tether/sio/packet.py",
    # HTTP: the request, its query, the rendered response (polling).
    "tether/http/messages.py",
    # Engine.IO requests: routing, the engine's answers.
    "tether/eio/handshake.py",
    # The asyncio layer a message crosses: the HTTP protocol, the router and the client
    # bundle it asks first, the engine, the transports, the WebSocket, the Engine.IO socket,
    # the writer.
    "tether/aio/engine.py",
    "tether/aio/engine_socket.py",
    "tether/aio/heartbeat.py",
    "tether/aio/http_protocol.py",
    "tether/aio/listener.py",
    "tether/aio/static.py",
    "tether/aio/transports/polling.py",
    "tether/aio/transports/v3.py",
    "tether/aio/transports/websocket.py",
    "tether/aio/websocket.py",
    "tether/aio/writer.py",
    # Rooms and broadcasts of one process.
    "tether/adapters/memory.py",
    "tether/adapters/target.py",
    # Dispatch: the client session, the socket, broadcasts, handler calls.
    "tether/broadcast.py",
    "tether/client_session.py",
    "tether/handlers.py",
    "tether/socket.py",
)

#: mypy's options on top of pyproject.toml's (strict): the build environment has orjson (which the
#: compiled modules call) but not the other dependencies, whose types only modules that are not
#: compiled use (httptools, uvloop, pydantic, msgpack): they are Any there.
MYPY_OPTIONS = ("--ignore-missing-imports", "--no-warn-return-any", "--no-warn-unused-ignores")

#: The one shared library of the compiled modules (a top-level module, as mypyc makes it).
GROUP = "tether_compiled"

#: The record of what was compiled, in the package (see ``tether/_compiled.py``).
RECORD = "tether/_compiled.json"

SPEEDUPS = Extension(
    "tether.ws._speedups",
    sources=["src/tether/ws/_speedups.c"],
    optional=True,  # without a C compiler, tether.ws uses the pure-Python mask
)


def say(message: str) -> None:
    print(f"tether build: {message}", file=sys.stderr)


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def record() -> dict[str, Any]:
    """What ``tether/_compiled.json`` holds: each compiled module's source hash."""
    modules = {
        module_name(path): hashlib.sha256((SRC / path).read_bytes()).hexdigest() for path in MODULES
    }
    return {"compiler": "mypyc", "modules": modules}


def _pure_reason() -> str | None:
    """Why this build is pure, or None when it can be compiled."""
    if os.environ.get("TETHER_PURE_PYTHON") == "1":
        return "TETHER_PURE_PYTHON=1"
    try:
        import mypyc.build  # noqa: F401
    except ImportError:
        return "mypyc (mypy) is not installed"
    from setuptools._distutils import ccompiler, sysconfig

    # A compiler that can build one trivial file, else the build is pure.
    compiler: Any = ccompiler.new_compiler()
    sysconfig.customize_compiler(compiler)
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.c"
        probe.write_text("int main(void) { return 0; }\n")
        try:
            compiler.compile([str(probe)], output_dir=tmp)
        except Exception as error:  # its error classes moved between setuptools versions
            return f"no working C compiler ({error})"
    return None


def compiled_extensions() -> list[Extension]:
    """The mypyc extension modules, or none for a pure build (it says why)."""
    reason = _pure_reason()
    if reason is not None:
        say(f"building the pure-Python package: {reason}")
        return []
    from mypyc.build import mypycify

    try:
        compiled = mypycify(
            [*MYPY_OPTIONS, *(str(Path("src") / path) for path in MODULES)],
            group_name=GROUP,
            target_dir=str(Path("build") / "mypyc"),
        )
    except (Exception, SystemExit) as error:  # mypyc exits on a type error
        say(f"building the pure-Python package: mypyc failed ({error!r})")
        return []
    say(f"compiling {len(MODULES)} modules with mypyc")
    return compiled


class BuildExt(build_ext):  # type: ignore[misc]
    """``build_ext`` that adds the mypyc modules when it runs (not when setup.py is read for
    the metadata or the sdist), falls back to the pure package when they fail to build, and
    writes ``tether/_compiled.json`` when they are built."""

    def run(self) -> None:
        compiled = compiled_extensions()
        if compiled:
            self._use([SPEEDUPS, *compiled])
            compiler = self.compiler  # a name; run() replaces it with the compiler object
            try:
                super().run()
            except Exception as error:
                say(f"building the pure-Python package: the compiled modules failed ({error})")
                self.compiler = compiler
            else:
                text = json.dumps(record(), indent=1, sort_keys=True) + "\n"
                for base in self._outputs():
                    target = base / RECORD
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text)
                return
        self._use([SPEEDUPS])
        self._remove_compiled()  # no extension module of an earlier build is kept
        super().run()

    def _use(self, extensions: list[Extension]) -> None:
        """What ``finalize_options`` does for each extension (no shared ``Library`` here)."""
        self.extensions = self.distribution.ext_modules = extensions
        # In place, an extension module no build makes any more (a module taken off the
        # list) would still be imported before its .py file.
        built = {Path(self.get_ext_filename(ext.name)) for ext in extensions}
        for base in self._outputs()[1:]:
            for found in (base / "tether").rglob("*.so"):
                if found.relative_to(base) not in built:
                    found.unlink()
        for ext in extensions:
            ext._full_name = self.get_ext_fullname(ext.name)
            self.ext_map[ext._full_name] = ext
            ext._links_to_dynamic = ext._needs_stub = False
            ext._file_name = self.get_ext_filename(ext._full_name)

    def _outputs(self) -> list[Path]:
        """Where the extensions go: the build directory, and the source tree in place."""
        inplace = self.inplace or getattr(self, "editable_mode", False)
        return [Path(self.build_lib), *([SRC] if inplace else [])]

    def _remove_compiled(self) -> None:
        names = [GROUP, *(module_name(path) for path in MODULES)]
        for base in self._outputs():
            for name in names:
                (base / self.get_ext_filename(name)).unlink(missing_ok=True)
            (base / RECORD).unlink(missing_ok=True)
