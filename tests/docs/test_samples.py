"""Every code sample of README.md and docs/ runs (see tests/docs/samples.py for the rules).

- Python: the blocks of one page run in order in one process (tests/docs/run_page.py), so a
  block may use what an earlier block of its page defined. A block that serves really
  serves; the test connects a client to it (tether's client for Socket.IO, a polling
  handshake for a bare Engine.IO server), then stops it with SIGINT.
- JavaScript: each block runs alone under Node, with ``socket.io-client`` from
  tests/interop/node_modules, and must exit with status 0.
- HTML: the inline scripts of the page run under Node with ``io`` from the same package (the
  code of the bundle the page loads), until the expected output shows; the scripts the page
  loads must be served.
- Client samples say ``127.0.0.1:3000``: they are pointed at tests/docs/sample_server.py;
  ``127.0.0.1:6379`` at a redis-server of the test's own.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import tether
from tests.docs.samples import (
    EXEMPT,
    RUN,
    Sample,
    all_samples,
    extract,
    html_scripts,
    pages,
    point_at,
)
from tests.interop.harness import NODE_MODULES, require_node
from tests.support import ENV, ROOT, RedisServer

HERE = Path(__file__).resolve().parent
SAMPLES = all_samples()
PYTHON_PAGES = sorted({s.page for s in SAMPLES if s.lang == "python" and not s.skip})
NODE_SAMPLES = [s for s in SAMPLES if s.lang in ("js", "html") and not s.skip]
#: How long one page or one script may take.
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def sample_server() -> Iterator[int]:
    """tests/docs/sample_server.py in a process of its own; its port."""
    with subprocess.Popen(
        [sys.executable, "-u", str(HERE / "sample_server.py")],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY "), f"the sample server did not start: {line!r}"
        yield int(line.split()[1])
        proc.send_signal(signal.SIGINT)
        proc.wait(10)


def test_every_block_is_run_or_exempt() -> None:
    """A block in a language the tests don't know would be skipped silently."""
    unknown = [s.name for s in SAMPLES if s.lang not in RUN and s.lang not in EXEMPT]
    assert not unknown, f"blocks neither run nor exempt (tests/docs/samples.py): {unknown}"
    assert {s.page for s in SAMPLES} >= {"README.md", "docs/getting-started.md"}
    skipped = [s for s in SAMPLES if s.skip]
    assert all(s.skip for s in skipped), "a skip needs a reason"


# -- Python ---------------------------------------------------------------------------------


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as answer:
        body: bytes = answer.read()
    return body


async def check_serving(port: int, kind: str, path: str, sample: Sample) -> None:
    """Connect a real client to what a sample serves (retrying while it starts), and
    send the sample's probes."""
    auth = sample.auth
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while True:
        try:
            if kind == "socket.io":
                client = tether.Client(reconnection=False)
                await client.connect(
                    f"http://127.0.0.1:{port}",
                    path=path,
                    auth=json.loads(auth) if auth else None,
                    wait_timeout=5,
                )
                assert client.connected
                try:
                    for event, args, expected in sample.probes:
                        answer = await client.emit_with_ack(event, *args, timeout=5)
                        got = json.loads(json.dumps(answer))  # tuples as lists
                        assert got == expected, f"{sample.name}: {event}{args} answered {got!r}"
                finally:
                    await client.disconnect()
            else:
                url = f"http://127.0.0.1:{port}{path}?EIO=4&transport=polling"
                body = await asyncio.to_thread(fetch, url)
                assert body.startswith(b'0{"sid":'), body
            return
        except OSError as exc:  # tether.ConnectError is one
            refused = isinstance(exc, tether.ConnectError) and not exc.message.startswith(
                "cannot connect"
            )
            if refused or loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)  # not listening yet (uvicorn says nothing when it is)


