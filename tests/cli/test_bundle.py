"""The socket.io-client bundle fetcher (:mod:`tether.cli.bundle`) against a registry of our own
on 127.0.0.1 serving tarballs made here; one test (``packaging``) downloads the real one."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import stat
import tarfile
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tether.aio.static import BUNDLE_FILES, STATIC_DIR
from tether.cli import bundle
from tether.cli.bundle import FILES, STAMP, VERSION, BundleError, ensure, is_installed
from tether.cli.main import main as tether_main

ROOT = Path(__file__).resolve().parents[2]
NODE_PACKAGE = ROOT / "tests/interop/node_modules/socket.io-client"
TARBALL_PATH = f"/socket.io-client/-/socket.io-client-{VERSION}.tgz"


def contents_for(tag: str) -> dict[str, bytes]:
    return {name: f"// {tag} {name}\n".encode() for name in FILES}


def tarball(files: Mapping[str, bytes], *, symlink: str | None = None) -> bytes:
    """A gzipped tar as npm packs it (``package/...``); ``symlink`` makes that member a
    symbolic link to /etc/passwd instead of a file."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            if name == symlink:
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def package_tarball(
    files: Mapping[str, bytes], extra: Mapping[str, bytes] | None = None, **options: str
) -> bytes:
    members = {f"package/dist/{name}": data for name, data in files.items()}
    return tarball({**members, **(extra or {})}, **options)


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class Registry:
    """A registry stub on 127.0.0.1: ``files`` maps a request path to a body (404 else)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                registry.requests.append(self.path)
                body = registry.files.get(self.path)
                self.send_response(404 if body is None else 200)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def registry() -> Iterator[Registry]:
    stub = Registry()
    try:
        yield stub
    finally:
        stub.close()


def names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_the_served_files_are_the_bundle_files() -> None:
    assert sorted(BUNDLE_FILES) == sorted(FILES)
    assert bundle.STATIC_DIR == STATIC_DIR


def test_download_checks_integrity_and_extracts_only_the_named_files(
    registry: Registry, tmp_path: Path
) -> None:
    files = contents_for("good")
    extra = {
        "package/package.json": b"{}",
        "package/dist/evil.js": b"evil",
        "../escape.js": b"escape",
        "/tmp/absolute.js": b"absolute",
        f"package/dist/../../{FILES[0]}": b"traversal",
    }
    data = package_tarball(files, extra)
    registry.files["/npm" + TARBALL_PATH] = data
    target = tmp_path / "deep/static"
    done = ensure(target, local=(), registry=registry.url + "npm/", integrity=integrity(data))
    assert done.startswith(f"socket.io-client {VERSION} downloaded from {registry.url}npm/")
    assert registry.requests == ["/npm" + TARBALL_PATH]
    assert names(target) == sorted([*FILES, STAMP])
    assert all((target / name).read_bytes() == files[name] for name in FILES)
    assert all(stat.S_IMODE((target / name).stat().st_mode) == 0o644 for name in FILES)
    assert names(tmp_path) == ["deep"] and names(tmp_path / "deep") == ["static"]
    assert is_installed(target)


def test_integrity_mismatch_is_refused(
    registry: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    registry.files[TARBALL_PATH] = package_tarball(contents_for("tampered"))
    target = tmp_path / "static"
    with pytest.raises(BundleError, match=r"integrity mismatch .* expected sha512-7wjK"):
        ensure(target, local=(), registry=registry.url)  # the pinned integrity
    assert not target.exists() or names(target) == []
    # the command, as a user runs it: the registry from npm_config_registry
    monkeypatch.setenv("npm_config_registry", registry.url)
    monkeypatch.setattr(bundle, "LOCAL_COPIES", ())
    assert tether_main(["bundle", "install", "--to", str(target)]) == 1
    error = capsys.readouterr().err
    assert "integrity mismatch" in error and "refusing it" in error
    assert not target.exists() or names(target) == []


@pytest.mark.parametrize("fault", ["missing", "symlink", "not a tarball", "404"])
def test_a_bad_package_is_refused(registry: Registry, tmp_path: Path, fault: str) -> None:
    files = contents_for("x")
    if fault == "missing":
        del files["socket.io.msgpack.min.js.map"]
        data, message = package_tarball(files), "has no dist/socket.io.msgpack.min.js.map"
    elif fault == "symlink":
        data = package_tarball(files, symlink="package/dist/socket.io.js")
        message = "dist/socket.io.js in the socket.io-client tarball is not a file"
    elif fault == "not a tarball":
        data, message = b"<html>not a tarball</html>", "unreadable"
    else:
        data, message = b"", "could not download .*404"
    if fault != "404":
        registry.files[TARBALL_PATH] = data
    with pytest.raises(BundleError, match=message):
        ensure(tmp_path / "static", local=(), registry=registry.url, integrity=integrity(data))
    assert not (tmp_path / "static").exists()


def fake_package(directory: Path, version: str, tag: str) -> Path:
    (directory / "dist").mkdir(parents=True)
    meta = {"name": "socket.io-client", "version": version}
    (directory / "package.json").write_text(json.dumps(meta))
    for name, data in contents_for(tag).items():
        (directory / "dist" / name).write_bytes(data)
    return directory


def test_a_local_copy_at_the_pinned_version_is_used(registry: Registry, tmp_path: Path) -> None:
    older = fake_package(tmp_path / "older", "4.8.3", "older")
    pinned = fake_package(tmp_path / "pinned", VERSION, "pinned")
    target = tmp_path / "static"
    done = ensure(target, local=[older, tmp_path / "absent", pinned], registry=registry.url)
    assert done == f"socket.io-client {VERSION} copied from {pinned} into {target}"
    assert registry.requests == []
    assert (target / "socket.io.js").read_bytes() == b"// pinned socket.io.js\n"
    assert is_installed(target)
    # another version only: the registry is asked (here it has nothing)
    with pytest.raises(BundleError, match="could not download"):
        ensure(tmp_path / "other", local=[older], registry=registry.url)
    assert registry.requests == [TARBALL_PATH]


def test_a_stamped_copy_is_kept_and_a_changed_one_replaced(
    registry: Registry, tmp_path: Path
) -> None:
    target = tmp_path / "static"
    ensure(target, local=[fake_package(tmp_path / "pkg", VERSION, "local")], registry=registry.url)
    assert ensure(target, local=(), registry=registry.url) == (
        f"socket.io-client {VERSION} is already in {target}"
    )
    assert registry.requests == []
    # a file changed since: not installed any more, the files are fetched again
    (target / "socket.io.min.js").write_bytes(b"changed")
    assert not is_installed(target)
    data = package_tarball(contents_for("registry"))
    registry.files[TARBALL_PATH] = data
    assert "downloaded" in ensure(
        target, local=(), registry=registry.url, integrity=integrity(data)
    )
    assert (target / "socket.io.min.js").read_bytes() == b"// registry socket.io.min.js\n"
    assert is_installed(target)
    # a stamp of another version is not trusted
    stamp = (target / STAMP).read_text().replace(f"@{VERSION}", "@4.8.3")
    (target / STAMP).write_text(stamp)
    assert not is_installed(target)
    # a copy from a dist directory of unknown version is not stamped
    (tmp_path / "pkg/package.json").unlink()
    bundle.install(tmp_path / "pkg/dist", target)
    assert not (target / STAMP).exists() and not is_installed(target)


@pytest.fixture
def fake_npm(tmp_path: Path) -> Path:
    """A stand-in ``npm`` (the npm CLI is not what is tested): answers a registry URL."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text('#!/bin/sh\n[ "$*" = "config get registry" ] && echo http://127.0.0.1:9/npm/\n')
    npm.chmod(0o755)
    return bin_dir


