"""mkdocs hooks: pages and images made from committed files when the site is built.

The benchmark chart and the full tables are drawn from ``bench/results`` (never by running a
benchmark): ``python -m bench.render bench/results/20261207-make-bench-2/make-bench.jsonl --chart PATH``
draws the same chart by hand.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import importlib
import inspect
import io
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
#: The results files the benchmarks page quotes (those the README's table comes from).
RESULTS = [
    "20261207-make-bench-2/make-bench.jsonl",
    "20261207-make-bench/make-bench.jsonl",
    "20261207-make-bench/binary-64k-heap-trim.jsonl",
    "20261124T010759Z.jsonl",
    "20261124T010759Z-repeat3.jsonl",
    "20261124T014500Z-polling-floor.jsonl",
]
CHART = "img/bench-cpu.svg"


def on_files(files: Files, config: Any, **kwargs: Any) -> Files:
    """Add the chart and the full tables to the site."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bench import compare, render

    results = ROOT / "bench" / "results"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "chart.svg"
        render.chart(results / RESULTS[0], out)
        files.append(File.generated(config, CHART, content=out.read_bytes()))
    parts = [
        "# Benchmarks: the full tables\n\n"
        "Made by `python -m bench.render FILE` from the committed results files when this "
        "site was built. See [Benchmarks](benchmarks.md) for how to read them.\n"
    ]
    for name in RESULTS:
        body = render.render(results / name).replace("## Benchmarks", "### Benchmarks", 1)
        # one level down: each file is a section of this page
        body = body.replace("\n### ", "\n#### ")
        parts.append(f"## `bench/results/{name}`\n\n{body}")
    redesign = results / "20261207-engine-redesign"
    out_text = io.StringIO()
    with contextlib.redirect_stdout(out_text):
        compare.main([str(redesign), "r4-"])
    parts.append(
        "## The engine redesign: before and after\n\n"
        f"`python -m bench.compare {redesign.relative_to(ROOT)} r4-`: tether before (2d075eb) "
        "and after the engine redesign, run alternately in one sitting on the same machine; "
        "server CPU µs per operation (median, every run in brackets). The story of those "
        f"runs is in `{redesign.relative_to(ROOT)}/README.md`.\n\n" + out_text.getvalue()
    )
    files.append(File.generated(config, "benchmarks-full.md", content="\n".join(parts)))
    return files


# -- settings tables ------------------------------------------------------------------------

OPTIONS_MARK = re.compile(r"^<!-- options: ([\w.]+)(?: (\w+))? -->$", re.MULTILINE)


def _described(doc: str, section: str) -> dict[str, str]:
    """``name: text`` entries of a Google-style ``Args:``/``Attributes:`` section."""
    out: dict[str, str] = {}
    lines = inspect.cleandoc(doc).splitlines()
    inside = False
    name = ""
    for line in lines:
        if line.strip() == f"{section}:":
            inside, name = True, ""
            continue
        if not inside:
            continue
        if line and not line.startswith(" "):
            break
        entry = re.match(r"^    (\w+): (.*)$", line)
        if entry:
            name = entry.group(1)
            out[name] = entry.group(2)
        elif line.startswith("        ") and name:
            out[name] += " " + line.strip()
    return out


def _default(value: Any) -> str:
    if value is inspect.Parameter.empty or value is dataclasses.MISSING:
        return "required"
    if isinstance(value, bool) or value is None:
        return f"`{value}`"
    if isinstance(value, int) and value >= 1024 and value % 1024 == 0:
        for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
            if value % size == 0:
                return f"`{value}` ({value // size} {unit})"
    if value == float("inf"):
        return "unlimited (`math.inf`)"
    if isinstance(value, float) and value == int(value):
        return f"`{int(value)}`"
    if isinstance(value, int):
        return f"`{value:_}`" if value >= 10_000 else f"`{value}`"
    return f"`{value!r}`"


def _rst_to_md(text: str) -> str:
    text = re.sub(r":\w+:`~?([\w.]+)`", lambda m: f"`{m.group(1).rsplit('.', 1)[-1]}`", text)
    parts = text.replace("``", "`").split("`")
    # a pipe ends a table cell, except in a code span
    return "`".join(part if i % 2 else part.replace("|", "\\|") for i, part in enumerate(parts))