async def run_python_page(
    samples: list[Sample], server_port: int, redis_port: int | None, tmp_path: Path
) -> str:
    """Run the blocks; fail the test with the page's output if a block fails."""
    blocks = [
        {"name": s.name, "code": "\n" * (s.line) + point_at(s.code, server_port, redis_port)}
        for s in samples
    ]
    (tmp_path / "blocks.json").write_text(json.dumps(blocks))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-u",
        str(HERE / "run_page.py"),
        str(tmp_path / "blocks.json"),
        cwd=tmp_path,
        env=ENV,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    output: list[str] = []
    current = -1
    try:
        async with asyncio.timeout(TIMEOUT):
            while line := (await proc.stdout.readline()).decode():
                output.append(line)
                if line.startswith("@@block "):
                    current = int(line.split()[1])
                elif line.startswith("@@serving "):
                    _, port, kind, path = line.split()
                    await check_serving(int(port), kind, path, samples[current])
                    proc.send_signal(signal.SIGINT)
            await proc.wait()
    except BaseException as exc:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        text = "".join(output)
        block = samples[current].name if current >= 0 else "?"
        pytest.fail(f"while running {block}: {exc!r}\n{text}", pytrace=False)
    text = "".join(output)
    if proc.returncode != 0 or "@@done" not in text:
        pytest.fail(f"the samples failed:\n{text}", pytrace=False)
    sections = text.split("@@block ")[1:]
    for sample, section in zip(samples, sections, strict=True):
        if sample.expect is not None and sample.expect not in section:
            pytest.fail(f"{sample.name}: no {sample.expect!r} in\n{section}", pytrace=False)
    return text


def python_samples(page: str) -> list[Sample]:
    return [s for s in SAMPLES if s.page == page and s.lang == "python" and not s.skip]


