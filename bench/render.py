"""Markdown tables from a results file: ``python -m bench.render bench/results/<ts>.jsonl``.

One table per scenario; ratios are against Node socket.io in the same run (the HTTP scenario:
against FastAPI under uvicorn) (throughput: higher is better; CPU and memory: lower is better). Flags: ``GEN`` the generator used most of its
core (the server may not be the bottleneck), ``FAIL`` a loss / order / content check failed,
``DEAD`` the server had exited by the end.

``--chart PATH`` also draws the server CPU per operation of every scenario, as a ratio to Node,
into PATH (``.svg`` or ``.png``; needs matplotlib, the ``docs`` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REFERENCE = "node-socketio"
#: The floors (not Socket.IO servers, bench/servers/floor_uvloop.py): as is, and compiled by
#: mypyc as tether's per-message path is; a table with a floor shows every server's CPU per
#: operation divided by the floor's.
FLOORS = {"floor-uvloop": "÷ floor", "floor-uvloop-compiled": "÷ floor compiled"}
#: The reference of the scenarios Node does not answer, by kind: FastAPI under uvicorn for the
#: FastAPI route.
REFERENCES = {"http": "fastapi-uvicorn"}
#: How a reference is named in a ratio column's header.
SHORT = {
    "node-socketio": "node",
    "node-socketio-cluster": "node cluster",
    "fastapi-uvicorn": "uvicorn",
}
#: A table without a record of the reference compares with this one instead (the many-connection
#: scenarios run Node's cluster alone).
FALLBACK = {"node-socketio": "node-socketio-cluster"}
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


def pss_mib(r: Record) -> float | None:
    pss = r.get("pss_end_kib")
    return pss / 1024 if pss is not None else None


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
        ("of it kernel", field("server_sys_us_per_op"), None),
    ],
    "fanout": [
        ("msg/s", field("ops_per_s"), "up"),
        ("CPU µs/msg", field("server_cpu_us_per_op"), "down"),
        ("RSS MiB", mib, None),
    ],
    "http": [
        ("req/s", field("ops_per_s"), "up"),
        ("p50 ms", result("p50_ms"), None),
        ("p99 ms", result("p99_ms"), None),
        ("CPU µs/req", field("server_cpu_us_per_op"), "down"),
        ("of it kernel", field("server_sys_us_per_op"), None),
        ("RSS MiB", mib, None),
    ],
    # RSS and PSS are summed over the server's processes (``procs``).
    "idle": [
        ("conns", result("connected"), None),
        ("procs", field("server_procs"), None),
        ("RSS MiB", mib, None),
        ("RSS KiB/conn", field("rss_per_conn_kib"), "down"),
        ("PSS MiB", pss_mib, None),
        ("CPU µs/conn/s", field("idle_cpu_us_per_conn_s"), "down"),
        ("connect s", field("connect_s"), None),
        ("alive at end", field("alive_end"), None),
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
    "http": "http",
}


def kind_of(scenario: str) -> str:
    return KIND.get(scenario.split("-")[0], "echo")


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
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
        fail = f"FAIL lost={r.get('lost')} order={r.get('out_of_order')} bad={r.get('bad')}"
        if "alive_end" in r:
            fail += f" alive={r['alive_end']} closes={r.get('unexpected_closes')}"
        out.append(fail)
    if r.get("alive_after") is False:
        out.append("DEAD")
    return " ".join(out) or "ok"


def util(r: Record, name: str) -> str:
    value = r.get(name)
    return f"{value:.0%}" if isinstance(value, float) else "-"


def cpu_per_op(r: Record) -> float | None:
    """The figure the targets are set on: server CPU per operation (per connection per
    second when idle)."""
    value = r.get("server_cpu_us_per_op")
    return value if value is not None else r.get("idle_cpu_us_per_conn_s")


def median_records(records: list[Record]) -> list[tuple[Record, list[float]]]:
    """One record per server (in first-seen order): with repeated runs (``--repeat``), the
    run with the median CPU per operation, with every run's figure for the spread."""
    by_server: dict[str, list[Record]] = {}
    for r in records:
        by_server.setdefault(r["server"], []).append(r)
    out = []
    for runs in by_server.values():
        good = [r for r in runs if "error" not in r and cpu_per_op(r) is not None]
        if not good:
            out.append((runs[0], []))
            continue
        good.sort(key=lambda r: cpu_per_op(r) or 0.0)
        out.append((good[(len(good) - 1) // 2], [cpu_per_op(r) or 0.0 for r in good]))
    return out


def table(scenario: str, records: list[Record]) -> str:
    kind_name = kind_of(scenario)
    cols = COLUMNS[kind_name]
    rows = median_records(records)
    reference = REFERENCES.get(kind_name, REFERENCE)
    if reference in FALLBACK and all(r["server"] != reference for r, _ in rows):
        reference = FALLBACK[reference]
    ref = next((r for r, _ in rows if r["server"] == reference and "error" not in r), None)
    psio = [cpu_per_op(r) for r, _ in rows if r["server"].startswith("psio-") and "error" not in r]
    best_psio = min((v for v in psio if v), default=None)
    repeated = any(len(runs) > 1 for _, runs in rows)
    floors = {
        label: cpu_per_op(r)
        for name, label in FLOORS.items()
        for r, _ in rows
        if r["server"] == name and "error" not in r and cpu_per_op(r)
    }
    header = ["server"]
    for name, _, kind in cols:
        header.append(name)
        if kind:
            header.append(f"vs {SHORT.get(reference, reference)}")
    header += ["psio ÷ this", *floors, "server CPU", "gen CPU", "checks"]
    if repeated:
        header.append("CPU/op of each run")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r, runs in rows:
        row = [r["server"]]
        for _, get, kind in cols:
            value = get(r) if "error" not in r else None
            row.append(fmt(value))
            if kind:
                row.append(ratio(value, get(ref) if ref else None))
        mine = cpu_per_op(r) if "error" not in r else None
        row.append(ratio(best_psio, mine) if best_psio and mine else "-")
        row += [ratio(mine, floor) for floor in floors.values()]
        row += [util(r, "server_util"), util(r, "gen_util"), flags(r)]
        if repeated:
            row.append(" / ".join(fmt(v) for v in runs) or "-")
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
        + "\n\nRatios are against Node socket.io in this run (http: FastAPI under uvicorn). "
        "`psio ÷ this`: the CPU per "
        "operation of the better python-socketio server divided by this server's (the "
        "5x target). `server CPU` / `gen CPU`: share of one core used during the measured "
        "phase; GEN: the generator may be the bottleneck. With repeated runs, each row is "
        "the run with the median CPU per operation."
    )
    return "\n\n".join([head, *(table(s, rs) for s, rs in by_scenario.items())]) + "\n"


# Bar colours of the chart, one per server, in the order the servers are drawn.
CHART_SERVERS = {
    "node-socketio": "#7f7f7f",
    "node-socketio-cluster": "#c7c7c7",
    "tether": "#1f77b4",
    "tether-pure": "#aec7e8",
    "tether-workers": "#393b79",
    "tether-asgi-uvicorn": "#9ecae1",
    "tether-hosted": "#17becf",
    "psio-uvicorn": "#d62728",
    "psio-aiohttp": "#ff9896",
    "floor-uvloop": "#2ca02c",
    "floor-uvloop-compiled": "#98df8a",
}


def chart_rows(records: list[Record]) -> dict[str, dict[str, float]]:
    """Per scenario, each server's CPU per operation divided by Node's in the same file (the
    median run with ``--repeat``; Node's cluster where Node alone did not run); scenarios
    without a Node figure are left out."""
    by_scenario: dict[str, list[Record]] = {}
    for r in records:
        by_scenario.setdefault(r["scenario"], []).append(r)
    rows: dict[str, dict[str, float]] = {}
    for scenario, runs in by_scenario.items():
        medians = {r["server"]: cpu_per_op(r) for r, _ in median_records(runs) if "error" not in r}
        ref = medians.get(REFERENCE) or medians.get(FALLBACK[REFERENCE])
        if not ref:
            continue
        rows[scenario] = {s: v / ref for s, v in medians.items() if v}
    return rows


def chart(path: Path, out: Path) -> None:
    """Draw the server CPU per operation of each scenario in ``path``, relative to Node
    (lower is better, log scale), into ``out`` (SVG or PNG, by its suffix). The SVG is the
    same bytes for the same input."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = chart_rows(records)
    if not rows:
        raise SystemExit(f"{path}: no scenario with a {REFERENCE} record to compare with")
    servers = [s for s in CHART_SERVERS if any(s in row for row in rows.values())]
    scenarios = list(rows)
    height = 0.8 / len(servers)
    plt.rcParams["svg.hashsalt"] = "tether-bench"
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.16 * len(scenarios) * len(servers)))
    for i, server in enumerate(servers):
        ys = [n - 0.4 + height * (i + 0.5) for n in range(len(scenarios))]
        xs = [rows[s].get(server, 0.0) for s in scenarios]
        ax.barh(ys, xs, height=height, label=server, color=CHART_SERVERS[server])
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(scenarios)), scenarios)
    ax.invert_yaxis()
    ax.set_xlabel(f"server CPU per operation ÷ {REFERENCE} (log scale; lower is better)")
    started = records[0].get("meta", {}).get("started", "")
    ax.set_title(f"{path.name} ({started})", fontsize=9)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g\N{MULTIPLICATION SIGN}"))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    metadata = {"Date": None} if out.suffix == ".svg" else {}
    fig.savefig(out, metadata=metadata)
    plt.close(fig)


def results_file(ap: argparse.ArgumentParser, path: Path | None) -> Path:
    """``path``, or else the newest ``bench/results/*.jsonl`` (a usage error when there is
    none)."""
    if path is not None:
        return path
    files = sorted((Path(__file__).resolve().parent / "results").glob("*.jsonl"))
    if not files:
        ap.error("no results yet: run python -m bench.run first")
    return files[-1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.render", description=__doc__.split("\n")[0])
    ap.add_argument("file", type=Path, nargs="?", help="default: the newest bench/results/*.jsonl")
    ap.add_argument("--chart", type=Path, metavar="PATH", help="also draw a chart (.svg, .png)")
    args = ap.parse_args(argv)
    path = results_file(ap, args.file)
    sys.stdout.write(render(path))
    if args.chart is not None:
        chart(path, args.chart)
    return 0


if __name__ == "__main__":
    sys.exit(main())
