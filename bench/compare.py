"""Before/after on one machine: ``python -m bench.compare DIR PREFIX`` reads
``DIR/<PREFIX>before-*.jsonl`` and ``DIR/<PREFIX>after-*.jsonl`` (runs of ``bench.run`` with
two trees of tether, alternated) and prints, per scenario and server, the median server CPU
per operation (per connection-second for the idle scenarios), every run's figure, the ratio,
and memory per connection."""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def load(
    folder: Path, prefix: str
) -> dict[tuple[str, str], dict[str, list[tuple[float, float | None]]]]:
    data: dict[tuple[str, str], dict[str, list[tuple[float, float | None]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for tree in ("before", "after"):
        for path in sorted(folder.glob(f"{prefix}{tree}-*.jsonl")):
            for line in path.read_text().splitlines():
                record = json.loads(line)
                cpu = record.get("server_cpu_us_per_op")
                if cpu is None:
                    cpu = record.get("idle_cpu_us_per_conn_s")
                if not record.get("ok") or cpu is None:
                    continue
                key = (record["scenario"], record["server"])
                data[key][tree].append((cpu, record.get("rss_per_conn_kib")))
    return data


def main(argv: list[str]) -> int:
    folder, prefix = Path(argv[0]), argv[1] if len(argv) > 1 else ""
    print(
        "| scenario | server | before µs/op (runs) | after µs/op (runs) | after/before | KiB/conn |"
    )
    print("|---|---|---|---|---|---|")
    for (scenario, server), runs in sorted(load(folder, prefix).items()):
        before = [cpu for cpu, _ in runs["before"]]
        after = [cpu for cpu, _ in runs["after"]]
        if not before or not after:
            continue
        mb, ma = statistics.median(before), statistics.median(after)
        kib_b = [k for _, k in runs["before"] if k is not None]
        kib_a = [k for _, k in runs["after"] if k is not None]
        kib = (
            f"{statistics.median(kib_b):.2f} → {statistics.median(kib_a):.2f}"
            if kib_b and kib_a
            else ""
        )
        b = "/".join(f"{x:.3g}" for x in before)
        a = "/".join(f"{x:.3g}" for x in after)
        print(
            f"| {scenario} | {server} | {mb:.3g} ({b}) | {ma:.3g} ({a}) | {ma / mb:.2f} | {kib} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
