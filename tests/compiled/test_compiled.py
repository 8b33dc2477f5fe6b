"""The compiled build (mypyc) and its pure-Python fallback, in this checkout's install.

The modules of ``build_support/compiled_modules.py`` are compiled in place by ``pip install -e .``
(``make setup``); ``TETHER_PURE_PYTHON=1`` imports their ``.py`` files instead, and so does a
source edited since the build. Each case runs in a fresh interpreter (the choice is made once
per process, at ``import tether``).
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tether
from build_support.compiled_modules import GROUP, MODULES, module_name
from tether.cli.main import main

SRC = Path(tether.__file__).resolve().parent.parent
NAMES = sorted(module_name(path) for path in MODULES)
EXTENSION = tuple(importlib.machinery.EXTENSION_SUFFIXES)

#: Imports every compiled module, a Socket.IO round trip through the codec, prints what ran.
PROBE = """
import importlib, json, sys
import tether
from tether.sio import Decoder, Packet, PacketType, encode
names = json.loads(sys.argv[1])
files = {name: importlib.import_module(name).__file__ for name in names}
packet = Packet(PacketType.EVENT, "/", ["echo", 1, b"\\x00\\x01"], 7)
decoder = Decoder()
parts = encode(packet)
decoded = decoder.feed_text(parts[0])
for part in parts[1:]:
    decoded = decoder.feed_binary(part)
assert decoded == packet, decoded
print(json.dumps({"compiled": tether.compiled, "info": tether.build_info(), "files": files}))
"""


#: Makes ``import mypy_extensions`` fail, as in an install without mypy.
BLOCK_MYPY_EXTENSIONS = "import sys; sys.modules['mypy_extensions'] = None\n"


def probe(src: Path, prelude: str = "", **env: str) -> tuple[dict[str, object], str]:
    """Runs ``prelude`` then PROBE with ``src`` first on the path; its answer and its stderr."""
    environ = {k: v for k, v in os.environ.items() if k != "TETHER_PURE_PYTHON"}
    environ["PYTHONPATH"] = str(src)
    done = subprocess.run(
        [sys.executable, "-c", prelude + PROBE, json.dumps(NAMES)],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=src.parent,
    )
    return json.loads(done.stdout), done.stderr


def test_the_dev_install_runs_the_compiled_modules() -> None:
    """``pip install -e .`` compiled every module of the list (a build that fell back to pure
    Python fails here: see its ``tether build:`` line)."""
    answer, stderr = probe(SRC)
    assert stderr == ""
    assert answer["compiled"] is True, f"not compiled: {answer['info']}; run `pip install -e .`"
    files = answer["files"]
    assert isinstance(files, dict)
    assert all(files[name].endswith(EXTENSION) for name in NAMES), files
    info = answer["info"]
    assert isinstance(info, dict)
    assert info["modules"] == dict.fromkeys(NAMES, "compiled")
    assert info["reason"] == f"{len(NAMES)} modules compiled by mypyc"


def test_tether_pure_python_runs_the_py_files() -> None:
    answer, stderr = probe(SRC, TETHER_PURE_PYTHON="1")
    assert stderr == ""
    assert answer["compiled"] is False
    files = answer["files"]
    assert isinstance(files, dict)
    assert all(files[name].endswith(".py") for name in NAMES), files
    info = answer["info"]
    assert isinstance(info, dict)
    assert info["reason"] == "TETHER_PURE_PYTHON=1"
    assert info["modules"] == dict.fromkeys(NAMES, "pure")


def test_a_source_edited_since_the_build_runs_pure_python(tmp_path: Path) -> None:
    """An editable install whose source changed and was not rebuilt: the stale compiled
    module is not used, nor any other (compiled modules call each other directly)."""
    copy = tmp_path / "src"
    shutil.copytree(SRC / "tether", copy / "tether", ignore=shutil.ignore_patterns("static"))
    for library in SRC.glob(f"{GROUP}__mypyc*"):
        shutil.copy2(library, copy)
    decoder = copy / "tether/sio/decoder.py"
    decoder.write_text(decoder.read_text() + "\n# edited\n")
    answer, stderr = probe(copy)
    assert stderr == (
        "tether: src/tether/sio/decoder.py changed since it was compiled; using the "
        "pure-Python modules; rebuild with `pip install -e .`\n"
    )
    assert answer["compiled"] is False
    files = answer["files"]
    assert isinstance(files, dict)
    assert all(files[name].endswith(".py") for name in NAMES), files


@pytest.mark.parametrize("pure", ["0", "1"])
def test_tether_runs_without_mypy_extensions(pure: str) -> None:
    """``mypyc_attr`` (on the compiled classes that interpreted code subclasses) comes from
    ``tether._compiled``: neither build needs mypy_extensions (mypy's, not tether's) to run."""
    answer, stderr = probe(SRC, prelude=BLOCK_MYPY_EXTENSIONS, TETHER_PURE_PYTHON=pure)
    assert stderr == ""
    assert answer["compiled"] is (pure == "0")
    files = answer["files"]
    assert isinstance(files, dict)
    suffixes = EXTENSION if pure == "0" else (".py",)
    assert all(files[name].endswith(suffixes) for name in NAMES), files


def test_the_version_says_which_build_runs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    pure = os.environ.get("TETHER_PURE_PYTHON") == "1"
    state = "pure Python (TETHER_PURE_PYTHON=1)" if pure else f"compiled ({len(NAMES)} modules"
    assert capsys.readouterr().out.startswith(f"tether {tether.__version__}, {state}")