def test_where_the_registry_comes_from(tmp_path: Path, fake_npm: Path) -> None:
    user, global_ = tmp_path / "user-npmrc", tmp_path / "global-npmrc"
    env = {
        "PATH": str(tmp_path / "empty"),
        "npm_config_userconfig": str(user),
        "npm_config_globalconfig": str(global_),
        "PORT": "4873",
    }
    with pytest.raises(BundleError, match=r"no npm registry is configured.*npm_config_registry"):
        bundle.registry_url(env)
    env["PATH"] = str(fake_npm)
    assert bundle.registry_url(env) == "http://127.0.0.1:9/npm/"  # npm config get registry
    global_.write_text("; comment\nregistry = 'http://127.0.0.1:${PORT}/global/'\n")
    assert bundle.registry_url(env) == "http://127.0.0.1:4873/global/"
    user.write_text("@scope:registry=http://127.0.0.1:1/\nregistry=http://127.0.0.1:2/user/\n")
    assert bundle.registry_url(env) == "http://127.0.0.1:2/user/"
    env["npm_config_registry"] = "http://127.0.0.1:3/env/"
    assert bundle.registry_url(env) == "http://127.0.0.1:3/env/"


def test_install_from_a_dist_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package = fake_package(tmp_path / "pkg", VERSION, "dist")
    target = tmp_path / "out"
    assert (
        tether_main(["bundle", "install", "--from", str(package / "dist"), "--to", str(target)])
        == 0
    )
    assert f"8 files from {package / 'dist'} into {target}" in capsys.readouterr().out
    assert is_installed(target)
    (package / "dist/socket.io.esm.min.js").unlink()
    assert (
        tether_main(["bundle", "install", "--from", str(package / "dist"), "--to", str(target)])
        == 1
    )
    assert "missing socket.io.esm.min.js" in capsys.readouterr().err


