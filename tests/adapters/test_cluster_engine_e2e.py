"""The cluster engine end to end, with official ``socket.io-client`` clients (Node): two
tether servers joined by Redis behind nginx in round-robin (the configuration of
docs/deployment.md, no stickiness), one of them stopped mid-run; and ``uvicorn --workers 2``
serving the ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop.harness import INTEROP_DIR, require_node
from tests.support import ENV, ROOT, RedisServer, free_port, start_tether

pytestmark = [pytest.mark.cluster, pytest.mark.interop]

APP = "tests.adapters.cluster_engine_app"
CLIENTS = INTEROP_DIR / "cluster_engine_clients.mjs"


def nginx_block(page: Path) -> str:
    """The nginx block of ``page`` for a cluster without stickiness."""
    blocks = re.findall(r"```nginx\n(.*?)```", page.read_text(), re.S)
    return next(b for b in blocks if "upstream tether_cluster" in b and "ip_hash;" not in b)


def docs_nginx_block() -> str:
    """The block of docs/deployment.md (the README shows the same)."""
    block = nginx_block(ROOT / "docs" / "deployment.md")
    assert nginx_block(ROOT / "README.md") == block
    return block


def nginx_config(tmp: Path, port: int, upstreams: list[int]) -> str:
    block = docs_nginx_block()
    block = block.replace("server 10.0.0.1:3000;", f"server 127.0.0.1:{upstreams[0]};")
    block = block.replace("server 10.0.0.2:3000;", f"server 127.0.0.1:{upstreams[1]};")
    block = block.replace("listen 80;", f"listen 127.0.0.1:{port};")
    assert f"127.0.0.1:{port}" in block and f"127.0.0.1:{upstreams[1]}" in block
    temp = "\n".join(
        f"    {name}_temp_path {tmp / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\nworker_processes 1;\npid {tmp / 'nginx.pid'};\n"
        f"error_log {tmp / 'error.log'} warn;\nevents {{}}\n"
        f"http {{\n    access_log off;\n{temp}\n{block}}}\n"
    )


@contextlib.asynccontextmanager
async def nginx(tmp: Path, upstreams: list[int]) -> AsyncIterator[int]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.fail("nginx is not installed (apt-get install nginx)")
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(nginx_config(tmp, port, upstreams))
    process = await asyncio.create_subprocess_exec(
        binary,
        "-p",
        str(tmp),
        "-c",
        str(conf),
        "-e",
        str(tmp / "error.log"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_port(port, process)
        yield port
    finally:
        process.terminate()
        await process.wait()


async def wait_port(port: int, process: asyncio.subprocess.Process, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on {port}") from None
            await asyncio.sleep(0.05)


def app_env(redis: RedisServer) -> dict[str, str]:
    return {"TETHER_TEST_REDIS": redis.url, "TETHER_TEST_KEY": "k" + secrets.token_hex(4)}


async def run_clients(url: str, on_half: Any = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run the Node clients; ``on_half(half)`` is awaited when they made half their acks."""
    node = require_node()
    process = await asyncio.create_subprocess_exec(
        node,
        str(CLIENTS),
        "--url",
        url,
        "--count",
        "20",
        "--acks",
        "50",
        stdout=asyncio.subprocess.PIPE,
        cwd=INTEROP_DIR,
    )
    assert process.stdout is not None
    half: list[dict[str, Any]] = []
    try:
        while True:
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line, "the Node clients exited without a result"
            record = json.loads(line)
            if "half" in record:
                half = record["half"]
                if on_half is not None:
                    await on_half(half)
            elif "result" in record:
                return half, record["result"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def check_result(result: dict[str, Any]) -> None:
    clients = result["clients"]
    assert result["failures"] == 0, [c["errors"] for c in clients if c["errors"]]
    assert [c["acks"] for c in clients] == [50] * 20
    # The upgrading clients upgraded, wherever their requests landed.
    assert all(c["upgraded"] for c in clients if "websocket" in c["transports"]), clients


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
async def test_round_robin_nginx_two_servers_one_stopped_mid_run(
    redis_server: RedisServer, tmp_path: Path, stop: signal.Signals
) -> None:
    # Killed, a server says nothing: the others notice its silence after the heartbeat.
    env = {**app_env(redis_server), "TETHER_TEST_PINGS": "1,1"}
    ports = [free_port(), free_port()]
    servers = [await start_tether("serve", f"{APP}:io", "--port", str(p), env=env) for p in ports]
    try:
        for server in servers:
            assert server.stdout is not None
            await asyncio.wait_for(server.stdout.readline(), 20)
        pids = [s.pid for s in servers]
        stopped: list[int] = []

        async def stop_first(half: list[dict[str, Any]]) -> None:
            # Sessions live on both servers (nginx alternates the handshakes).
            assert {c["pid"] for c in half} == set(pids), half
            servers[0].send_signal(stop)
            stopped.append(pids[0])

        async with nginx(tmp_path, ports) as port:
            started = time.monotonic()
            half, result = await run_clients(f"http://127.0.0.1:{port}", stop_first)
            elapsed = time.monotonic() - started
        check_result(result)
        assert stopped
        moved = [c for c, h in zip(result["clients"], half, strict=True) if h["pid"] == pids[0]]
        assert moved and all(c["pids"][-1] == pids[1] for c in moved), moved
        # They came back through the other server; stopped cleanly, it saved their state
        # (the streams adapter), and they recovered it.
        assert all(c["connects"] >= 2 for c in moved)
        if stop == signal.SIGTERM:
            assert all(c["recovered"] for c in moved), moved
        recovered = sum(c["recovered"] for c in moved)
        retries = sum(c["retries"] for c in result["clients"])
        print(
            f"nginx + 2 servers, {stop.name}: {elapsed:.1f} s, {len(moved)} moved, "
            f"{recovered} recovered, {retries} acks sent again"
        )
    finally:
        for server in servers:
            with contextlib.suppress(ProcessLookupError):
                server.kill()
            await server.wait()


@contextlib.asynccontextmanager
async def uvicorn_workers(
    redis: RedisServer, tmp: Path, **env: str
) -> AsyncIterator[tuple[int, Path]]:
    """``uvicorn --workers 2`` serving the ASGI app; its port and the file of its stderr."""
    port = free_port()
    log = tmp / "uvicorn.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "uvicorn", f"{APP}:app", "--workers", "2"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
            cwd=ROOT,
            env={**ENV, **app_env(redis), **env},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        await wait_port(port, process)
        yield port, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_uvicorn_with_two_workers_and_redis(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    async with uvicorn_workers(redis_server, tmp_path) as (port, log):
        started = time.monotonic()
        _, result = await run_clients(f"http://127.0.0.1:{port}")
        elapsed = time.monotonic() - started
        check_result(result)
        assert "without a cluster engine" not in log.read_text()
        print(f"uvicorn --workers 2: {elapsed:.1f} s")


async def test_uvicorn_with_two_workers_warns_without_the_cluster_engine(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    async with uvicorn_workers(redis_server, tmp_path, TETHER_TEST_NO_ENGINE="1") as (_, log):
        deadline = time.monotonic() + 20
        while log.read_text().count("without a cluster engine") < 2:
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.05)
    assert "one of 2 worker processes" in log.read_text()
    assert "cluster_engine=tether.adapters.redis.create_engine(redis_url)" in log.read_text()


NODE_ENGINE = os.environ.get("TETHER_NODE_CLUSTER_ENGINE", "")


@pytest.mark.skipif(
    not NODE_ENGINE,
    reason="@socket.io/cluster-engine is not on npm: set TETHER_NODE_CLUSTER_ENGINE to the "
    "dist/index.js of a build of packages/socket.io-cluster-engine (socket.io monorepo)",
)
async def test_a_node_server_with_cluster_engine_and_a_tether_server_share_sessions(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    env = app_env(redis_server)
    tether_port = free_port()
    tether_server = await start_tether("serve", f"{APP}:io", "--port", str(tether_port), env=env)
    node = await asyncio.create_subprocess_exec(
        *(require_node(), str(INTEROP_DIR / "cluster_engine_node_server.mjs")),
        *("--redis", redis_server.url, "--key", env["TETHER_TEST_KEY"], "--engine", NODE_ENGINE),
        stdout=asyncio.subprocess.PIPE,
        cwd=INTEROP_DIR,
        # The build's own require()s (engine.io, debug, @msgpack/msgpack) resolve here.
        env={**os.environ, "NODE_PATH": str(INTEROP_DIR / "node_modules")},
    )
    try:
        assert tether_server.stdout is not None and node.stdout is not None
        await asyncio.wait_for(tether_server.stdout.readline(), 20)
        node_port = json.loads(await asyncio.wait_for(node.stdout.readline(), 20))["port"]
        pids: set[int] = set()

        async def both_serve(half: list[dict[str, Any]]) -> None:
            pids.update(c["pid"] for c in half)

        async with nginx(tmp_path, [tether_port, node_port]) as port:
            started = time.monotonic()
            _, result = await run_clients(f"http://127.0.0.1:{port}", both_serve)
            elapsed = time.monotonic() - started
        check_result(result)
        assert pids == {tether_server.pid, node.pid}
        print(f"nginx + tether + Node: {elapsed:.1f} s")
    finally:
        for process in (tether_server, node):
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
