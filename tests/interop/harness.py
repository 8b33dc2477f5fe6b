"""Run a server under test and the Node drivers (official npm clients) against it.

The server is any command that honours the echo-server contract: listen on 127.0.0.1:$PORT
and print ``READY`` on stdout once listening. Drivers print one JSON object per line and
end with a verdict ``{"result": "pass" | "fail", ...}``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, free_port

INTEROP_DIR = Path(__file__).resolve().parent
NODE_MODULES = INTEROP_DIR / "node_modules"
START_TIMEOUT = 15.0


def require_node() -> str:
    """Return the path of ``node``; fail the test if it or a package of package.json is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is not on PATH: the interop tests need node >= 20", pytrace=False)
    manifest = json.loads((INTEROP_DIR / "package.json").read_text())
    packages = sorted(manifest.get("dependencies", {}))
    missing = [p for p in packages if not (NODE_MODULES / p / "package.json").is_file()]
    if missing:
        pytest.fail(
            f"npm packages missing in {NODE_MODULES} ({', '.join(missing)}): "
            "run `make setup-node` (npm ci in tests/interop) first",
            pytrace=False,
        )
    return node


class ServerProcess:
    """A server under test, started on first use and shared by the tests of a module.

    Starting lazily, from inside a test, makes a missing or broken server a test failure
    (not a setup error); a failed start is remembered so the other tests fail at once.
    """

    def __init__(self, env_var: str, default_cmd: list[str]) -> None:
        override = os.environ.get(env_var)
        self.cmd = shlex.split(override) if override else default_cmd
        self.env_var = env_var
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None
        self.output: deque[str] = deque(maxlen=200)
        self.ready = threading.Event()
        self.error: str | None = None
        self._readers: list[threading.Thread] = []

    @property
    def url(self) -> str:
        self.ensure_running()
        return f"http://127.0.0.1:{self.port}"

    def describe(self) -> str:
        return f"{shlex.join(self.cmd)} (override with {self.env_var})"

    def ensure_running(self) -> None:
        if self.error is None and self.proc is None:
            self._start()
        if self.error is not None:
            pytest.fail(self.error, pytrace=False)
        assert self.proc is not None
        if self.proc.poll() is not None:
            self.error = (
                f"server exited with status {self.proc.returncode}: {self.describe()}\n"
                + self.tail()
            )
            pytest.fail(self.error, pytrace=False)

    def _start(self) -> None:
        if self.cmd and Path(self.cmd[0]).name in ("node", "nodejs"):
            require_node()
        self.port = free_port()
        env = dict(os.environ, PORT=str(self.port))
        src = str(ROOT / "src")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
        try:
            self.proc = subprocess.Popen(
                self.cmd,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
            )
        except OSError as exc:
            self.error = f"cannot start the server {self.describe()}: {exc}"
            return
        for stream, tag in ((self.proc.stdout, "out"), (self.proc.stderr, "err")):
            reader = threading.Thread(target=self._read, args=(stream, tag), daemon=True)
            reader.start()
            self._readers.append(reader)
        if not self.ready.wait(START_TIMEOUT) or self.proc.poll() is not None:
            self.error = (
                f"server did not print READY within {START_TIMEOUT:.0f} s "
                f"(status {self.proc.poll()}): {self.describe()}\n" + self.tail()
            )

    def _read(self, stream: Any, tag: str) -> None:
        for line in stream:
            self.output.append(f"[server {tag}] {line.rstrip()}")
            if tag == "out" and line.strip() == "READY":
                self.ready.set()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(list(self.output)[-lines:])

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for reader in self._readers:
            reader.join(2)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def run_driver(
    script: str, server: ServerProcess, *args: str, timeout_ms: int = 10_000
) -> list[dict[str, Any]]:
    """Run ``node <script> --url <server> <args>``; fail the test unless it passes.

    Returns the JSON records the driver printed, verdict last.
    """
    node = require_node()
    url = server.url
    cmd = [node, str(INTEROP_DIR / script), "--url", url, "--timeout", str(timeout_ms), *args]
    try:
        done = subprocess.run(
            cmd,
            cwd=INTEROP_DIR,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_ms / 1000 + 10,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"driver hung: {shlex.join(cmd)}\n{server.tail()}", pytrace=False)
    records: list[dict[str, Any]] = []
    for line in done.stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    verdict = records[-1] if records and "result" in records[-1] else None
    if done.returncode != 0 or verdict is None or verdict["result"] != "pass":
        why = verdict.get("error") if verdict else "no verdict"
        pytest.fail(
            f"{script} {' '.join(args)} -> exit {done.returncode}: {why}\n"
            f"server: {server.describe()}\n"
            f"--- driver stdout\n{done.stdout[-4000:]}"
            f"--- driver stderr\n{done.stderr[-4000:]}"
            f"--- server output\n{server.tail()}",
            pytrace=False,
        )
    return records


def python_server(script: str) -> list[str]:
    """The default command for a server script of this repository."""
    return [sys.executable, str(Path("tests") / "conformance" / script)]
