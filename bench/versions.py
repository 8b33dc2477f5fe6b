"""Versions of everything a benchmark record depends on."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def _dist(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _npm(name: str) -> str | None:
    try:
        package = BENCH / "node_modules" / name / "package.json"
        return str(json.loads(package.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def _run(*argv: str) -> str | None:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, check=True, cwd=BENCH
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def versions() -> dict[str, str | None]:
    sha = _run("git", "rev-parse", "HEAD")
    dirty = _run("git", "status", "--porcelain", "--untracked-files=no")
    return {
        "python": platform.python_version(),
        "node": _run("node", "--version"),
        "tether": _dist("tether"),
        "tether_git": f"{sha}{'-dirty' if dirty else ''}" if sha else None,
        # Compiled (mypyc) or pure Python, as the `tether` server runs it.
        "tether_build": _run(
            sys.executable, "-c", "from tether import _compiled; print(_compiled.describe())"
        ),
        "python-socketio": _dist("python-socketio"),
        "python-engineio": _dist("python-engineio"),
        "uvicorn": _dist("uvicorn"),
        "websockets": _dist("websockets"),
        "aiohttp": _dist("aiohttp"),
        "fastapi": _dist("fastapi"),
        "starlette": _dist("starlette"),
        "uvloop": _dist("uvloop"),
        "httptools": _dist("httptools"),
        "orjson": _dist("orjson"),
        "socket.io": _npm("socket.io"),
        "engine.io": _npm("engine.io"),
        "ws": _npm("ws"),
        "kernel": platform.release(),
    }