@pytest.mark.packaging
def test_the_pin_is_the_registry_tarball(tmp_path: Path) -> None:
    """The real npm registry (from the environment, as a user's build finds it) serves the
    pinned tarball, whose dist files are those npm installed in tests/interop."""
    files = bundle.fetch()
    assert sorted(files) == sorted(FILES)
    assert b"socket.io" in files["socket.io.min.js"]
    if NODE_PACKAGE.is_dir():
        assert all(files[name] == (NODE_PACKAGE / "dist" / name).read_bytes() for name in FILES)


ADMIN_TARBALL_PATH = f"/@socket.io/admin-ui/-/admin-ui-{bundle.ADMIN_UI.version}.tgz"


def tree_files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def test_the_admin_ui_tree_is_extracted_without_trusting_tar_paths(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = {
        "package/ui/dist/index.html": b"<html>",
        "package/ui/dist/js/app.js": b"app",
        "package/ui/dist/./css/../css/app.css": b"css",
    }
    bad = {
        "package/ui/dist/../../escape.js": b"escape",
        "package/ui/dist//etc/absolute.js": b"absolute",
        "/package/ui/dist/rooted.js": b"rooted",
        "package/dist/other.js": b"outside ui/dist",
        "package/ui/distant.js": b"not under ui/dist/",
        "package/ui/dist/link.js": b"",
    }
    data = tarball({**good, **bad}, symlink="package/ui/dist/link.js")
    registry.files[ADMIN_TARBALL_PATH] = data
    target = tmp_path / "admin"
    done = ensure(target, registry=registry.url, integrity=integrity(data), package=bundle.ADMIN_UI)
    assert done.startswith("@socket.io/admin-ui 0.5.1 downloaded from")
    assert tree_files(target) == [
        "css/app.css",
        "index.html",
        "js/app.js",
        "socket.io-admin-ui.version",
    ]
    assert (target / "css/app.css").read_bytes() == b"css"
    assert names(tmp_path) == ["admin"]
    assert is_installed(target, bundle.ADMIN_UI)
    (target / "js/app.js").write_bytes(b"changed")
    assert not is_installed(target, bundle.ADMIN_UI)

    # A newer tree replaces the files an older stamp listed; the bounds hold.
    data = tarball({"package/ui/dist/index.html": b"<html>2", "package/ui/dist/js/b.js": b"b"})
    registry.files[ADMIN_TARBALL_PATH] = data
    ensure(target, registry=registry.url, integrity=integrity(data), package=bundle.ADMIN_UI)
    assert tree_files(target) == ["index.html", "js/b.js", "socket.io-admin-ui.version"]
    monkeypatch.setattr(bundle, "MAX_TREE_FILE", 3)
    with pytest.raises(BundleError, match="too many or too large"):
        ensure(
            tmp_path / "x",
            registry=registry.url,
            integrity=integrity(data),
            package=bundle.ADMIN_UI,
        )
    data = tarball({"package/ui/dist/app.js": b"no"})
    registry.files[ADMIN_TARBALL_PATH] = data
    with pytest.raises(BundleError, match=r"no ui/dist/index\.html"):
        ensure(
            tmp_path / "y",
            registry=registry.url,
            integrity=integrity(data),
            package=bundle.ADMIN_UI,
        )
    # The pinned integrity refuses anything else.
    with pytest.raises(BundleError, match="integrity mismatch"):
        ensure(tmp_path / "z", registry=registry.url, package=bundle.ADMIN_UI)


def test_install_both_packages_from_the_command(
    registry: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = fake_package(tmp_path / "client", VERSION, "client")
    ui = tmp_path / "admin-ui"
    (ui / "ui/dist/js").mkdir(parents=True)
    (ui / "package.json").write_text(
        json.dumps({"name": "@socket.io/admin-ui", "version": "0.5.1"})
    )
    (ui / "ui/dist/index.html").write_bytes(b"<html>")
    (ui / "ui/dist/js/app.js").write_bytes(b"app")
    target = tmp_path / "static"
    args = ["bundle", "install", "--to", str(target)]
    assert tether_main([*args, "--from", str(client / "dist")]) == 0
    assert is_installed(target)
    ui_args = ["--package", "@socket.io/admin-ui", "--from", str(ui / "ui/dist")]
    assert tether_main([*args[:2], *ui_args, "--to", str(target / "ui")]) == 0
    assert is_installed(target / "ui", bundle.ADMIN_UI)
    assert tree_files(target / "ui") == ["index.html", "js/app.js", "socket.io-admin-ui.version"]
    # Both, the admin UI under the target: the client is there already, the UI downloaded.
    data = tarball({"package/ui/dist/index.html": b"<html>"})
    registry.files[ADMIN_TARBALL_PATH] = data
    monkeypatch.setenv("npm_config_registry", registry.url)
    monkeypatch.setattr(
        bundle, "ADMIN_UI", dataclasses.replace(bundle.ADMIN_UI, integrity=integrity(data))
    )
    monkeypatch.setattr(bundle, "PACKAGES", (bundle.CLIENT, bundle.ADMIN_UI))
    assert tether_main(args) == 0
    out = capsys.readouterr().out
    assert f"socket.io-client {VERSION} is already in {target}" in out
    assert (
        f"downloaded from {registry.url}@socket.io/admin-ui/-/admin-ui-0.5.1.tgz into {target / 'socket.io-admin-ui'}"
        in out
    )
    assert is_installed(target / "socket.io-admin-ui", bundle.ADMIN_UI)


@pytest.mark.packaging
def test_the_admin_ui_pin_is_the_registry_tarball() -> None:
    """The real npm registry serves the pinned admin UI, whose ``ui/dist`` has its page."""
    files = bundle.fetch(package=bundle.ADMIN_UI)
    assert b"Socket.IO Admin UI" in files["index.html"]
    assert any(name.startswith("js/app.") for name in files)
