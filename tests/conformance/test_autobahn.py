"""The Autobahn|Testsuite WebSocket cases (run by kosoku) against tether's echo server.

All 517 cases, sections 12 and 13 with permessage-deflate on. A case passes when Autobahn
grades it OK, NON-STRICT or INFORMATIONAL, and its close OK or INFORMATIONAL. The report
(JSON and HTML per case) is kept in ``reports/autobahn/<group>/``.

The cases run in groups, each against a server of its own, so that ``pytest -n`` spreads
them: the compression sections 12 and 13 take nearly all the time (their subsections of 18
cases each are groups of their own), the other sections are one group.
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


#: The groups: (name, kosoku's selection arguments, how many cases).
GROUPS = [
    ("1-10", ["-x", "12.*", "-x", "13.*"], 301),
    *((f"12.{n}", ["-i", f"12.{n}.*"], 18) for n in range(1, 6)),
    *((f"13.{n}", ["-i", f"13.{n}.*"], 18) for n in range(1, 8)),
]
assert sum(count for _, _, count in GROUPS) == 517


@pytest.mark.autobahn
@pytest.mark.timeout(1800)
@pytest.mark.parametrize(("group", "selection", "count"), GROUPS, ids=[g[0] for g in GROUPS])
def test_autobahn_cases_pass(group: str, selection: list[str], count: int) -> None:
    reports = REPORTS / group
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
        shutil.rmtree(reports, ignore_errors=True)
        run = subprocess.run(
            [kosoku, "-p", "2", *selection, "-o", str(reports), f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=1500,
        )
    finally:
        server.terminate()
        server.wait(10)
        if server.stdout is not None:
            server.stdout.close()
    index = json.loads((reports / "index.json").read_text())
    (cases,) = index.values()
    grades = Counter((c["behavior"], c["behaviorClose"]) for c in cases.values())
    failed = {
        case: (c["behavior"], c["behaviorClose"])
        for case, c in cases.items()
        if c["behavior"] not in PASSING or c["behaviorClose"] not in PASSING_CLOSE
    }
    print(f"autobahn {group}: {len(cases)} cases, grades {dict(grades)}")
    assert len(cases) == count, run.stdout[-2000:]
    assert not failed, failed
    assert run.returncode == 0, run.stdout[-2000:]