def redis_port_for(samples: list[Sample], request: pytest.FixtureRequest) -> int | None:
    if not any("127.0.0.1:6379" in s.code for s in samples):
        return None
    redis_server: RedisServer = request.getfixturevalue("redis_server")
    return redis_server.port


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(p, marks=pytest.mark.cluster) if "6379" in (ROOT / p).read_text() else p
        for p in PYTHON_PAGES
    ],
)
async def test_python_samples(
    page: str, sample_server: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    samples = python_samples(page)
    await run_python_page(samples, sample_server, redis_port_for(samples, request), tmp_path)


# -- JavaScript and HTML under Node ---------------------------------------------------------


def node_script(sample: Sample, server_port: int) -> str:
    code = point_at(sample.code, server_port, None)
    if sample.lang == "html":
        _, inline = html_scripts(code)
        # the page's <script src=".../socket.io.js"> defines the global io
        return 'globalThis.io = require("socket.io-client").io;\n' + inline
    return code


async def run_node(sample: Sample, server_port: int, tmp_path: Path) -> str:
    node = require_node()
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)
    script = tmp_path / ("sample.mjs" if "import " in sample.code else "sample.cjs")
    script.write_text(node_script(sample, server_port))
    proc = await asyncio.create_subprocess_exec(
        node,
        str(script),
        cwd=tmp_path,
        env={**os.environ},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    output: list[str] = []
    waits_forever = sample.lang == "html"  # a page's script never exits by itself
    try:
        async with asyncio.timeout(TIMEOUT / 2):
            while line := (await proc.stdout.readline()).decode():
                output.append(line)
                if waits_forever and sample.expect and sample.expect in "".join(output):
                    break
            if not waits_forever:
                await proc.wait()
    except TimeoutError:
        pass
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
    text = "".join(output)
    if not waits_forever and proc.returncode != 0:
        pytest.fail(f"{sample.name} failed:\n{text}", pytrace=False)
    return text


@pytest.mark.interop
@pytest.mark.parametrize("sample", NODE_SAMPLES, ids=lambda s: s.name)
async def test_node_samples(sample: Sample, sample_server: int, tmp_path: Path) -> None:
    if sample.lang == "html":
        assert sample.expect, f"{sample.name}: a page's script needs an expected output"
        sources, _ = html_scripts(point_at(sample.code, sample_server, None))
        for src in sources:
            body = await asyncio.to_thread(fetch, src)
            assert b"io" in body and len(body) > 1000, f"{src} is not the client bundle"
    text = await run_node(sample, sample_server, tmp_path)
    if sample.expect is not None and sample.expect not in text:
        pytest.fail(f"{sample.name}: no {sample.expect!r} in\n{text}", pytrace=False)


# -- `tether emit` lines of shell blocks ----------------------------------------------------

EMIT = re.compile(r"^(tether emit \S+ .*?)\s*(?:#\s*(?:prints )?(.*))?$")


def emit_lines() -> list[tuple[str, str, str | None]]:
    """(where, command, expected JSON or None) of each ``tether emit`` line of a shell block
    that talks to 127.0.0.1:3000."""
    out = []
    for sample in SAMPLES:
        if sample.lang != "sh":
            continue
        for n, line in enumerate(sample.code.splitlines(), sample.line + 1):
            match = EMIT.match(line.strip())
            if match and "127.0.0.1:3000" in line:
                expected = match.group(2)
                if expected is not None and expected[:1] not in '[{"':
                    expected = None
                out.append((f"{sample.page}:{n}", match.group(1), expected))
    return out


@pytest.mark.parametrize("where, command, expected", emit_lines(), ids=lambda v: str(v)[:40])
def test_emit_commands(where: str, command: str, expected: str | None, sample_server: int) -> None:
    """Shell blocks are not run, but their ``tether emit`` lines are (the command line tool
    as a script uses it), and their ``# [...]`` comment is the ack they print."""
    args = shlex.split(point_at(command, sample_server, None))[1:]
    done = subprocess.run(
        [sys.executable, "-m", "tether", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, f"{where}: {command}\n{done.stdout}{done.stderr}"
    if expected is not None:
        assert json.loads(done.stdout) == json.loads(expected), f"{where}: {done.stdout}"


def test_some_emit_lines_are_checked() -> None:
    lines = emit_lines()
    assert len(lines) >= 3
    assert any(expected for _, _, expected in lines)


# -- the harness catches broken samples -----------------------------------------------------

BROKEN = """\
# A page of broken samples

```python
import tether

io = tether.Server()

@io.use
def refuse(socket):
    raise tether.ConnectionRefusedError("no")

io.run(host="127.0.0.1", port=3000)
```

```python
print("fine")
```

<!-- sample: expect hello -->
```python
print("goodbye")
```

```python
import tether
client = tether.SyncClient(reconnection=False)
client.connect("http://127.0.0.1:3000")
print(client.emit_with_ack("no-such-event", timeout=0.5))
```

<!-- sample: expect 42 -->
```js
const { io } = require("socket.io-client");
const socket = io("http://127.0.0.1:3000");
socket.on("connect", async () => {
  console.log(await socket.emitWithAck("add", 1, 2));
  socket.disconnect();
});
```

<!-- sample: probe add [2, 3] => 5 -->
```python
import tether

io = tether.Server()

@io.on("add")
def add(socket, a, b):
    return a - b

io.run(port=3000)
```
"""


@pytest.fixture
def broken(tmp_path: Path) -> list[Sample]:
    page = tmp_path / "broken.md"
    page.write_text(BROKEN)
    return extract(page, tmp_path)


async def test_a_refused_server_sample_fails(
    broken: list[Sample], sample_server: int, tmp_path: Path
) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"while running broken.md:3"):
        await run_python_page(broken[:1], sample_server, None, tmp_path)


async def test_a_missing_output_fails(
    broken: list[Sample], sample_server: int, tmp_path: Path
) -> None:
    await run_python_page(broken[1:2], sample_server, None, tmp_path)
    with pytest.raises(pytest.fail.Exception, match="no 'hello'"):
        await run_python_page(broken[1:3], sample_server, None, tmp_path)


async def test_an_ack_timeout_fails(
    broken: list[Sample], sample_server: int, tmp_path: Path
) -> None:
    with pytest.raises(pytest.fail.Exception, match="AckTimeoutError"):
        await run_python_page(broken[3:4], sample_server, None, tmp_path)


@pytest.mark.interop
async def test_a_wrong_js_answer_fails(
    broken: list[Sample], sample_server: int, tmp_path: Path
) -> None:
    with pytest.raises(pytest.fail.Exception, match="no '42'"):
        await test_node_samples(broken[4], sample_server, tmp_path)


async def test_a_wrong_answer_to_a_probe_fails(
    broken: list[Sample], sample_server: int, tmp_path: Path
) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"add\[2, 3\] answered -1"):
        await run_python_page(broken[5:6], sample_server, None, tmp_path)


def test_pages_are_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in pages()}
    assert {"README.md", "docs/server.md", "docs/guides/node.md"} <= names
