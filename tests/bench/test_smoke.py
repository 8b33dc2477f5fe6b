"""A smoke test of the benchmark harness: scenarios at toy size against tether (and the echo
against tether with metrics on).

It checks the shape of the record and the loss / order / content checks, never a timing:
benchmarks are run with ``make bench``, not by pytest. Needs Node and ``bench/node_modules``
(``cd bench && npm ci``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench import run

pytestmark = pytest.mark.interop

BENCH = Path(run.__file__).resolve().parent


@pytest.fixture(autouse=True)
def _needs_node() -> None:
    if shutil.which("node") is None or not (BENCH / "node_modules" / "ws").is_dir():
        pytest.fail("needs node and bench/node_modules: run `make setup`", pytrace=False)


@pytest.mark.parametrize("server", ["tether", "tether-metrics"])
def test_echo_record_fields_and_checks(server: str) -> None:
    params = {"clients": 2, "seconds": 0.5, "size": 16}
    record = run.run_one(server, "echo", params, timeout=30)
    assert "error" not in record, record.get("error")
    assert record["server"] == server
    assert record["scenario"] == "echo"
    assert record["params"] == params
    assert record["alive_after"] is True
    for key in ("server_cpu_s", "gen_cpu_s", "wall_s", "rss_start_kib", "rss_end_kib"):
        assert record[key] >= 0, key
    assert record["ops"] > 0
    assert record["result"]["connected"] == 2
    assert (record["lost"], record["out_of_order"], record["bad"]) == (0, 0, 0)
    assert record["errors"] == 0
    assert record["ok"] is True


def test_fanout_every_message_in_order() -> None:
    params = {"members": 5, "count": 50, "size": 8}
    record = run.run_one("tether", "fanout", params, timeout=30)
    assert "error" not in record, record.get("error")
    assert record["result"]["expected"] == 250
    assert record["ops"] == 250
    assert record["ok"] is True
