"""The performance targets (issue #20) checked against one results file.

    python -m bench.targets [FILE]      # default: the newest bench/results/*.jsonl

Every figure is the server CPU per operation of ``tether`` (the build ``meta.versions.
tether_build`` names) against Node socket.io's in the same file, with repeated runs reduced
to the run with the median CPU per operation, as ``bench.render`` does. A target whose
scenario or reference is missing from the file is ``not run``, never ``met``. The floor
columns say how far the least a Python server on uvloop does (``floor-uvloop``, pure and
compiled) is from Node in the same run (in the python-socketio rows: python-socketio ÷ the
floor): a target beyond the floor's own figure is out of reach for any Python server on
uvloop on this machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.render import REFERENCE, cpu_per_op, fmt, median_records, results_file

Record = dict[str, Any]
SUBJECT = "tether"
FLOORS = ("floor-uvloop", "floor-uvloop-compiled")
#: The 100k idle run (bench/run.py `idle-max`) is made against the workers server.
IDLE_SUBJECT = "tether-workers"
IDLE_WANTED = 100_000
IDLE_RSS_LIMIT_KIB = 1024 * 1024


@dataclass(frozen=True)
class Target:
    """A bound on ``value(subject) / value(reference)`` in one scenario (lower is better)."""

    scenario: str
    what: str
    bound: float
    value: Callable[[Record], float | None] = cpu_per_op


def _result(name: str) -> Callable[[Record], float | None]:
    return lambda r: (r.get("result") or {}).get(name)


RATIO_TARGETS = (
    Target("echo", "CPU per ack", 0.5),
    Target("binary-1k", "CPU per ack", 0.5),
    Target("connect-10k", "CPU per connection", 0.4),
    Target("polling", "CPU per ack", 0.6),
    Target("fanout", "CPU per delivered message", 0.1),
    Target("rooms", "CPU per delivered message", 0.1),
    Target("echo", "p99 latency (p50 beside it)", 1.0, _result("p99_ms")),
)
#: "≥ 5x better than python-socketio" in every scenario both answer.
PSIO_FACTOR = 5.0
#: "≤ 5 KiB RSS per connection at 10k".
CONNECT_RSS_KIB = 5.0


def _by_scenario(records: list[Record]) -> dict[str, dict[str, Record]]:
    """scenario -> server -> its median record (error records left out)."""
    grouped: dict[str, list[Record]] = {}
    for r in records:
        grouped.setdefault(r["scenario"], []).append(r)
    return {
        scenario: {r["server"]: r for r, _ in median_records(runs) if "error" not in r}
        for scenario, runs in grouped.items()
    }


def _verdict(ok: bool | None) -> str:
    return "not run" if ok is None else ("met" if ok else "**not met**")


def rows(records: list[Record]) -> list[list[str]]:
    """One row per target: what, target, tether, Node, ratio, floors' ratios, verdict."""
    runs = _by_scenario(records)
    out: list[list[str]] = []
    for t in RATIO_TARGETS:
        servers = runs.get(t.scenario, {})
        mine, ref = servers.get(SUBJECT), servers.get(REFERENCE)
        value = t.value(mine) if mine else None
        ref_value = t.value(ref) if ref else None
        ratio = value / ref_value if value is not None and ref_value else None
        floors = []
        for name in FLOORS:
            floor = servers.get(name)
            floor_value = t.value(floor) if floor else None
            floors.append(f"{floor_value / ref_value:.2f}x" if floor_value and ref_value else "-")
        shown = fmt(value)
        if t.value is not cpu_per_op and mine:  # latency: p50 beside p99
            shown = f"{fmt(_result('p50_ms')(mine))} / {fmt(value)} ms"
            ref_shown = f"{fmt(_result('p50_ms')(ref))} / {fmt(ref_value)} ms" if ref else "-"
        else:
            ref_shown = fmt(ref_value)
        ok = None if ratio is None or not (mine and mine.get("ok")) else ratio <= t.bound
        out.append(
            [
                f"{t.scenario}: {t.what}",
                f"≤ {t.bound:g}x",
                shown,
                ref_shown,
                f"{ratio:.2f}x" if ratio is not None else "-",
                *floors,
                _verdict(ok),
            ]
        )
    connect = runs.get("connect-10k", {}).get(SUBJECT)
    kib = connect.get("rss_per_conn_kib") if connect else None
    out.append(
        [
            "connect-10k: RSS per connection",
            f"≤ {CONNECT_RSS_KIB:g} KiB",
            f"{fmt(kib)} KiB",
            fmt(runs.get("connect-10k", {}).get(REFERENCE, {}).get("rss_per_conn_kib")) + " KiB",
            "-",
            "-",
            "-",
            _verdict(None if kib is None else kib <= CONNECT_RSS_KIB),
        ]
    )
    for scenario, servers in runs.items():
        mine = servers.get(SUBJECT)
        psio = [cpu_per_op(r) for name, r in servers.items() if name.startswith("psio-")]
        best = min((v for v in psio if v), default=None)
        value = cpu_per_op(mine) if mine else None
        if best is None or not value:
            continue
        # Here the floor columns hold python-socketio ÷ floor: the most any Python server
        # on uvloop could be ahead of python-socketio in this scenario.
        floors = []
        for name in FLOORS:
            floor = servers.get(name)
            floor_value = cpu_per_op(floor) if floor else None
            floors.append(f"{best / floor_value:.1f}x" if floor_value else "-")
        out.append(
            [
                f"{scenario}: best python-socketio ÷ tether",
                f"≥ {PSIO_FACTOR:g}x",
                fmt(value),
                "-",
                f"{best / value:.1f}x",
                *floors,
                _verdict(best / value >= PSIO_FACTOR),
            ]
        )
    idle = runs.get("idle-max", {}).get(IDLE_SUBJECT)
    if idle is not None:
        result = idle.get("result") or {}
        connected = result.get("connected") or 0
        rss = idle.get("rss_end_kib")
        ok = (
            connected >= IDLE_WANTED
            and bool(idle.get("ok"))
            and rss is not None
            and rss < IDLE_RSS_LIMIT_KIB
        )
        out.append(
            [
                f"idle-max: {connected:,} connections, RSS of all processes",
                "< 1 GiB at 100,000",
                f"{rss / 1024:,.0f} MiB" if rss is not None else "-",
                "-",
                "-",
                "-",
                "-",
                _verdict(ok),
            ]
        )
    return out


def render(path: Path) -> str:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    build = (
        ((records[0].get("meta") or {}).get("versions") or {}).get("tether_build")
        if records
        else None
    )
    header = [
        "target",
        "bound",
        "tether",
        "Node",
        "tether ÷ Node",
        "floor ÷ Node",
        "floor compiled ÷ Node",
        "",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows(records)]
    return (
        f"### Targets ({path.name}; tether: {build or 'build unknown'})\n\n"
        + "\n".join(lines)
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.targets", description=__doc__.split("\n")[0])
    ap.add_argument("file", type=Path, nargs="?", help="default: the newest bench/results/*.jsonl")
    args = ap.parse_args(argv)
    sys.stdout.write(render(results_file(ap, args.file)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
