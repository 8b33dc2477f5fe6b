"""``tether client`` through a pseudo-terminal (pexpect) and ``tether emit`` as a script."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pexpect
import pytest

import tether
from tests import support
from tests.support import ROOT, free_port, serving

ENV = {**support.ENV, "TERM": "dumb"}
TIMEOUT = 10


def start_server(port: int = 0, *tls: str) -> tuple[subprocess.Popen[str], int]:
    """The test app in a process of its own; its port once it listens."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.cli.app", str(port), *tls],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    assert line.startswith("port "), line
    return server, int(line.split()[1])


def stop_server(server: subprocess.Popen[str]) -> None:
    server.terminate()
    server.wait(10)
    if server.stdout is not None:
        server.stdout.close()


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server, port = start_server()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(server)


def spawn(*args: str) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "tether.cli.console", "client", *args],
        cwd=str(ROOT),
        env=ENV,
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(40, 200),
    )
    return child


def close(child: pexpect.spawn) -> None:
    child.sendline("quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def emit(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tether.cli.console", "emit", url, *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=TIMEOUT + 5,
    )


def test_connect_send_ack_broadcast_and_bad_json(url: str) -> None:
    child = spawn(url, "--transports", "websocket")
    try:
        child.expect(r"connected to / as (\S+) over websocket")
        child.expect_exact('type "help" for the commands')
        child.sendline("help")
        child.expect_exact("ack EVENT [ARGS...]")
        child.sendline('broadcast {"text": "hi"} 2 bare')
        child.expect_exact('-> broadcast {\r\n  "text": "hi"\r\n} 2 "bare"')
        child.expect(
            r"\[\d\d:\d\d:\d\d\.\d{3}\] <- broadcast \{\r\n  \"text\": \"hi\"\r\n\} 2 \"bare\""
        )
        child.sendline('ack echo "x" [1, 2]')
        child.expect_exact('ack #1 (echo): "x" [\r\n  1,\r\n  2\r\n]')
        child.sendline('chat {"text": ')
        child.expect_exact("error: invalid JSON")
        child.sendline('{"text": "no event name"}')
        child.expect_exact("error: a line starts with an event name")
        child.sendline('"my event" 1')
        child.expect_exact("-> my event 1")
        child.sendline("blob 20")
        child.expect_exact(
            '<- blob {\r\n  "data": <binary 20 bytes: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d'
            " 0e 0f ...>\r\n}"
        )
        child.sendline("connect")  # a reserved name: refused, the tool carries on
        child.expect_exact("error: 'connect' is a reserved event name")
        # another peer's broadcast arrives while the prompt waits for input
        result = emit(url, "broadcast", "from-script", '{"n": 1}')
        assert result.returncode == 0, result.stderr
        child.expect_exact('<- broadcast "from-script" {\r\n  "n": 1\r\n}')
        child.sendline("ack echo still-alive")
        child.expect_exact('ack #2 (echo): "still-alive"')
    finally:
        close(child)


def test_reconnect_after_the_transport_drops(url: str) -> None:
    child = spawn(url)
    try:
        child.expect(r"connected to / as (\S+) over (polling|websocket)")
        sid = child.match.group(1)
        child.sendline("broadcast before")  # recovery resumes from the last offset received
        child.expect_exact('<- broadcast "before"')
        child.sendline("drop")
        child.expect_exact("disconnected (/): transport close")
        child.expect_exact("reconnecting (attempt 1) ...")
        child.expect(r"connected to / as (\S+) over")
        assert child.match.group(1) == sid  # recovered: the same id
        child.expect_exact("reconnected after 1 attempt(s) over")
        child.expect_exact("session recovered: yes")
        child.sendline("ack echo 1")
        child.expect_exact("ack #1 (echo): 1")
    finally:
        close(child)


