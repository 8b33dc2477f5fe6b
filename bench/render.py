"""Markdown tables from a results file: ``python -m bench.render bench/results/<ts>.jsonl``.

One table per scenario; ratios are against Node socket.io in the same run (throughput: higher
is better; CPU and memory: lower is better). Flags: ``GEN`` the generator used most of its
core (the server may not be the bottleneck), ``FAIL`` a loss / order / content check failed,
``DEAD`` the server had exited by the end.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REFERENCE = "node-socketio"
Record = dict[str, Any]
# (header, field or function, ratio kind: "up" higher is better, "down" lower is better, None)
Column = tuple[str, Callable[[Record], float | None], str | None]


def field(name: str) -> Callable[[Record], float | None]:
    return lambda r: r.get(name)


def result(name: str) -> Callable[[Record], float | None]:
    return lambda r: (r.get("result") or {}).get(name)


def mib(r: Record) -> float | None:
    rss = r.get("rss_end_kib")
    return rss / 1024 if rss is not None else None


COLUMNS: dict[str, list[Column]] = {
    "connect": [
        ("conn/s", field("ops_per_s"), "up"),
        ("CPU µs/conn", field("server_cpu_us_per_op"), "down"),
        ("RSS KiB/conn", field("rss_per_conn_kib"), "down"),
    ],
    "echo": [
        ("acks/s", field("ops_per_s"), "up"),
        ("p50 ms", result("p50_ms"), None),
        ("p99 ms", result("p99_ms"), None),
        ("CPU µs/ack", field("server_cpu_us_per_op"), "down"),
    ],
    "fanout": [
        ("msg/s", field("ops_per_s"), "up"),
        ("CPU µs/msg", field("server_cpu_us_per_op"), "down"),
        ("RSS MiB", mib, None),
    ],
    "idle": [
        ("conns", result("connected"), None),
        ("RSS KiB/conn", field("rss_per_conn_kib"), "down"),
        ("CPU µs/conn/s", field("idle_cpu_us_per_conn_s"), "down"),
        ("pings", result("pings_answered"), None),
    ],
}
KIND = {
    "connect": "connect",
    "echo": "echo",
    "polling": "echo",
    "binary": "echo",
    "fanout": "fanout",
    "rooms": "fanout",
    "cluster": "fanout",
    "idle": "idle",
}


def kind_of(scenario: str) -> str:
    return KIND.get(scenario.split("-")[0], "echo")


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def ratio(value: float | None, ref: float | None) -> str:
    if value is None or not ref:
        return "-"
    return f"{value / ref:.2f}x"


def flags(r: Record) -> str:
    out = []
    if "error" in r:
        return "ERROR: " + str(r["error"]).splitlines()[0][:80]
    if r.get("gen_bound"):
        out.append(f"GEN {r['gen_util']:.0%}")
    if not r.get("ok"):
        out.append(f"FAIL lost={r.get('lost')} order={r.get('out_of_order')} bad={r.get('bad')}")
    if r.get("alive_after") is False:
        out.append("DEAD")
    return " ".join(out) or "ok"


def util(r: Record, name: str) -> str:
    value = r.get(name)
    return f"{value:.0%}" if isinstance(value, float) else "-"


def table(scenario: str, records: list[Record]) -> str:
    cols = COLUMNS[kind_of(scenario)]
    ref = next((r for r in records if r["server"] == REFERENCE and "error" not in r), None)
    header = ["server"]
    for name, _, kind in cols:
        header.append(name)
        if kind:
            header.append("vs node")
    header += ["server CPU", "gen CPU", "checks"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in records:
        row = [r["server"]]
        for _, get, kind in cols:
            value = get(r) if "error" not in r else None
            row.append(fmt(value))
            if kind:
                row.append(ratio(value, get(ref) if ref else None))
        row += [util(r, "server_util"), util(r, "gen_util"), flags(r)]
        lines.append("| " + " | ".join(row) + " |")
    params = records[0].get("params", {})
    caption = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"### {scenario} ({caption})\n\n" + "\n".join(lines)


def render(path: Path) -> str:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not records:
        return f"{path}: no records"
    by_scenario: dict[str, list[Record]] = {}
    for r in records:
        by_scenario.setdefault(r["scenario"], []).append(r)
    meta = records[0].get("meta", {})
    v = meta.get("versions", {})
    head = (
        f"## Benchmarks {meta.get('started', '')} (scale {meta.get('scale')}, "
        f"{meta.get('cpus')} CPUs, pinned={meta.get('pinned')})\n\n"
        + ", ".join(f"{k} {val}" for k, val in v.items() if val)
        + "\n\nRatios are against Node socket.io in this run. `server CPU` / `gen CPU`: share "
        "of one core used during the measured phase; GEN: the generator may be the bottleneck."
    )
    return "\n\n".join([head, *(table(s, rs) for s, rs in by_scenario.items())]) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.render", description=__doc__.split("\n")[0])
    ap.add_argument("file", type=Path, nargs="?", help="default: the newest bench/results/*.jsonl")
    args = ap.parse_args(argv)
    path = args.file
    if path is None:
        files = sorted((Path(__file__).resolve().parent / "results").glob("*.jsonl"))
        if not files:
            ap.error("no results yet: run python -m bench.run first")
        path = files[-1]
    sys.stdout.write(render(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
