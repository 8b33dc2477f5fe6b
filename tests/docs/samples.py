"""The code samples of README.md and docs/: found, annotated, and pointed at test servers.

A fenced block is a sample; the line right before its fence may annotate it:

- ``<!-- sample: skip REASON -->``: not run (code of another library, shown for comparison);
- ``<!-- sample: expect TEXT -->``: its output must contain TEXT;
- ``<!-- sample: auth JSON -->``: for a block that serves (``io.run``), the auth the test's
  client connects with;
- ``<!-- sample: probe EVENT JSON-ARGS => JSON-ANSWER -->`` (one line each, several allowed):
  for a block that serves, the test's client emits EVENT with the arguments and the
  acknowledgement must be the answer (several values: a list).

Markdown comments are not rendered, so the annotations don't show on the site.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import ROOT

#: Languages run by tests/docs/test_samples.py.
RUN = frozenset({"python", "js", "html"})
#: Languages never run, and why (see tests/README.md).
EXEMPT = {
    "sh": "shell commands (the CLI is tested in tests/cli)",
    "nginx": "configuration file",
    "ini": "configuration file (systemd)",
    "dockerfile": "configuration file",
    "": "diagrams and text",
    "ts": "TypeScript clients: copies of tests/contract/ts/*.ts, compiled with tsc --strict "
    "there (test_typescript.py checks they are the same)",
}

FENCE = re.compile(r"^```(\w*)\s*$")
ANNOTATION = re.compile(r"^<!-- sample: (skip|expect|auth|probe) ?(.*?) ?-->$")
PROBE = re.compile(r"^(\S+) (.*) => (.*)$")
#: Where samples look for a Socket.IO server and for Redis.
SAMPLE_SERVER = "127.0.0.1:3000"
SAMPLE_REDIS = "127.0.0.1:6379"


@dataclass(frozen=True)
class Sample:
    """One fenced block of a page."""

    page: str  # relative to the repository's root
    line: int  # of the opening fence
    lang: str
    code: str
    skip: str | None = None
    expect: str | None = None
    auth: str | None = None
    probes: tuple[tuple[str, list[Any], Any], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    """README.md and every page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def extract(path: Path, root: Path = ROOT) -> list[Sample]:
    """The fenced blocks of a Markdown file, in order."""
    lines = path.read_text().splitlines()
    page = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    out: list[Sample] = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        start = i
        notes: dict[str, str] = {}
        probes: list[tuple[str, list[Any], Any]] = []
        j = start - 1
        while j >= 0 and (note := ANNOTATION.match(lines[j])):
            if note.group(1) == "probe":
                probe = PROBE.match(note.group(2))
                if probe is None:
                    raise ValueError(f"{page}:{j + 1}: a probe is EVENT ARGS => ANSWER")
                event, args, answer = probe.groups()
                probes.insert(0, (event, json.loads(args), json.loads(answer)))
            else:
                notes[note.group(1)] = note.group(2)
            j -= 1
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise ValueError(f"{page}:{start + 1}: unclosed code block")
        out.append(
            Sample(
                page=page,
                line=start + 1,
                lang=fence.group(1).lower(),
                code="\n".join(body) + "\n",
                skip=notes.get("skip"),
                expect=notes.get("expect"),
                auth=notes.get("auth"),
                probes=tuple(probes),
            )
        )
        i += 1
    return out


def all_samples() -> list[Sample]:
    return [s for path in pages() for s in extract(path)]


def point_at(code: str, server_port: int, redis_port: int | None) -> str:
    """The sample with ``127.0.0.1:3000`` replaced by the test server and
    ``127.0.0.1:6379`` by the test's redis-server."""
    code = code.replace(SAMPLE_SERVER, f"127.0.0.1:{server_port}")
    if redis_port is not None:
        code = code.replace(SAMPLE_REDIS, f"127.0.0.1:{redis_port}")
    return code


SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
SCRIPT_SRC = re.compile(r'<script src="([^"]+)"></script>')


def html_scripts(html: str) -> tuple[list[str], str]:
    """The ``src`` of the external scripts of a page, and its inline scripts joined."""
    return SCRIPT_SRC.findall(html), "\n".join(SCRIPT.findall(html))
