"""The benchmark driver: every scenario against every server, one fresh server per record.

    python -m bench.run [--servers a,b] [--scenarios x,y] [--scale toy|default|large]
                        [--out FILE] [--set scenario.key=value ...]

Each server is started pinned to CPU 0 (``taskset -c 0``) and the load generator
(``bench/loadgen.mjs``) to CPU 1. At the generator's marks the driver reads the server's
and the generator's CPU time (utime + stime, ``/proc/<pid>/stat``) and the server's RSS
(``VmRSS``), summed over the server's process tree (a multi-process server's workers, found at
each mark through ``/proc/<pid>/task/*/children``), beside the sum of its PSS
(``/proc/<pid>/smaps_rollup``). With ``gens`` > 1 (idle scenarios), that many generators share
the connections. One JSON line per (server, scenario) goes to ``bench/results/<timestamp>.jsonl``;
``python -m bench.render FILE`` prints the tables.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import queue
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from bench.versions import versions

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PY = sys.executable

#: Runs the compiled floor: its folder ($FLOOR_COMPILED, made by compiled_floor()) goes first on
#: the path, as a compiled module can't be run with -m.
FLOOR_COMPILED_MAIN = (
    "import sys; sys.path.insert(0, sys.argv[1]); import floor_uvloop, uvloop; "
    "uvloop.run(floor_uvloop.main())"
)

SERVERS: dict[str, list[str]] = {
    "node-socketio": ["node", str(BENCH / "servers" / "node_socketio.mjs")],
    "tether": [PY, "-m", "bench.servers.tether_contract"],
    # The same server on the pure-Python modules (TETHER_PURE_PYTHON=1, see SERVER_ENV).
    "tether-pure": [PY, "-m", "bench.servers.tether_contract"],
    "tether-metrics": [PY, "-m", "bench.servers.tether_metrics"],
    "tether-typed": [PY, "-m", "bench.servers.tether_typed"],
    "tether-asgi-uvicorn": [PY, "-m", "bench.servers.tether_asgi"],
    # What a user runs: `tether serve` hosting tether.ASGIApp(io, other_asgi_app=<FastAPI>).
    "tether-hosted": [
        PY,
        *("-m", "tether", "serve", "bench.servers.tether_hosted:app"),
        *("--host", "127.0.0.1", "--port", "$PORT"),
    ],
    "psio-uvicorn": [PY, "-m", "bench.servers.psio_uvicorn"],
    "psio-aiohttp": [PY, "-m", "bench.servers.psio_aiohttp"],
    "floor-uvloop": [PY, "-m", "bench.servers.floor_uvloop"],
    # The floor compiled by mypyc as tether's per-message path is (see compiled_floor()).
    "floor-uvloop-compiled": [PY, "-c", FLOOR_COMPILED_MAIN, "$FLOOR_COMPILED"],
    "fastapi-uvicorn": [PY, "-m", "bench.servers.fastapi_uvicorn"],
    # Several processes on one port ($WORKERS of them, the scenario's `workers`): `tether serve
    # --workers` (a parent hands each connection to a worker) and Node's cluster module.
    "tether-workers": [
        PY,
        *("-m", "tether", "serve", "bench.servers.tether_contract:io"),
        *("--workers", "$WORKERS", "--host", "127.0.0.1", "--port", "$PORT"),
    ],
    "node-socketio-cluster": ["node", str(BENCH / "servers" / "node_socketio_cluster.mjs")],
}

#: Servers of several processes: the number of workers is the scenario's ``workers`` param
#: (``DEFAULT_WORKERS`` without one), passed as $WORKERS.
MULTI_PROCESS = frozenset({"tether-workers", "node-socketio-cluster"})
DEFAULT_WORKERS = 2

#: The environment of a server on top of the driver's: tether's per-message path runs compiled
#: when the installed tether was built so (``tether --version``), pure Python here.
SERVER_ENV: dict[str, dict[str, str]] = {
    "tether": {"TETHER_PURE_PYTHON": "0"},
    "tether-pure": {"TETHER_PURE_PYTHON": "1"},
}

#: Servers that answer only some scenarios: the floor (not a Socket.IO server, the least
#: Python on uvloop can do to answer the echoes) is measured where it can answer.
ONLY_SCENARIOS: dict[str, frozenset[str]] = {
    "floor-uvloop": frozenset({"echo", "polling", "binary-1k", "binary-64k"}),
    "floor-uvloop-compiled": frozenset({"echo", "polling", "binary-1k", "binary-64k"}),
    "fastapi-uvicorn": frozenset({"http-json"}),
    # Its echo takes a pydantic model: only the object echo sends one.
    "tether-typed": frozenset({"echo-typed"}),
    # The multi-process servers are there for the many-connection scenarios. Node's cluster
    # has no sticky sessions (@socket.io/sticky would be needed for long-polling): only
    # WebSocket-only clients, which the connect and idle scenarios' are.
    "tether-workers": frozenset({"connect-1k", "connect-10k", "idle", "idle-max"}),
    "node-socketio-cluster": frozenset({"connect-1k", "connect-10k", "idle", "idle-max"}),
}

#: Scenarios only some servers answer: the FastAPI route is served by the servers that host
#: the FastAPI app (``servers/fastapi_app.py``).
ONLY_SERVERS: dict[str, frozenset[str]] = {
    "http-json": frozenset({"tether-hosted", "fastapi-uvicorn"}),
    # 100,000 connections need several processes on this machine (20,000 descriptors each):
    # a one-process server's idle figures come from `idle` (`--set idle.n=19000` for more).
    "idle-max": frozenset({"tether-workers", "node-socketio-cluster"}),
}

# Scenario name -> (loadgen scenario, parameters per scale).
SCENARIOS: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "connect-1k": (
        "connect",
        {"toy": {"n": 200}, "default": {"n": 1000}, "large": {"n": 1000}},
    ),
    "connect-10k": (
        "connect",
        {"toy": {"n": 1000}, "default": {"n": 10000}, "large": {"n": 10000}},
    ),
    "echo": (
        "echo",
        {
            "toy": {"clients": 10, "seconds": 2, "size": 16},
            "default": {"clients": 50, "seconds": 8, "size": 16},
            "large": {"clients": 200, "seconds": 20, "size": 16},
        },
    ),
    # The echo of one small object ({n, text}): every server's untyped echo, and tether-typed's
    # handler that validates it into a pydantic model and serializes the model back.
    "echo-typed": (
        "echo-object",
        {
            "toy": {"clients": 10, "seconds": 2, "size": 16},
            "default": {"clients": 50, "seconds": 8, "size": 16},
            "large": {"clients": 200, "seconds": 20, "size": 16},
        },
    ),
    "fanout": (
        "fanout",
        {
            "toy": {"members": 100, "count": 1000, "size": 64},
            "default": {"members": 1000, "count": 1000, "size": 64, "timeout_s": 120},
            "large": {"members": 2000, "count": 500, "size": 64},
        },
    ),
    "polling": (
        "polling",
        {
            "toy": {"clients": 5, "seconds": 2, "size": 16},
            "default": {"clients": 20, "seconds": 8, "size": 16},
            "large": {"clients": 100, "seconds": 20, "size": 16},
        },
    ),
    "binary-1k": (
        "binary",
        {
            "toy": {"clients": 10, "seconds": 2, "size": 1024},
            "default": {"clients": 50, "seconds": 8, "size": 1024},
            "large": {"clients": 100, "seconds": 20, "size": 1024},
        },
    ),
    "binary-64k": (
        "binary",
        {
            "toy": {"clients": 5, "seconds": 2, "size": 65536},
            "default": {"clients": 20, "seconds": 8, "size": 65536},
            "large": {"clients": 50, "seconds": 20, "size": 65536},
        },
    ),
    "rooms": (
        "rooms",
        {
            "toy": {"rooms": 50, "members": 4, "count": 500, "size": 64},
            "default": {"rooms": 250, "members": 4, "count": 1000, "size": 64, "timeout_s": 120},
            "large": {"rooms": 1000, "members": 5, "count": 100, "size": 64},
        },
    ),
    "cluster-fanout": (
        "fanout",
        {
            "toy": {"members": 100, "count": 500, "size": 64},
            "default": {"members": 1000, "count": 1000, "size": 64, "timeout_s": 120},
            "large": {"members": 2000, "count": 500, "size": 64},
        },
    ),
    "idle": (
        "idle",
        {
            "toy": {"n": 500, "seconds": 3},
            "default": {"n": 5000, "seconds": 30},
            "large": {"n": 10000, "seconds": 60},
        },
    ),
    "http-json": (
        "http",
        {
            "toy": {"clients": 4, "requests": 2000, "timeout_s": 30},
            "default": {"clients": 32, "requests": 60000, "timeout_s": 60},
            "large": {"clients": 100, "requests": 200000, "timeout_s": 120},
        },
    ),
    # `gens` generator processes share the n connections, `workers` is the number of
    # processes of a multi-process server: each process stays under the descriptor limit.
    "idle-max": (
        "idle",
        {
            "toy": {"n": 2000, "seconds": 3, "sources": 2, "gens": 2, "workers": 2},
            "default": {"n": 100_000, "seconds": 30, "sources": 25, "gens": 6, "workers": 7},
            "large": {"n": 100_000, "seconds": 60, "sources": 25, "gens": 6, "workers": 7},
        },
    ),
}

#: Seconds a record of these scenarios may take at least (``--timeout`` if longer):
#: connecting 100,000 clients to a server on one core takes minutes.
TIMEOUTS: dict[str, float] = {"idle-max": 1200}

#: Scenarios run against two servers of one kind joined by a redis-server of their own; the
#: members connect to both in turn, the CPU figure is the two servers' together.
CLUSTER_SCENARIOS = frozenset({"cluster-fanout"})
#: Servers that can join a cluster through Redis ($REDIS_URL).
CLUSTER_SERVERS = frozenset(
    {"node-socketio", "tether", "tether-pure", "tether-hosted", "psio-uvicorn"}
)

#: File descriptors asked for (idle-max wants 100k on each side; where the hard limit is
#: lower and cannot be raised, idle-max is clipped to it and says so in its params).
NOFILE = 262_144

GEN_BOUND = 0.85  # generator CPU / wall above this: the generator, not the server, may limit


def generator_bound(gen_util: float | None, server_util: float | None) -> bool:
    """The generator may have limited the figure: it used most of its core, or it used more
    CPU than the server while the server was not saturated."""
    if gen_util is None or server_util is None:
        return False
    return gen_util >= GEN_BOUND or (gen_util >= 0.5 and gen_util > server_util < GEN_BOUND)


def cpu_times(pid: int) -> tuple[float, float]:
    """utime and stime of ``pid`` (fields 14 and 15 of /proc/<pid>/stat), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def minor_faults(pid: int) -> int:
    """Minor page faults of ``pid`` so far (field 10 of /proc/<pid>/stat): each is kernel
    time spent mapping a page, which a heap that keeps shrinking and regrowing pays."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[7])


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid``, in seconds."""
    return sum(cpu_times(pid))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pss_kib(pid: int) -> int:
    """The proportional set size of ``pid`` (its shared pages divided among their users)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants alive now (``/proc/<pid>/task/*/children``), parents first;
    a process that exits meanwhile is left out."""
    out = [pid]
    i = 0
    while i < len(out):
        for task in Path(f"/proc/{out[i]}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                out.extend(int(child) for child in task.read_text().split())
        i += 1
    return out


def tree_sample(pid: int) -> dict[str, float]:
    """CPU seconds (utime + stime), kernel CPU seconds, RSS and PSS (KiB) of ``pid`` and its
    descendants, summed, and how many processes that is."""
    total = {"cpu": 0.0, "sys": 0.0, "rss": 0.0, "pss": 0.0, "faults": 0.0, "procs": 0.0}
    for p in tree(pid):
        try:
            user, system = cpu_times(p)
            rss, pss = rss_kib(p), pss_kib(p)
            faults = minor_faults(p)
        except (OSError, ValueError, IndexError):  # it exited while being read
            continue
        total["cpu"] += user + system
        total["sys"] += system
        total["rss"] += rss
        total["pss"] += pss
        total["faults"] += faults
        total["procs"] += 1
    return total


#: Fields of the generators' results taken as the largest of them rather than summed.
MAX_FIELDS = frozenset({"seconds", "connect_seconds", "p50_ms", "p99_ms"})


def merge_results(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The results of several generators as one: counts summed, durations (``MAX_FIELDS``)
    the longest, lists joined (the first 5 items), flags true if any is, other fields the
    first generator's."""
    out: dict[str, Any] = {}
    for r in results:
        for key, value in r.items():
            if key not in out:
                out[key] = list(value) if isinstance(value, list) else value
            elif isinstance(value, bool) or value is None or out[key] is None:
                out[key] = out[key] or value
            elif isinstance(value, list):
                out[key] = (out[key] + value)[:5]
            elif isinstance(value, int | float):
                out[key] = max(out[key], value) if key in MAX_FIELDS else out[key] + value
    return out


def shares(n: int, gens: int) -> list[int]:
    """``n`` split into ``gens`` near-equal parts."""
    return [n // gens + (1 if i < n % gens else 0) for i in range(gens)]


def server_processes(server: str, params: dict[str, Any]) -> int:
    """How many processes of ``server`` hold connections under ``params``."""
    return int(params.get("workers", DEFAULT_WORKERS)) if server in MULTI_PROCESS else 1


def clip(server: str, scenario: str, params: dict[str, Any], nofile: int) -> dict[str, Any]:
    """``params`` of ``idle-max`` with ``n`` clipped to what the descriptor limit allows:
    each server process and each generator holds one descriptor per connection it has, and
    may have ``nofile - 1000`` of them (then ``n_wanted`` keeps the wish)."""
    if scenario != "idle-max":
        return params
    per_process = nofile - 1000
    most = per_process * min(server_processes(server, params), int(params.get("gens", 1)))
    if params["n"] > most:
        return {**params, "n": most, "n_wanted": params["n"]}
    return params


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cpu: int, argv: list[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(cpu), *argv]
    return argv


_floor_dir: str | None = None


def compiled_floor() -> str:
    """A folder holding ``servers/floor_uvloop.py`` compiled by mypyc (the mypy of the dev
    extra), made once per run, removed at exit."""
    global _floor_dir
    if _floor_dir is None:
        folder = tempfile.mkdtemp(prefix="tether-floor-")
        atexit.register(shutil.rmtree, folder, True)
        shutil.copy(BENCH / "servers" / "floor_uvloop.py", folder)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        done = subprocess.run(
            [PY, "-m", "mypyc", "--ignore-missing-imports", "floor_uvloop.py"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"mypyc could not compile the floor: {done.stdout[-500:]}")
        _floor_dir = folder
    return _floor_dir


def start_server(
    name: str,
    port: int,
    log: IO[str],
    timeout: float = 20.0,
    redis_url: str | None = None,
    workers: int = DEFAULT_WORKERS,
) -> subprocess.Popen[str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PORT": str(port), "PYTHONPATH": path, **SERVER_ENV.get(name, {})}
    if redis_url:
        env["REDIS_URL"] = redis_url
    env["WORKERS"] = str(workers)
    argv = [
        arg.replace("$PORT", str(port)).replace("$WORKERS", str(workers)) for arg in SERVERS[name]
    ]
    if "$FLOOR_COMPILED" in argv:
        argv = [arg.replace("$FLOOR_COMPILED", compiled_floor()) for arg in argv]
    proc = subprocess.Popen(
        pinned(0, argv),
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        # `tether serve` says "tether: serving ..." once it listens; the others READY.
        if line.strip() == "READY" or line.startswith("tether: serving "):
            return proc
    stop(proc)
    log.seek(0)
    raise RuntimeError(f"{name} did not print READY: {log.read()[-500:]}")


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM to ``proc`` (a multi-process server stops its own workers), SIGKILL to what
    is left of its process tree once it had time to stop."""
    if proc.poll() is None:
        pids = tree(proc.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5 if len(pids) == 1 else 20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for pid in pids[1:]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    if proc.stdout is not None:
        proc.stdout.close()


def run_one(server: str, scenario: str, params: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Starts ``server`` fresh, runs ``scenario`` against it, stops it; returns the record."""
    with tempfile.TemporaryFile("w+") as log:
        record = _run_one(server, scenario, params, timeout, log)
        log.seek(0)
        tail = log.read()[-2000:]
    if tail.strip():
        record["server_stderr"] = tail
    return record


class _Processes:
    """The servers of one record, read as one: the CPU time, RSS and PSS of their process
    trees are summed."""

    def __init__(self, procs: list[subprocess.Popen[str]]) -> None:
        self.procs = procs
        self.pid = procs[0].pid

    def sample(self) -> dict[str, float]:
        """``tree_sample`` of every server, summed."""
        out: dict[str, float] = {}
        for proc in self.procs:
            for key, value in tree_sample(proc.pid).items():
                out[key] = out.get(key, 0.0) + value
        return out

    def settle(self, processes: int, timeout: float = 30.0) -> None:
        """Wait until the servers count ``processes`` processes and their CPU time stays
        still for 0.3 s: a multi-process server's workers may still be starting when its
        parent says it listens."""
        deadline = time.monotonic() + timeout
        last = -1.0
        while time.monotonic() < deadline:
            now = self.sample()
            if now["procs"] >= processes and now["cpu"] == last:
                return
            last = now["cpu"]
            time.sleep(0.3)

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs)


@contextlib.contextmanager
def redis_server() -> Any:
    """A redis-server of the run's own on a free port (pinned with the generator)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        proc = subprocess.Popen(
            pinned(
                1,
                [
                    binary,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--dir",
                    workdir,
                ],
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                    break
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait()


def _run_one(
    server: str, scenario: str, params: dict[str, Any], timeout: float, log: IO[str]
) -> dict[str, Any]:
    if (server in ONLY_SCENARIOS and scenario not in ONLY_SCENARIOS[server]) or (
        scenario in ONLY_SERVERS and server not in ONLY_SERVERS[scenario]
    ):
        return {"server": server, "scenario": scenario, "params": params, "skipped": True}
    if scenario in CLUSTER_SCENARIOS:
        if server not in CLUSTER_SERVERS:
            return {"server": server, "scenario": scenario, "params": params, "skipped": True}
        with redis_server() as url:
            ports = [free_port(), free_port()]
            procs: list[subprocess.Popen[str]] = []
            try:
                procs.extend(start_server(server, port, log, redis_url=url) for port in ports)
                return _measure(server, scenario, params, timeout, _Processes(procs), ports)
            finally:
                for proc in procs:
                    stop(proc)
    port = free_port()
    workers = server_processes(server, params)
    proc = start_server(server, port, log, workers=workers)
    try:
        measured = _Processes([proc])
        if server in MULTI_PROCESS:
            measured.settle(workers + 1)
        return _measure(server, scenario, params, timeout, measured, [port])
    finally:
        stop(proc)


def _measure(
    server: str,
    scenario: str,
    params: dict[str, Any],
    timeout: float,
    procs: _Processes,
    ports: list[int],
) -> dict[str, Any]:
    kind = SCENARIOS[scenario][0]
    record: dict[str, Any] = {"server": server, "scenario": scenario, "params": params}
    samples: dict[str, dict[str, float]] = {}
    time.sleep(0.3)
    samples["start"] = procs.sample()
    extra = {"ports": ports} if len(ports) > 1 else {}
    gens = int(params.get("gens", 1))
    if gens > 1 and "n" not in params:
        raise ValueError(f"{scenario}: gens > 1 needs a scenario of n connections")
    cfgs = [
        json.dumps(
            {
                "scenario": kind,
                "port": ports[0],
                **extra,
                **params,
                **({"n": share, "source_offset": i} if gens > 1 else {}),
            }
        )
        for i, share in enumerate(shares(int(params.get("n", 0)), gens))
    ]
    result = drive(procs, cfgs, samples, timeout)
    record["alive_after"] = procs.alive()
    if result is None:
        record["error"] = "the generator exited without a result (see its stderr)"
        return record
    record["result"] = result
    record.update(summarise(kind, params, samples, result))
    return record


def drive(
    server: _Processes,
    cfgs: list[str],
    samples: dict[str, dict[str, float]],
    timeout: float,
) -> dict[str, Any] | None:
    """Runs one generator per config in ``cfgs`` (their results merged), sampling the server
    and the generators once every generator has printed a mark, then letting them all go on.
    If a generator exits without a result, the others are stopped."""
    gens = [
        subprocess.Popen(
            pinned(1, ["node", str(BENCH / "loadgen.mjs"), cfg]),
            cwd=BENCH,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for cfg in cfgs
    ]
    lines: queue.Queue[tuple[int, str | None]] = queue.Queue()

    def read(i: int, out: IO[str]) -> None:
        for line in out:
            lines.put((i, line))
        lines.put((i, None))

    def kill_all() -> None:
        for gen in gens:
            with contextlib.suppress(OSError):
                gen.kill()

    results: list[dict[str, Any] | None] = [None] * len(gens)
    at_mark: dict[str, int] = {}
    readers = []
    for i, gen in enumerate(gens):
        assert gen.stdout is not None
        readers.append(threading.Thread(target=read, args=(i, gen.stdout), daemon=True))
        readers[-1].start()
    watchdog = threading.Timer(timeout, kill_all)
    watchdog.start()
    try:
        running = len(gens)
        while running:
            i, line = lines.get()
            if line is None:
                running -= 1
                if results[i] is None:
                    kill_all()
            elif line.startswith("MARK "):
                name = line.split()[1]
                at_mark[name] = at_mark.get(name, 0) + 1
                if at_mark[name] == len(gens):
                    gen_cpu = 0.0
                    for gen in gens:
                        with contextlib.suppress(OSError, ValueError, IndexError):
                            gen_cpu += cpu_seconds(gen.pid)
                    samples[name] = {
                        **server.sample(),
                        "gen_cpu": gen_cpu,
                        "wall": time.monotonic(),
                    }
                    for gen in gens:
                        assert gen.stdin is not None
                        with contextlib.suppress(OSError):
                            gen.stdin.write("go\n")
                            gen.stdin.flush()
            elif line.startswith("RESULT "):
                results[i] = json.loads(line[7:])
    finally:
        watchdog.cancel()
        for gen in gens:
            for pipe in (gen.stdin, gen.stdout):
                with contextlib.suppress(OSError):
                    if pipe is not None:
                        pipe.close()
            gen.wait()
    if any(r is None for r in results):
        return None
    merged = merge_results([r for r in results if r is not None])
    if len(gens) > 1:
        merged["gens"] = len(gens)
    return merged


def summarise(
    kind: str, params: dict[str, Any], s: dict[str, dict[str, float]], r: dict[str, Any]
) -> dict[str, Any]:
    begin, end = s["begin"], s["end"]
    wall = end["wall"] - begin["wall"]
    server_cpu = end["cpu"] - begin["cpu"]
    gen_cpu = end["gen_cpu"] - begin["gen_cpu"]
    ops = r.get("ops") or 0
    out: dict[str, Any] = {
        "wall_s": wall,
        "server_cpu_s": server_cpu,
        "server_util": server_cpu / wall if wall else None,
        "gen_cpu_s": gen_cpu,
        "gen_util": gen_cpu / wall if wall else None,
        "rss_start_kib": s["start"]["rss"],
        "rss_end_kib": end["rss"],
        "ops": ops,
        "ops_per_s": ops / wall if wall and ops else None,
        "server_cpu_us_per_op": server_cpu * 1e6 / ops if ops else None,
        "server_sys_us_per_op": (end["sys"] - begin["sys"]) * 1e6 / ops if ops else None,
        "server_faults_per_op": (
            (end["faults"] - begin["faults"]) / ops if ops and "faults" in end else None
        ),
        "lost": r.get("lost", 0) + r.get("failed", 0),
        "out_of_order": r.get("out_of_order", 0),
        "bad": r.get("bad", 0),
        "errors": r.get("errors", 0),
        "unexpected_closes": r.get("closes", 0),
    }
    out["gen_bound"] = generator_bound(out["gen_util"], out["server_util"])
    out["ok"] = not (out["lost"] or out["out_of_order"] or out["bad"] or r.get("timed_out"))
    if kind == "connect":
        settled = s["settled"]["rss"]
        n = r.get("connected") or 0
        out["rss_settled_kib"] = settled
        out["rss_per_conn_kib"] = (settled - s["start"]["rss"]) / n if n else None
    out["server_procs"] = int(end.get("procs", 1))
    out["pss_start_kib"] = s["start"].get("pss")
    out["pss_end_kib"] = end.get("pss")
    if kind == "idle":
        n = r.get("connected") or 0
        out["rss_per_conn_kib"] = (end["rss"] - s["start"]["rss"]) / n if n else None
        if "connect" in s and "connected" in s:
            connect, connected = s["connect"], s["connected"]
            out["connect_s"] = connected["wall"] - connect["wall"]
            cpu = connected["cpu"] - connect["cpu"]
            out["connect_cpu_us_per_conn"] = cpu * 1e6 / n if n else None
            # Which side limited the connecting: shares of one core while it lasted.
            seconds = out["connect_s"]
            out["connect_server_util"] = cpu / seconds if seconds else None
            gen_cpu = connected["gen_cpu"] - connect["gen_cpu"]
            out["connect_gen_util"] = gen_cpu / seconds if seconds else None
        out["alive_end"] = r.get("alive_end")
        # Every connection made, still there, and answering at the end.
        out["ok"] = (
            out["ok"]
            and r.get("alive_end") == n == params.get("n")
            and not (r.get("closes") or r.get("failed"))
        )
        out["idle_cpu_us_per_conn_s"] = server_cpu * 1e6 / n / wall if n and wall else None
        out["ops_per_s"] = None
        out["server_cpu_us_per_op"] = None
    return out


def parse_sets(items: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, _, value = item.partition("=")
        scenario, _, param = key.partition(".")
        out.setdefault(scenario, {})[param] = json.loads(value)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    ap.add_argument("--servers", default=",".join(SERVERS), help="comma-separated")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    ap.add_argument("--scale", default="default", choices=["toy", "default", "large"])
    ap.add_argument("--set", action="append", default=[], metavar="SCENARIO.KEY=JSON")
    ap.add_argument("--out", type=Path, help="default: bench/results/<UTC timestamp>.jsonl")
    ap.add_argument("--timeout", type=float, default=180, help="seconds per record")
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of each server x scenario, in rounds over the servers (the table shows "
        "the median)",
    )
    ap.add_argument(
        "--repeat-scenarios",
        metavar="X,Y",
        help="comma-separated: repeat only these scenarios (the others run once)",
    )
    args = ap.parse_args(argv)

    # Enough descriptors for idle-100k (servers and generator inherit it); without the right
    # to raise the hard limit, the hard limit.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, max(NOFILE, hard)))
    except (ValueError, OSError):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    servers = [s for s in args.servers.split(",") if s]
    scenarios = [s for s in args.scenarios.split(",") if s]
    for name in servers:
        if name not in SERVERS:
            ap.error(f"unknown server {name!r}; known: {', '.join(SERVERS)}")
    for name in scenarios:
        if name not in SCENARIOS:
            ap.error(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    repeated = set(args.repeat_scenarios.split(",")) if args.repeat_scenarios else set(scenarios)
    for name in repeated - set(SCENARIOS):
        ap.error(f"unknown scenario {name!r} in --repeat-scenarios")
    overrides = parse_sets(args.set)
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    out = args.out or RESULTS / time.strftime("%Y%m%dT%H%M%SZ.jsonl", time.gmtime())
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "versions": versions(),
        "scale": args.scale,
        "cpus": os.cpu_count(),
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "pinned": bool(shutil.which("taskset")) and (os.cpu_count() or 1) > 1,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        # BENCH_PARSER=msgpack (servers and generator read it): socket.io-msgpack-parser.
        "parser": os.environ.get("BENCH_PARSER", "json"),
    }
    with out.open("a") as f:
        for scenario in scenarios:
            wanted = {**SCENARIOS[scenario][1][args.scale], **overrides.get(scenario, {})}
            timeout = max(args.timeout, TIMEOUTS.get(scenario, 0))
            repeat = args.repeat if scenario in repeated else 1
            for rep, server in ((r, s) for r in range(repeat) for s in servers):
                # Each side holds one descriptor per connection: the limit is the ceiling.
                params = clip(server, scenario, wanted, nofile)
                t0 = time.monotonic()
                try:
                    record = run_one(server, scenario, params, timeout)
                except Exception as exc:  # one broken server must not stop the run
                    record = {"server": server, "scenario": scenario, "params": params}
                    record["error"] = f"{type(exc).__name__}: {exc}"
                record["meta"] = meta
                if repeat > 1:
                    record["run"] = rep + 1
                if record.pop("skipped", False):
                    continue
                f.write(json.dumps(record) + "\n")
                f.flush()
                status = record.get("error") or ("ok" if record.get("ok") else "CHECKS FAILED")
                print(
                    f"{scenario:12} {server:20} {time.monotonic() - t0:5.1f}s  {status}",
                    file=sys.stderr,
                )
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
