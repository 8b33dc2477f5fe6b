"""``bench.targets``: the verdict of each target from records (plain code, no server run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import targets


def rec(server: str, scenario: str, cpu: float, **extra: Any) -> dict[str, Any]:
    return {
        "server": server,
        "scenario": scenario,
        "server_cpu_us_per_op": cpu,
        "ok": True,
        **extra,
    }


def row(rows: list[list[str]], start: str) -> list[str]:
    return next(r for r in rows if r[0].startswith(start))


def test_ratio_targets_met_not_met_and_not_run() -> None:
    records = [
        rec("node-socketio", "echo", 20.0, result={"p50_ms": 1.0, "p99_ms": 4.0}),
        rec("tether", "echo", 9.0, result={"p50_ms": 0.5, "p99_ms": 5.0}),
        rec("floor-uvloop", "echo", 14.0),
        rec("node-socketio", "polling", 40.0),
        rec("tether", "polling", 30.0),
        rec("psio-aiohttp", "polling", 120.0),
    ]
    rows = targets.rows(records)
    echo = row(rows, "echo: CPU")
    assert echo[4] == "0.45x" and echo[5] == "0.70x" and echo[-1] == "met"
    latency = row(rows, "echo: p99")
    assert latency[2] == "0.50 / 5.00 ms" and latency[-1] == "**not met**"
    assert row(rows, "polling: CPU")[-1] == "**not met**"  # 0.75x > 0.6x
    assert row(rows, "fanout: CPU")[-1] == "not run"
    assert row(rows, "connect-10k: RSS")[-1] == "not run"
    psio = row(rows, "polling: best python-socketio")
    assert psio[4] == "4.0x" and psio[-1] == "**not met**"


def test_failed_checks_or_errors_are_never_met() -> None:
    records = [
        rec("node-socketio", "fanout", 10.0),
        rec("tether", "fanout", 0.1, ok=False),
        rec("node-socketio", "rooms", 10.0),
        {"server": "tether", "scenario": "rooms", "error": "boom"},
    ]
    rows = targets.rows(records)
    assert row(rows, "fanout: CPU")[-1] == "not run"
    assert row(rows, "rooms: CPU")[-1] == "not run"


def test_repeated_runs_use_the_median_run() -> None:
    records = [rec("node-socketio", "echo", 20.0)] + [
        rec("tether", "echo", cpu, run=i) for i, cpu in enumerate((8.0, 12.0, 30.0))
    ]
    assert row(targets.rows(records), "echo: CPU")[4] == "0.60x"


def test_idle_max_needs_every_connection_and_less_than_a_gib(tmp_path: Path) -> None:
    def idle(connected: int, rss_kib: int, ok: bool = True) -> dict[str, Any]:
        return {
            "server": "tether-workers",
            "scenario": "idle-max",
            "idle_cpu_us_per_conn_s": 0.5,
            "rss_end_kib": rss_kib,
            "ok": ok,
            "result": {"connected": connected},
        }

    assert row(targets.rows([idle(100_000, 900 * 1024)]), "idle-max")[-1] == "met"
    assert row(targets.rows([idle(19_000, 90 * 1024)]), "idle-max")[-1] == "**not met**"
    assert row(targets.rows([idle(100_000, 1100 * 1024)]), "idle-max")[-1] == "**not met**"
    assert row(targets.rows([idle(100_000, 900 * 1024, ok=False)]), "idle-max")[-1] == "**not met**"
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(idle(100_000, 900 * 1024)) + "\n")
    assert "| idle-max: 100,000 connections" in targets.render(path)
