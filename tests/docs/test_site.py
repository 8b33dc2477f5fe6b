"""The documentation site builds with ``mkdocs build --strict`` (a warning is an error),
its settings tables cover every option, and the benchmark chart is drawn from the
committed results."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from bench import render
from tests.support import ENV, ROOT

OPTIONS = [
    "tether.eio.options.EngineOptions",
    "tether.http.cors.CorsOptions",
    "tether.http.messages.HttpLimits",
    "tether.recovery.RecoveryOptions",
    "tether.eio.cluster.ClusterOptions",
]
SIGNATURES = [
    ("tether.server.Server", "__init__"),
    ("tether.client.core.Client", "__init__"),
    ("tether.client.core.Client", "connect"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**ENV, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = build.stdout + build.stderr
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{log}"
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert not warnings, "\n".join(warnings)
    return out


def text_of(page: Path) -> str:
    return re.sub(r"<[^>]+>", " ", page.read_text())


def test_every_page_is_built(site: Path) -> None:
    for page in (ROOT / "docs").rglob("*.md"):
        rel = page.relative_to(ROOT / "docs").with_suffix("")
        built = site / ("index.html" if rel.name == "index" else rel / "index.html")
        assert built.is_file(), f"{page} was not built"
    assert (site / "benchmarks-full" / "index.html").is_file()


def names_of(dotted: str, method: str | None = None) -> list[str]:
    module, _, name = dotted.rpartition(".")
    obj = getattr(importlib.import_module(module), name)
    if method is None:
        return [f.name for f in dataclasses.fields(obj)]
    params = inspect.signature(getattr(obj, method)).parameters.values()
    return [p.name for p in params if p.name != "self" and p.kind is not p.VAR_KEYWORD]


def test_settings_page_has_every_option(site: Path) -> None:
    settings = text_of(site / "settings" / "index.html")
    wanted = [(d, n) for d in OPTIONS for n in names_of(d)]
    wanted += [(f"{d}.{m}", n) for d, m in SIGNATURES for n in names_of(d, m)]
    missing = [f"{d}: {n}" for d, n in wanted if not re.search(rf"\b{n}\b", settings)]
    assert not missing, f"not on the settings page: {missing}"
    assert len(wanted) > 60


def test_api_reference_is_made_from_the_docstrings(site: Path) -> None:
    server = text_of(site / "reference" / "server" / "index.html")
    for name in ("emit_with_ack", "fetch_sockets", "connection_state_recovery", "ASGIApp"):
        assert name in server
    for page in (site / "reference").rglob("*.html"):
        html = page.read_text()
        assert not re.search(r":(class|meth|mod|func|data):<code>", html), page
        assert "<p>::</p>" not in html, page


def test_the_chart_is_drawn_from_the_committed_results(site: Path) -> None:
    svg = (site / "img" / "bench-cpu.svg").read_text()
    records = (
        (ROOT / "bench" / "results" / "20261207-make-bench-2" / "make-bench.jsonl")
        .read_text()
        .splitlines()
    )
    scenarios = {json.loads(line)["scenario"] for line in records if line.strip()}
    assert svg.startswith("<?xml") and "<svg" in svg
    assert len(scenarios) > 5
    for scenario in scenarios:
        assert scenario in svg
    assert "bench-cpu.svg" in (site / "benchmarks" / "index.html").read_text()


def test_chart_command_is_reproducible(tmp_path: Path) -> None:
    results = ROOT / "bench" / "results" / "20261207-make-bench-2" / "make-bench.jsonl"
    for name in ("a.svg", "b.svg"):
        out = subprocess.run(
            [sys.executable, "-m", "bench.render", str(results), "--chart", str(tmp_path / name)],
            cwd=ROOT,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert "### echo" in out.stdout
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


def test_chart_rows_are_ratios_to_node() -> None:
    records = [
        {"server": "node-socketio", "scenario": "echo", "server_cpu_us_per_op": 10.0},
        {"server": "tether", "scenario": "echo", "server_cpu_us_per_op": 5.0},
        {"server": "tether", "scenario": "lonely", "server_cpu_us_per_op": 5.0},
    ]
    assert render.chart_rows(records) == {"echo": {"node-socketio": 1.0, "tether": 0.5}}


def load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclasses.dataclass
class Undocumented:
    """Settings of something.

    Attributes:
        described: this one is.
    """

    described: int = 1
    forgotten: float = 2.0


def test_a_setting_without_a_description_fails_the_build() -> None:
    hooks = load_hooks()
    with pytest.raises(ValueError, match="forgotten"):
        hooks.options_table(f"{__name__}.Undocumented")
    table = hooks.options_table("tether.recovery.RecoveryOptions")
    assert "| `max_disconnection_duration` | `120` | seconds" in table