def test_reconnect_after_the_server_restarts() -> None:
    server, port = start_server()
    child = spawn(f"http://127.0.0.1:{port}", "--transports", "websocket")
    try:
        child.expect(r"connected to / as (\S+) over websocket")
        stop_server(server)
        child.expect(r"disconnected \(/\): transport (close|error)")
        server, _ = start_server(port)
        child.expect_exact("reconnecting (attempt 1) ...")
        child.expect(r"reconnected after \d+ attempt\(s\) over websocket; session recovered: no")
        child.sendline("ack echo back")
        child.expect_exact('ack #1 (echo): "back"')
    finally:
        close(child)
        stop_server(server)


def test_kicked_by_the_server(url: str) -> None:
    child = spawn(url)
    child.expect_exact('type "help" for the commands')
    child.sendline("kick")
    child.expect_exact("disconnected (/): io server disconnect")
    child.expect_exact("disconnected for good")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1


def test_client_namespaces_and_connect_error(url: str) -> None:
    child = spawn(url, "-n", "/", "-n", "/private", "--auth", '{"token": "secret"}')
    try:
        child.expect_exact("connected to /private as")
        child.sendline("/private ack echo ok")
        child.expect_exact('ack #1 (echo): "ok"')
    finally:
        close(child)
    child = spawn(url, "-n", "/private")
    child.expect_exact("not allowed")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1


def test_client_cannot_connect() -> None:
    child = spawn(f"http://127.0.0.1:{free_port()}", "--timeout", "2")
    child.expect_exact("tether: cannot connect")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1


def test_emit_prints_the_ack_as_json(url: str) -> None:
    result = emit(url, "echo", "1", "word", '{"a": [true, null]}', "--ack")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [1, "word", {"a": [True, None]}]
    single = emit(url, "echo", '"x"', "--ack", "--transports", "polling")
    assert (single.returncode, single.stdout) == (0, '"x"\n')
    fire = emit(url, "echo", "1")
    assert (fire.returncode, fire.stdout, fire.stderr) == (0, "", "")


def test_emit_headers_and_auth(url: str) -> None:
    result = emit(url, "whoami", "--ack", "--header", "X-Test: yes", "--auth", '{"token": "t"}')
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == ["yes", {"token": "t"}]


def test_emit_over_tls_with_insecure(certificate: tuple[str, str]) -> None:
    cert, key = certificate
    server, port = start_server(0, cert, key)
    try:
        verified = emit(f"https://127.0.0.1:{port}", "echo", "1", "--ack", "--timeout", "3")
        assert verified.returncode == 1
        assert "tether: cannot connect" in verified.stderr
        insecure = emit(f"https://127.0.0.1:{port}", "echo", "1", "--ack", "--insecure")
        assert (insecure.returncode, insecure.stdout) == (0, "1\n"), insecure.stderr
    finally:
        stop_server(server)


def test_emit_failures(url: str) -> None:
    refused = emit(f"http://127.0.0.1:{free_port()}", "echo", "--ack")
    assert refused.returncode == 1
    assert refused.stderr.startswith("tether: cannot connect")
    timeout = emit(url, "silent", "--ack", "--timeout", "0.5")
    assert timeout.returncode == 1
    assert timeout.stderr == "tether: no ack within 0.5 s\n"
    denied = emit(url, "echo", "-n", "/private", "--ack")
    assert denied.returncode == 1
    assert denied.stderr == 'tether: not allowed\ntether: data: {"need": "token"}\n'
    bad = emit(url, "echo", '{"a":')
    assert bad.returncode == 2
    assert "invalid JSON" in bad.stderr


async def test_emit_with_the_msgpack_parser() -> None:
    io = tether.Server(parser="msgpack")

    @io.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    async def run(*args: str) -> tuple[int | None, str, str]:
        proc = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "tether.cli.console", "emit", *args],
            cwd=ROOT,
            env=ENV,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT + 5)
        return proc.returncode, out.decode(), err.decode()

    async with serving(io) as port:
        url = f"http://127.0.0.1:{port}"
        code, out, err = await run(url, "echo", "1", "word", "--ack", "--parser", "msgpack")
        assert (code, err) == (0, "")
        assert json.loads(out) == [1, "word"]
        code, out, err = await run(url, "echo", "1", "--ack", "--timeout", "2")
        # A JSON client: the server closes the connection at its first packet.
        assert (code, err) == (1, "tether: connection closed: transport close\n")
