"""The Autobahn|Testsuite WebSocket cases (run by kosoku) against tether's echo server.

All 517 cases, sections 12 and 13 with permessage-deflate on. A case passes when Autobahn
grades it OK, NON-STRICT or INFORMATIONAL, and its close OK or INFORMATIONAL. The report
(JSON and HTML per case) is kept in ``reports/autobahn/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports" / "autobahn"
PASSING = {"OK", "NON-STRICT", "INFORMATIONAL"}
PASSING_CLOSE = {"OK", "INFORMATIONAL"}


@pytest.mark.autobahn
@pytest.mark.timeout(1800)
def test_all_autobahn_cases_pass() -> None:
    kosoku = shutil.which("kosoku", path=str(Path(sys.executable).parent)) or shutil.which("kosoku")
    assert kosoku is not None, "kosoku is not installed: run `make setup`"
    env = {**os.environ, "PORT": "0", "DEFLATE": "1", "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "conformance" / "ws_echo_server.py")],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert server.stdout is not None
        ready = server.stdout.readline().split()
        assert ready[:1] == ["READY"], ready
        port = ready[1]
        shutil.rmtree(REPORTS, ignore_errors=True)
        run = subprocess.run(
            [kosoku, "-p", "2", "-o", str(REPORTS), f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=1500,
        )
    finally:
        server.terminate()
        server.wait(10)
        if server.stdout is not None:
            server.stdout.close()
    index = json.loads((REPORTS / "index.json").read_text())
    (cases,) = index.values()
    grades = Counter((c["behavior"], c["behaviorClose"]) for c in cases.values())
    failed = {
        case: (c["behavior"], c["behaviorClose"])
        for case, c in cases.items()
        if c["behavior"] not in PASSING or c["behaviorClose"] not in PASSING_CLOSE
    }
    print(f"autobahn: {len(cases)} cases, grades {dict(grades)}")
    assert len(cases) == 517, run.stdout[-2000:]
    assert not failed, failed
    assert run.returncode == 0, run.stdout[-2000:]
