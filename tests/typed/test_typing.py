"""Types that survive the decorators: examples/typed_events/app.py passes ``mypy --strict``
and ``pyright`` in strict mode with no ignores, and tests/typed/typing_mistakes.py fails
both, on the lines marked MISTAKE and no other (a decorator that returned ``Any`` again
would let those lines pass).

mypy runs from this venv, pyright from tests/interop/node_modules; both read tether from
this checkout's ``src``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.interop.harness import NODE_MODULES, require_node
from tests.support import ROOT

EXAMPLE = ROOT / "examples" / "typed_events" / "app.py"
MISTAKES = ROOT / "tests" / "typed" / "typing_mistakes.py"


def marked_lines(path: Path) -> set[int]:
    lines = path.read_text().splitlines()
    return {number for number, line in enumerate(lines, 1) if "# MISTAKE" in line}


def mypy(path: Path, cache: Path) -> tuple[int, set[int], str]:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), str(path)],
        cwd=ROOT,
        env={**os.environ, "MYPYPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    name = re.escape(str(path.relative_to(ROOT)))
    errors = {int(m.group(1)) for m in re.finditer(rf"^{name}:(\d+): error:", done.stdout, re.M)}
    return done.returncode, errors, done.stdout + done.stderr


def pyright(path: Path, folder: Path) -> tuple[int, set[int], str]:
    node = require_node()
    config = {
        "include": [os.path.relpath(path, folder)],
        "extraPaths": [os.path.relpath(ROOT / "src", folder)],
        "typeCheckingMode": "strict",
        "pythonVersion": "3.11",
    }
    (folder / "pyrightconfig.json").write_text(json.dumps(config))
    done = subprocess.run(
        [
            *(node, str(NODE_MODULES / "pyright" / "index.js"), "--outputjson"),
            *("--project", str(folder / "pyrightconfig.json"), "--pythonpath", sys.executable),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(done.stdout)
    assert report["summary"]["filesAnalyzed"] == 1, done.stdout
    errors = {
        d["range"]["start"]["line"] + 1
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    }
    return done.returncode, errors, done.stdout


def test_mypy_strict_passes_the_example_and_catches_the_mistakes(tmp_path: Path) -> None:
    status, errors, output = mypy(EXAMPLE, tmp_path)
    assert status == 0 and not errors, output
    status, errors, output = mypy(MISTAKES, tmp_path)
    assert status == 1 and errors == marked_lines(MISTAKES), output


@pytest.mark.interop
def test_pyright_strict_passes_the_example_and_catches_the_mistakes(tmp_path: Path) -> None:
    status, errors, output = pyright(EXAMPLE, tmp_path)
    assert status == 0 and not errors, output
    status, errors, output = pyright(MISTAKES, tmp_path)
    assert status == 1 and errors == marked_lines(MISTAKES), output


def test_the_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        cwd=EXAMPLE.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "chat -> {'id': 1, 'text': 'hi'}" in done.stdout
    assert "'error': 'invalid_payload'" in done.stdout
    assert "upload -> b'\\x02\\x01'" in done.stdout
    assert "answer -> {'a': 'WHY'}" in done.stdout