def _docstring(obj: Any, method: str | None = None) -> str:
    """The docstring of class ``obj`` (or of its ``method``), from the object or, where the
    compiled build left it empty (mypyc keeps no docstrings of native classes), from the
    module's ``.py`` source beside the extension."""
    target = getattr(obj, method) if method else obj
    if target.__doc__:
        return str(target.__doc__)
    module_file = Path(importlib.import_module(obj.__module__).__file__ or "")
    source = module_file.with_name(module_file.name.split(".", 1)[0] + ".py")
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ClassDef) and node.name == obj.__name__:
            if method is None:
                return ast.get_docstring(node) or ""
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == method:
                    return ast.get_docstring(item) or ""
    return ""


def options_table(dotted: str, method: str | None = None) -> str:
    """A Markdown table of the settings of a dataclass (its ``Attributes:``) or of a class's
    ``__init__`` or ``method`` (its ``Args:``): name, default, meaning. Every setting must be
    described in the docstring, else the build fails."""
    module, _, name = dotted.rpartition(".")
    obj = getattr(importlib.import_module(module), name)
    rows: list[tuple[str, Any]] = []
    if method is None and dataclasses.is_dataclass(obj):
        doc = _described(_docstring(obj), "Attributes")
        for f in dataclasses.fields(obj):
            default = f.default
            if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            rows.append((f.name, default))
    else:
        func = getattr(obj, method or "__init__")
        doc = _described(_docstring(obj, method), "Args")
        rows.extend(
            (param.name, param.default)
            for param in inspect.signature(func).parameters.values()
            if param.name != "self" and param.kind is not param.VAR_KEYWORD
        )
    missing = [n for n, _ in rows if n not in doc]
    if missing:
        raise ValueError(f"{dotted}: no docstring entry for {', '.join(missing)}")
    lines = ["| setting | default | meaning |", "|---|---|---|"]
    for field_name, default in rows:
        lines.append(f"| `{field_name}` | {_default(default)} | {_rst_to_md(doc[field_name])} |")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any, **kwargs: Any) -> str:
    """Replace ``<!-- options: dotted.Name [method] -->`` with the table of its settings, and
    ``<!-- contract: typescript|asyncapi module:attr -->`` with the contract of that app."""
    if str(ROOT / "src") not in sys.path:
        sys.path.insert(0, str(ROOT / "src"))
    markdown = OPTIONS_MARK.sub(lambda m: options_table(m.group(1), m.group(2)), markdown)
    return CONTRACT_MARK.sub(lambda m: contract_block(m.group(1), m.group(2), m.group(3)), markdown)


# -- typed contracts ------------------------------------------------------------------------

CONTRACT_MARK = re.compile(
    r"^( *)<!-- contract: (typescript|asyncapi) ([\w.]+:[\w.]+) -->$", re.MULTILINE
)


def contract_block(indent: str, kind: str, target: str) -> str:
    """The fenced block of what ``tether typegen`` (``typescript``) or ``tether asyncapi``
    writes for ``target``, generated now (a page shows the current contract), indented as
    its mark (inside a collapsible block)."""
    from tether.cli.contract import load_contract
    from tether.contract.asyncapi import dump_json, generate_asyncapi
    from tether.contract.typescript import generate_typescript

    contract = load_contract(target)
    if kind == "typescript":
        block = f"```ts\n{generate_typescript(contract)}```"
    else:
        block = f"```json\n{dump_json(generate_asyncapi(contract, title=target))}```"
    return "\n".join(indent + line if line else line for line in block.splitlines())


# -- docstrings -----------------------------------------------------------------------------

#: A Sphinx role as it comes out of a docstring: ``:meth:`~tether.x.Y.z``` is rendered as
#: ``:meth:<code>~tether.x.Y.z</code>``.
ROLE = re.compile(r":(?:class|meth|mod|func|data|attr|exc|obj):<code>(~?)([\w.]+)</code>")


def _role(match: re.Match[str]) -> str:
    name = match.group(2)
    if match.group(1):  # "~": the last part only, as Sphinx shows it
        name = name.rsplit(".", 1)[-1]
    return f"<code>{name}</code>"


def on_page_content(html: str, page: Any, config: Any, files: Any, **kwargs: Any) -> str:
    """The docstrings use Sphinx roles (``:class:`X```) and ``::`` before a literal block;
    show the roles as code, drop the ``::``."""
    html = html.replace("<p>::</p>\n", "").replace("::</p>", ":</p>")
    return ROLE.sub(_role, html)
