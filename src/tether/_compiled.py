"""Whether tether's per-message path runs compiled, and the switch back to pure Python.

A compiled build (mypyc, see ``build_support/compiled_modules.py``) installs an extension
module beside each compiled ``.py`` file and records the SHA-256 of each compiled source in
``tether/_compiled.json``. Imported first by ``tether/__init__.py``, this module decides once
per process:

- no record: a pure build, nothing to do;
- ``TETHER_PURE_PYTHON=1``: the ``.py`` files are imported, the extensions ignored;
- a compiled module's ``.py`` no longer matches the record (an editable install whose source
  was edited and not rebuilt): the ``.py`` files of *all* compiled modules are imported (the
  compiled ones call each other directly, so they are not mixed with pure ones), with a line
  on stderr naming the file;
- else the compiled modules are imported, as Python's import system finds them first.

It also gives the compiled modules :func:`mypyc_attr` (never compiled itself).
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    # mypyc recognises the decorator by this name; tether does not need mypy_extensions to run.
    from mypy_extensions import mypyc_attr as mypyc_attr
else:

    def mypyc_attr(*attrs: str, **kwattrs: object) -> Callable[[_T], _T]:
        """``mypy_extensions.mypyc_attr``, a no-op at run time (mypyc reads it at build
        time): ``@mypyc_attr(allow_interpreted_subclasses=True)`` on a compiled class that
        code which is not compiled subclasses (adapters, metrics, workers, tests)."""
        return _unchanged


_T = TypeVar("_T")


def _unchanged(cls: _T) -> _T:
    return cls


# os.path, not pathlib nor importlib.abc: this runs at every `import tether`.
_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_RECORD = os.path.join(_PACKAGE, "_compiled.json")


def _source(name: str) -> str:
    return os.path.join(os.path.dirname(_PACKAGE), *name.split(".")) + ".py"


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def _record() -> dict[str, str]:
    """Module name -> SHA-256 of the source it was compiled from; empty for a pure build."""
    try:
        data = json.loads(_read(_RECORD))
    except (OSError, ValueError):
        return {}
    modules = data.get("modules") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in modules.items()} if isinstance(modules, dict) else {}


def _changed(record: dict[str, str]) -> list[str]:
    changed = []
    for name, digest in record.items():
        try:
            source = _read(_source(name))
        except OSError:
            continue  # an install without the sources: nothing to compare
        if hashlib.sha256(source).hexdigest() != digest:
            changed.append(name)
    return changed


class _PureFinder:
    """Finds the ``.py`` file of each compiled module, ahead of its extension module."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        return importlib.util.spec_from_file_location(fullname, _source(fullname))


MODULES: frozenset[str] = frozenset(_record())
"""The modules the build compiled (empty for a pure build)."""

reason: str
if not MODULES:
    reason = "a pure-Python build"
elif os.environ.get("TETHER_PURE_PYTHON") == "1":
    reason = "TETHER_PURE_PYTHON=1"
else:
    _stale = _changed(_record())
    if _stale:
        _path = os.path.relpath(_source(_stale[0]), os.path.dirname(os.path.dirname(_PACKAGE)))
        reason = f"{_path} changed since it was compiled"
        print(
            f"tether: {reason}; using the pure-Python modules; rebuild with `pip install -e .`",
            file=sys.stderr,
        )
    else:
        reason = f"{len(MODULES)} modules compiled by mypyc"

compiled: bool = bool(MODULES) and reason.endswith("compiled by mypyc")
"""True when the compiled modules are the ones imported."""

if MODULES and not compiled:
    sys.meta_path.insert(0, _PureFinder(MODULES))


def build_info() -> dict[str, Any]:
    """What runs: ``compiled`` (bool), ``reason`` (why, in words) and ``modules``: each
    compiled module of the build -> ``"compiled"``, ``"pure"`` or ``"not imported"`` (yet)."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    modules: dict[str, str] = {}
    for name in sorted(MODULES):
        module = sys.modules.get(name)
        if module is None:
            modules[name] = "not imported"
        else:
            modules[name] = "compiled" if (module.__file__ or "").endswith(suffixes) else "pure"
    return {"compiled": compiled, "reason": reason, "modules": modules}


def describe() -> str:
    """One line: compiled or pure, and why."""
    return f"{'compiled' if compiled else 'pure Python'} ({reason})"
