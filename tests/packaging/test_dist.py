"""What users get: the sdist and the wheel built as a user builds them (``python -m build``),
their contents, and the wheel installed into a fresh venv outside the checkout, serving the
chat demo to headless Chromium with the bundle it ships."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.cli.test_bundle import TARBALL_PATH, Registry, contents_for, package_tarball
from tether.cli.bundle import FILES, STAMP

# Builds and installs take a while on a loaded 2-core machine with cold caches.
pytestmark = [pytest.mark.packaging, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
#: The environment of a user's shell: nothing pointing into this checkout.
ENV = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
BUNDLE = sorted([*FILES, STAMP])
#: Files of the admin UI (tether.cli.bundle.ADMIN_UI), under static/socket.io-admin-ui/.
ADMIN_UI = ["index.html", "socket.io-admin-ui.version", "favicon.png"]
DEMO = ["chat.css", "chat.js", "hello.html", "index.html"]
#: The testing tool's page (tether.tool), under tool/static/.
TOOL = ["format.js", "index.html", "tool.css", "tool.js"]
WAIT = 10_000  # ms, for expect()


def run(*args: str | Path, timeout: float = 300, **options: object) -> str:
    """Run a command; its output (stdout and stderr), or the test fails showing it."""
    done = subprocess.run(
        [str(arg) for arg in args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        env=options.pop("env", ENV),  # type: ignore[arg-type]
        check=False,
        **options,  # type: ignore[arg-type]
    )
    if done.returncode != 0:
        pytest.fail(f"{args} exited {done.returncode}:\n{done.stdout[-4000:]}", pytrace=False)
    return done.stdout


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist and the wheel (built from the sdist) of this checkout, by ``python -m build``
    with build isolation (setuptools from the package index, as for a user)."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, ROOT)
    (sdist,) = out.glob("tether-*.tar.gz")
    (wheel,) = out.glob("tether-*.whl")
    return sdist, wheel


def test_sdist_and_wheel_contain_the_bundle_and_the_demo(dists: tuple[Path, Path]) -> None:
    sdist, wheel = dists
    with tarfile.open(sdist) as archive:
        top = sdist.name.removesuffix(".tar.gz")
        names = set(archive.getnames())
    for name in BUNDLE:
        assert f"{top}/src/tether/static/{name}" in names
    for name in DEMO:
        assert f"{top}/src/tether/demo/static/{name}" in names
    for name in ADMIN_UI:
        assert f"{top}/src/tether/static/socket.io-admin-ui/{name}" in names
    for name in TOOL:
        assert f"{top}/src/tether/tool/static/{name}" in names
    assert any(n.startswith(f"{top}/src/tether/static/socket.io-admin-ui/js/app.") for n in names)
    assert {f"{top}/src/tether/py.typed", f"{top}/build_support/tether_backend.py"} <= names
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {f"tether/static/{name}" for name in BUNDLE} <= names
    assert {f"tether/demo/static/{name}" for name in DEMO} <= names
    assert {f"tether/tool/static/{name}" for name in TOOL} <= names
    assert {f"tether/static/socket.io-admin-ui/{name}" for name in ADMIN_UI} <= names
    assert any(name.startswith("tether/static/socket.io-admin-ui/js/app.") for name in names)
    assert "tether/py.typed" in names
    assert not any(name.startswith(("tests/", "build_support/")) for name in names)


@pytest.fixture(scope="module")
def installed(dists: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the checkout with the wheel installed (its dependencies from the
    package index); its bin directory."""
    venv = tmp_path_factory.mktemp("user") / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin/python", "-m", "pip", "install", "-q", dists[1])
    where = run(venv / "bin/python", "-c", "import tether; print(tether.__file__)", cwd=venv)
    assert where.strip().startswith(str(venv)), where
    return venv / "bin"


class Demo:
    """``tether demo chat`` of the installed wheel, started from a folder outside the checkout."""

    def __init__(self, bin_dir: Path, cwd: Path) -> None:
        self.stderr = cwd / "stderr.txt"
        with self.stderr.open("wb") as stderr:
            self.process = subprocess.Popen(
                [bin_dir / "tether", "demo", "chat", "--port", "0"],
                cwd=cwd,
                env=ENV,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 30)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith("tether demo chat: open http://127.0.0.1:"):
            self.stop()
            pytest.fail(f"no URL from tether demo chat: {line!r} {self.errors()}", pytrace=False)
        self.url = line.split("open ", 1)[1].strip().rstrip("/")

    def errors(self) -> str:
        return self.stderr.read_text()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()


@pytest.fixture
def demo(installed: Path, tmp_path: Path) -> Iterator[Demo]:
    server = Demo(installed, tmp_path)
    try:
        yield server
    finally:
        server.stop()


def test_the_installed_wheel_serves_the_chat_to_chromium(demo: Demo, installed: Path) -> None:
    package = installed.parent / "lib/python{}.{}/site-packages/tether/static".format(
        *sys.version_info[:2]
    )
    for name in ["socket.io.js", "socket.io.min.js", "socket.io.esm.min.js"]:
        with urllib.request.urlopen(f"{demo.url}/socket.io/{name}", timeout=10) as response:
            assert response.status == 200
            assert response.read() == (package / name).read_bytes()
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is missing ({CHROMIUM}): apt-get install -y chromium", pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(demo.url + "/")
            page.fill("#nick", "wheel")
            page.click("#login button")
            expect(page.locator("#me")).to_have_text("wheel", timeout=WAIT)
            expect(page.locator("#conn")).to_have_text("websocket", timeout=WAIT)
            page.fill("#text", "from the wheel")
            page.press("#text", "Enter")
            expect(page.locator("#log .msg.mine .text")).to_have_text(
                ["from the wheel"], timeout=WAIT
            )
            expect(page.locator("#log .msg.mine .ack")).to_have_text("✓", timeout=WAIT)
        finally:
            browser.close()
    assert errors == []
    assert demo.stop() == 0
    assert "bundle is missing" not in demo.errors(), demo.errors()


def test_a_tampered_registry_tarball_fails_the_build(tmp_path: Path) -> None:
    """No bundle in the source and no local copy: the build downloads it from
    ``npm_config_registry`` and refuses a tarball that is not the pinned one."""
    source = tmp_path / "source"
    shutil.copytree(ROOT / "build_support", source / "build_support")
    for name in ["pyproject.toml", "README.md", "MANIFEST.in"]:
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("socket.io*", "__pycache__", "*.so", "*.egg-info"),
    )
    registry = Registry()
    try:
        registry.files[TARBALL_PATH] = package_tarball(contents_for("tampered"))
        env = {**ENV, "npm_config_registry": registry.url}
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", tmp_path / "out", source],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            check=False,
        )
    finally:
        registry.close()
    assert done.returncode != 0
    assert registry.requests == [TARBALL_PATH]
    output = done.stdout + done.stderr
    assert "tether build: the socket.io-client browser bundle: integrity mismatch" in output
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    assert not (source / "src/tether/static").exists() or not list(
        (source / "src/tether/static").iterdir()
    )
