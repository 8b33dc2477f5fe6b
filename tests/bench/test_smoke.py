"""A smoke test of the benchmark harness: a few scenarios at toy size against tether (bare,
with metrics on, and hosting FastAPI through ``tether serve``) and FastAPI under uvicorn, and
``idle-max`` against the multi-process servers (``tether serve --workers``, Node's cluster)
from several generators.

It checks the shape of the record and the loss / order / content checks, never a timing:
benchmarks are run with ``make bench``, not by pytest. Needs Node and ``bench/node_modules``
(``cd bench && npm ci``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import render, run

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


def test_hosted_server_runs_the_socketio_scenarios() -> None:
    """``tether-hosted`` (``tether serve`` hosting FastAPI beside Socket.IO) answers the
    contract as the bare server does."""
    params = {"clients": 2, "seconds": 0.5, "size": 16}
    record = run.run_one("tether-hosted", "echo", params, timeout=30)
    assert "error" not in record, record.get("error")
    assert record["alive_after"] is True
    assert record["ops"] > 0
    assert record["ok"] is True


def test_http_json_against_hosted_and_uvicorn(tmp_path: Path) -> None:
    """The FastAPI route scenario: every request answered and checked on both servers, the
    others skipped, and the table shows them side by side against uvicorn."""
    params = {"clients": 2, "requests": 300, "timeout_s": 20}
    records = [
        run.run_one(server, "http-json", params, timeout=60)
        for server in ("tether-hosted", "fastapi-uvicorn")
    ]
    for record in records:
        assert "error" not in record, record.get("error")
        assert record["result"]["connected"] == 2
        assert record["ops"] == 300
        assert (record["lost"], record["bad"], record["errors"]) == (0, 0, 0)
        assert record["unexpected_closes"] == 0
        assert record["ok"] is True
        assert record["server_cpu_us_per_op"] is not None
    assert run.run_one("tether", "http-json", params, timeout=60)["skipped"] is True
    assert run.run_one("fastapi-uvicorn", "echo", params, timeout=60)["skipped"] is True
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in records))
    table = render.render(results)
    assert "### http-json" in table
    assert "| req/s | vs uvicorn |" in table
    assert "| tether-hosted |" in table and "| fastapi-uvicorn |" in table


@pytest.mark.parametrize("server", ["tether", "node-socketio"])
@pytest.mark.parametrize("scenario", ["echo", "binary-1k"])
def test_msgpack_parser(server: str, scenario: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # BENCH_PARSER=msgpack: servers and generator speak socket.io-msgpack-parser's wire.
    monkeypatch.setenv("BENCH_PARSER", "msgpack")
    params = {"clients": 2, "seconds": 0.5, "size": 1024 if scenario == "binary-1k" else 16}
    record = run.run_one(server, scenario, params, timeout=30)
    assert "error" not in record, record.get("error")
    assert record["result"]["parser"] == "msgpack"  # a JSON server would refuse its CONNECT
    assert record["ops"] > 0
    assert (record["lost"], record["bad"], record["errors"]) == (0, 0, 0)
    assert record["ok"] is True


def test_typed_echo_on_the_typed_server() -> None:
    """``echo-typed`` (one small object each way) is answered by the untyped echo and by
    ``tether-typed``'s handler, which validates it into a pydantic model and sends it back;
    the typed server answers that scenario only."""
    params = {"clients": 2, "seconds": 0.5, "size": 16}
    for server in ("tether", "tether-typed"):
        record = run.run_one(server, "echo-typed", params, timeout=30)
        assert "error" not in record, record.get("error")
        assert record["ops"] > 0
        assert (record["lost"], record["bad"], record["errors"]) == (0, 0, 0)
        assert record["ok"] is True
    assert run.ONLY_SCENARIOS["tether-typed"] == {"echo-typed"}


def test_both_builds_beside_both_floors(tmp_path: Path) -> None:
    """``tether`` (compiled as installed) and ``tether-pure`` (TETHER_PURE_PYTHON=1) answer
    the echo; the floor runs as is and compiled by mypyc; the table divides by each floor."""
    params = {"clients": 2, "seconds": 0.5, "size": 16}
    servers = ["tether", "tether-pure", "floor-uvloop", "floor-uvloop-compiled"]
    out = tmp_path / "run.jsonl"
    with out.open("w") as f:
        for server in servers:
            record = run.run_one(server, "echo", params, timeout=60)
            assert "error" not in record, record.get("error")
            assert record["ok"] is True
            assert record["ops"] > 0
            f.write(json.dumps(record) + "\n")
    lines = render.render(out).splitlines()
    header = next(line for line in lines if line.startswith("| server"))
    assert "| ÷ floor | ÷ floor compiled |" in header
    for server in servers:
        assert any(line.startswith(f"| {server} |") for line in lines), server
    assert run.SERVER_ENV["tether-pure"] == {"TETHER_PURE_PYTHON": "1"}


@pytest.mark.parametrize(
    "flags", [[], ["--binary"], ["--parser", "msgpack"], ["--parser", "msgpack", "--binary"]]
)
def test_micro_bench_counts_every_ack(flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """bench.micro (frames fed by hand, no socket) gets an answer for every message."""
    from bench import micro

    assert micro.main(["--messages", "300", "--rounds", "1", *flags]) == 0
    [record] = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line[:1] == "{"
    ]
    assert record["ok"] and record["frames_back"] == (600 if flags == ["--binary"] else 300)


@pytest.mark.parametrize("server", ["tether-workers", "node-socketio-cluster"])
def test_idle_max_on_several_processes_and_generators(server: str, tmp_path: Path) -> None:
    """``idle-max`` against a multi-process server (2 workers) from 2 generators: every
    connection is made, answers an echo at the end, and the figures cover the whole process
    tree (the parent or primary and its workers)."""
    params = {"n": 60, "seconds": 0.5, "sources": 2, "gens": 2, "workers": 2}
    record = run.run_one(server, "idle-max", params, timeout=60)
    assert "error" not in record, record.get("error")
    assert record["alive_after"] is True
    assert record["result"]["gens"] == 2
    assert record["result"]["connected"] == record["alive_end"] == 60
    assert (record["result"]["failed"], record["unexpected_closes"]) == (0, 0)
    assert record["server_procs"] >= 3
    assert record["connect_s"] > 0
    assert record["ok"] is True
    # Three interpreters (Node processes) weigh more than the one-process server does.
    single_server = {"tether-workers": "tether", "node-socketio-cluster": "node-socketio"}[server]
    single = run.run_one(single_server, "idle", {"n": 60, "seconds": 0.5}, timeout=60)
    assert single["ok"] is True and single["server_procs"] == 1
    assert record["rss_end_kib"] > single["rss_end_kib"]
    assert record["pss_end_kib"] > 0
    out = tmp_path / "run.jsonl"
    out.write_text(json.dumps(record) + "\n")
    table = render.render(out)
    assert "| procs | RSS MiB |" in table and "| alive at end |" in table
    assert f"| {server} | 60 | 3 |" in table


def test_process_tree_and_merged_results() -> None:
    """The tree walk finds a process's children and grandchildren and sums their figures; the
    generators' results merge into one; n is shared out; idle-max is clipped per process."""
    code = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'input()'])"
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    try:
        pids = [parent.pid]
        deadline = time.monotonic() + 20
        while len(pids) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            pids = run.tree(parent.pid)
        assert len(pids) == 2 and pids[0] == parent.pid
        sample = run.tree_sample(parent.pid)
        assert sample["procs"] == 2
        assert sample["rss"] > run.rss_kib(parent.pid)
        assert 0 < sample["pss"] <= sample["rss"]
        assert sample["faults"] >= run.minor_faults(parent.pid) > 0
    finally:
        assert parent.stdin is not None
        parent.stdin.close()  # the grandchild's input() ends, then both exit
        parent.wait(20)
    assert run.tree_sample(parent.pid)["procs"] == 0  # gone: nothing to sum, no error

    merged = run.merge_results(
        [
            {"connected": 3, "connect_seconds": 1.5, "error_samples": ["a"], "parser": "json"},
            {"connected": 4, "connect_seconds": 2.5, "error_samples": ["b"], "parser": "json"},
        ]
    )
    assert merged == {
        "connected": 7,
        "connect_seconds": 2.5,
        "error_samples": ["a", "b"],
        "parser": "json",
    }
    assert run.shares(10, 3) == [4, 3, 3]
    wanted = {"n": 100_000, "gens": 6, "workers": 7}
    assert run.clip("tether-workers", "idle-max", wanted, 20_000) == wanted
    assert run.clip("tether", "idle-max", wanted, 20_000)["n"] == 19_000
    assert run.clip("tether-workers", "idle-max", {**wanted, "gens": 2}, 20_000)["n"] == 38_000


def test_repeat_only_the_scenarios_asked(tmp_path: Path) -> None:
    """``--repeat 2 --repeat-scenarios echo``: echo twice (records numbered), connect once."""
    out = tmp_path / "r.jsonl"
    argv = ["--scale", "toy", "--servers", "tether", "--scenarios", "echo,connect-1k"]
    argv += ["--repeat", "2", "--repeat-scenarios", "echo", "--set", "echo.seconds=0.5"]
    assert run.main([*argv, "--out", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["scenario"], r.get("run")) for r in records] == [
        ("echo", 1),
        ("echo", 2),
        ("connect-1k", None),
    ]
    assert all(r["ok"] for r in records)
    with pytest.raises(SystemExit):
        run.main([*argv, "--repeat-scenarios", "nope", "--out", str(out)])
