"""Running tsc and the AsyncAPI parser of tests/interop/node_modules on generated files."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.interop.harness import INTEROP_DIR, NODE_MODULES, require_node

TS_DIR = Path(__file__).resolve().parent / "ts"
TSC = NODE_MODULES / "typescript" / "bin" / "tsc"
#: tsc's options for the clients: strict, Node's module resolution and globals.
TSC_OPTIONS = ["--strict", "--target", "es2022", "--module", "nodenext", "--types", "node"]
TSC_ERROR = re.compile(
    r"^(?P<file>[\w./-]+)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>TS\d+): (?P<message>.*)$"
)


@dataclass
class TscError:
    file: str
    line: int
    code: str
    message: str


def tsc(
    workdir: Path, events: str, *sources: str, out_dir: Path | None = None
) -> tuple[int, list[TscError], str]:
    """Compile ``sources`` (files of tests/contract/ts) beside ``events`` (written as
    events.d.ts) in ``workdir``; ``out_dir``: emit JavaScript there, else ``--noEmit``.
    Returns the exit status, the errors and the whole output."""
    node = require_node()
    (workdir / "events.d.ts").write_text(events)
    for source in sources:
        shutil.copy(TS_DIR / source, workdir / source)
    if not (workdir / "node_modules").exists():
        (workdir / "node_modules").symlink_to(NODE_MODULES)
    emit = ["--outDir", str(out_dir)] if out_dir is not None else ["--noEmit"]
    done = subprocess.run(
        [node, str(TSC), *TSC_OPTIONS, "--pretty", "false", *emit, *sources],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    errors = [
        TscError(m["file"], int(m["line"]), m["code"], m["message"])
        for m in map(TSC_ERROR.match, output.splitlines())
        if m is not None
    ]
    return done.returncode, errors, output


def validate_asyncapi(path: Path) -> tuple[int, str]:
    """Parse an AsyncAPI document with @asyncapi/parser (tests/interop/validate_asyncapi.mjs):
    the exit status (0: no diagnostic of error severity) and the diagnostics (JSON lines)."""
    node = require_node()
    done = subprocess.run(
        [node, str(INTEROP_DIR / "validate_asyncapi.mjs"), str(path)],
        cwd=INTEROP_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr
