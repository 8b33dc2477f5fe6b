"""The npm files tether serves: the official ``socket.io-client`` browser bundle (under
``/socket.io/``) and the official admin UI (``@socket.io/admin-ui``'s ``ui/dist``, under
``/admin/``: :mod:`tether.admin`).

``tether bundle install`` (or ``python -m tether.cli.bundle``) puts the pinned versions' files
into the package's ``static/`` directory (the admin UI in ``static/socket.io-admin-ui/``);
``--to DIR`` puts them elsewhere, ``--from DIR`` copies them from an npm package's directory
instead (``dist`` of the client, ``ui/dist`` of the admin UI). The package build does the
same before it makes an sdist or a wheel (``build_support/tether_backend.py``), so every
build contains them. Each package is a :class:`Package`: :data:`CLIENT` and :data:`ADMIN_UI`.

Where the files come from, in this order (:func:`ensure`):

1. the target directory itself, when its stamp file (:data:`STAMP`: the version and the
   SHA-256 of each file) matches;
2. a local copy of the npm package at the pinned version (``tests/interop/node_modules`` of
   a checkout);
3. the npm registry: the tarball of :data:`VERSION`, refused unless its SHA-512 is
   :data:`INTEGRITY`, from which only the files named in :data:`FILES` are read (for the
   admin UI: the regular files under ``package/ui/dist/``, their paths normalised, none
   outside it, each and all of them size-bounded). The registry
   is ``npm_config_registry``, else the ``registry=`` line of the user's or the global npmrc,
   else what ``npm config get registry`` answers.

Standard library only, and no ``tether`` import: the build loads this file by its path,
without tether's runtime dependencies.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import io
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: The npm package and the pinned version (the one ``tests/interop/package.json`` pins).
PACKAGE = "socket.io-client"
VERSION = "4.8.4"
#: The registry's ``dist.integrity`` of that version: SHA-512 of the tarball.
INTEGRITY = "sha512-7wjKAvVXYOJsbmUgkWbnhPD4bFpkqrUR0++XOjpGFmqDqsqV1CI93VTraeExLxpjxEqrWgFoSRZu1ihjLWfkAA=="
#: The files of the package's ``dist/`` that tether ships and serves.
FILES = (
    "socket.io.js",
    "socket.io.js.map",
    "socket.io.min.js",
    "socket.io.min.js.map",
    "socket.io.esm.min.js",
    "socket.io.esm.min.js.map",
    "socket.io.msgpack.min.js",
    "socket.io.msgpack.min.js.map",
)
#: The stamp written beside the files: ``socket.io-client@VERSION`` then ``<sha256>  <name>``.
STAMP = "socket.io-client.version"
#: ``tether/static/`` of this package (:data:`tether.aio.static.STATIC_DIR`).
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
#: Local copies of the npm package looked at before the registry (a checkout's interop deps).
LOCAL_COPIES = (Path(__file__).resolve().parents[3] / "tests/interop/node_modules" / PACKAGE,)
#: The largest tarball read from the registry (4.8.4's is 324 KiB), and the network timeout.
MAX_TARBALL = 16 * 1024 * 1024
TIMEOUT = 60.0


#: Bounds on the files of a package read as a tree (the admin UI's ``ui/dist`` of 0.5.1 has
#: 10 files, the largest 3.1 MB, 5 MB in all).
MAX_TREE_FILES = 200
MAX_TREE_FILE = 16 * 1024 * 1024
MAX_TREE_TOTAL = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Package:
    """An npm package whose files tether ships.

    Attributes:
        name: the npm name.
        version: the pinned version.
        integrity: the registry's ``dist.integrity`` of that version.
        source: the directory of the package the files come from (``dist``, ``ui/dist``).
        files: the files taken from it; ``None`` for every regular file under it (a tree).
        stamp: the stamp file written beside them.
        target: where they go by default.
    """

    name: str
    version: str
    integrity: str
    source: str
    files: tuple[str, ...] | None
    stamp: str
    target: Path


class BundleError(Exception):
    """The bundle could not be had: no registry, a download that failed, an integrity
    mismatch, a file missing from the package."""


#: The socket.io-client browser bundle.
CLIENT = Package(PACKAGE, VERSION, INTEGRITY, "dist", FILES, STAMP, STATIC_DIR)
#: The official admin UI (:mod:`tether.admin`), served under ``/admin/``.
ADMIN_UI = Package(
    "@socket.io/admin-ui",
    "0.5.1",
    "sha512-1dlGL2FGm6T+uL1e6iDvbo2eCINwvW7iVbjIblwh5kPPRM1SP8lmZrbFZf4QNJ/cqQ+JLcx49eXGM9WAB4TK7w==",
    "ui/dist",
    None,
    "socket.io-admin-ui.version",
    STATIC_DIR / "socket.io-admin-ui",
)
PACKAGES = (CLIENT, ADMIN_UI)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stamp_text(contents: Mapping[str, bytes], package: Package = CLIENT) -> str:
    names = package.files or sorted(contents)
    lines = [f"{package.name}@{package.version}"]
    lines += [f"{_sha256(contents[name])}  {name}" for name in names]
    return "\n".join(lines) + "\n"


def _stamped(target: Path, package: Package) -> dict[str, str]:
    """The files a stamp of ``package`` at its pinned version lists, with their digests."""
    stamp = (target / package.stamp).read_text("utf-8").splitlines()
    if not stamp or stamp[0] != f"{package.name}@{package.version}":
        return {}
    digests = {}
    for line in stamp[1:]:
        digest, _, name = line.partition("  ")
        if _safe_name(name) is not None:
            digests[name] = digest
    return digests


def is_installed(target: Path = STATIC_DIR, package: Package = CLIENT) -> bool:
    """Whether ``target`` holds every file of the pinned version, as its stamp says."""
    try:
        digests = _stamped(target, package)
        names = package.files or sorted(digests)
        if not names:
            return False
        return all(digests.get(name) == _sha256((target / name).read_bytes()) for name in names)
    except (OSError, UnicodeDecodeError):
        return False


def _safe_name(name: str) -> str | None:
    """``name`` normalised, if it is a relative path that stays inside its directory."""
    if not name or name.startswith("/") or "\\" in name or "\x00" in name:
        return None
    normal = posixpath.normpath(name)
    if normal in (".", "..") or normal.startswith("../") or normal.startswith("/"):
        return None
    return normal


def _store(
    target: Path, contents: Mapping[str, bytes], stamped: bool, package: Package = CLIENT
) -> list[Path]:
    """Write the files into ``target`` (each through a temporary file and a rename), the
    stamp last; without ``stamped`` an older stamp is removed. For a tree, the files an
    older stamp listed and the new one doesn't are removed."""
    target.mkdir(parents=True, exist_ok=True)
    old: list[str] = []
    if package.files is None:
        try:
            old = (target / package.stamp).read_text("utf-8").splitlines()[1:]
        except (OSError, UnicodeDecodeError):
            old = []
    stale = {name for line in old if (name := _safe_name(line.partition("  ")[2]))}
    (target / package.stamp).unlink(missing_ok=True)
    written = []
    for name in package.files or sorted(contents):
        directory = (target / name).parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".bundle-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(contents[name])
            os.chmod(temporary, 0o644)
            os.replace(temporary, target / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written.append(target / name)
    for name in stale - set(contents):
        (target / name).unlink(missing_ok=True)
    if stamped:
        (target / package.stamp).write_text(_stamp_text(contents, package), "utf-8")
    return written


def _package_version(directory: Path, package: Package = CLIENT) -> str | None:
    """The version in ``directory/package.json`` if it is ``package``."""
    try:
        meta = json.loads((directory / "package.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("name") != package.name:
        return None
    version = meta.get("version")
    return version if isinstance(version, str) else None


def _package_root(source: Path, package: Package) -> Path:
    """The package directory of its ``source`` directory (``dist`` → ``..``)."""
    for _ in package.source.split("/"):
        source = source.parent
    return source


def _tree_files(source: Path) -> dict[str, bytes]:
    """The regular files under ``source`` (no symbolic link followed), bounded."""
    contents: dict[str, bytes] = {}
    total = 0
    for path in sorted(source.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        name = path.relative_to(source).as_posix()
        size = path.stat().st_size
        total += size
        if len(contents) >= MAX_TREE_FILES or size > MAX_TREE_FILE or total > MAX_TREE_TOTAL:
            raise BundleError(f"{source}: too many or too large files")
        contents[name] = path.read_bytes()
    return contents


def install(source: Path, target: Path | None = None, package: Package = CLIENT) -> list[Path]:
    """Copy the files of ``package`` from ``source`` (its npm package's ``dist``, or
    ``ui/dist``) into ``target`` (default: the package's).

    The copy is stamped when the package's ``package.json`` names it at the pinned version;
    raises :class:`FileNotFoundError` when a file is missing."""
    target = package.target if target is None else target
    if package.files is None:
        contents = _tree_files(source)
        if "index.html" not in contents:
            raise FileNotFoundError(f"{source}: missing index.html")
    else:
        missing = [name for name in package.files if not (source / name).is_file()]
        if missing:
            raise FileNotFoundError(f"{source}: missing {', '.join(missing)}")
        contents = {name: (source / name).read_bytes() for name in package.files}
    stamped = _package_version(_package_root(source, package), package) == package.version
    return _store(target, contents, stamped, package)


def _parse_npmrc(path: Path, environ: Mapping[str, str]) -> str | None:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for raw in text.splitlines():
        key, sep, value = raw.strip().partition("=")
        if sep and key.strip() == "registry":
            value = value.strip().strip("\"'")
            return re.sub(r"\$\{([^}]+)\}", lambda m: environ.get(m.group(1), ""), value)
    return None


def _npmrc_files(environ: Mapping[str, str]) -> list[Path]:
    user = Path(environ.get("npm_config_userconfig") or Path.home() / ".npmrc")
    if environ.get("npm_config_globalconfig"):
        return [user, Path(environ["npm_config_globalconfig"])]
    prefixes = [environ["npm_config_prefix"]] if environ.get("npm_config_prefix") else []
    return [user] + [Path(p) / "etc/npmrc" for p in prefixes or ["/usr/local", "/usr"]]


def registry_url(environ: Mapping[str, str] | None = None) -> str:
    """The npm registry to download from: ``npm_config_registry``, else the ``registry=`` of
    the user's or the global npmrc, else ``npm config get registry``."""
    env = os.environ if environ is None else environ
    for key in ("npm_config_registry", "NPM_CONFIG_REGISTRY"):
        if env.get(key):
            return env[key]
    for npmrc in _npmrc_files(env):
        found = _parse_npmrc(npmrc, env)
        if found:
            return found
    npm = shutil.which("npm", path=env.get("PATH"))
    if npm is not None:
        try:
            answer = subprocess.run(
                [npm, "config", "get", "registry"],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                env=dict(env),
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            answer = ""
        if answer.startswith(("http://", "https://")):
            return answer
    raise BundleError(
        "no npm registry is configured: set npm_config_registry to the npm registry's URL "
        "(or a registry= line in ~/.npmrc), or install npm; or copy the files of a "
        f"{PACKAGE} {VERSION} dist directory with `tether bundle install --from DIR`"
    )


def tarball_url(registry: str, version: str = VERSION, package: Package = CLIENT) -> str:
    """Where a registry serves the package's tarball of ``version``."""
    base = package.name.rpartition("/")[2]
    return f"{registry.rstrip('/')}/{package.name}/-/{base}-{version}.tgz"


def _integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def _extract_tree(archive: tarfile.TarFile, package: Package) -> dict[str, bytes]:
    prefix = f"package/{package.source}/"
    contents: dict[str, bytes] = {}
    total = 0
    for member in archive.getmembers():
        if not member.isreg() or not member.name.startswith(prefix):
            continue
        name = _safe_name(member.name[len(prefix) :])
        if name is None or name in contents:
            continue
        total += member.size
        if len(contents) >= MAX_TREE_FILES or member.size > MAX_TREE_FILE or total > MAX_TREE_TOTAL:
            raise BundleError(f"the {package.name} tarball has too many or too large files")
        file = archive.extractfile(member)
        if file is None:  # pragma: no cover - a regular member always has a file
            continue
        contents[name] = file.read(MAX_TREE_FILE + 1)
    if "index.html" not in contents:
        raise BundleError(f"the {package.name} tarball has no {package.source}/index.html")
    return contents


def extract(tarball: bytes, package: Package = CLIENT) -> dict[str, bytes]:
    """The files of the package from its tarball: those named (``package/dist/<name>``), or
    every regular file under its source directory, as a relative path that stays inside it;
    nothing else is read and nothing is written."""
    contents = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            if package.files is None:
                return _extract_tree(archive, package)
            for name in package.files:
                try:
                    member = archive.getmember(f"package/{package.source}/{name}")
                except KeyError:
                    raise BundleError(
                        f"the {package.name} tarball has no {package.source}/{name}"
                    ) from None
                file = archive.extractfile(member) if member.isreg() else None
                if file is None:
                    raise BundleError(
                        f"{package.source}/{name} in the {package.name} tarball is not a file"
                    )
                contents[name] = file.read()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BundleError(f"the {package.name} tarball is unreadable: {error}") from error
    return contents


def fetch(
    registry: str | None = None,
    integrity: str | None = None,
    version: str | None = None,
    package: Package = CLIENT,
) -> dict[str, bytes]:
    """Download the package's tarball from ``registry`` (default :func:`registry_url`),
    check its SHA-512 against ``integrity`` (default: the pinned one) and return the
    package's files from it."""
    integrity = package.integrity if integrity is None else integrity
    url = tarball_url(registry or registry_url(), version or package.version, package)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            data: bytes = response.read(MAX_TARBALL + 1)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise BundleError(f"could not download {url}: {error}") from error
    if len(data) > MAX_TARBALL:
        raise BundleError(f"{url} is larger than {MAX_TARBALL} bytes")
    got = _integrity_of(data)
    if not hmac.compare_digest(got, integrity):
        raise BundleError(
            f"integrity mismatch for {url}: expected {integrity}, got {got}; refusing it"
        )
    return extract(data, package)


def ensure(
    target: Path | None = None,
    local: Iterable[Path] | None = None,
    registry: str | None = None,
    integrity: str | None = None,
    package: Package = CLIENT,
) -> str:
    """Make ``target`` (default: the package's) hold the pinned files: keep them if their
    stamp matches, else copy a local copy of the package at the pinned version (``local``,
    default :data:`LOCAL_COPIES` for the client, none for the admin UI), else download them.
    Says what it did."""
    target = package.target if target is None else target
    what = f"{package.name} {package.version}"
    if is_installed(target, package):
        return f"{what} is already in {target}"
    if local is None:
        local = LOCAL_COPIES if package is CLIENT else ()
    for directory in local:
        source = directory / package.source
        if _package_version(directory, package) == package.version and (
            all((source / name).is_file() for name in package.files)
            if package.files is not None
            else (source / "index.html").is_file()
        ):
            install(source, target, package)
            return f"{what} copied from {directory} into {target}"
    url = registry or registry_url()
    _store(target, fetch(url, integrity, package=package), stamped=True, package=package)
    return f"{what} downloaded from {tarball_url(url, package.version, package)} into {target}"


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--package",
        choices=[package.name for package in PACKAGES],
        help="only this package (with --from: socket.io-client unless named)",
    )
    parser.add_argument(
        "--from",
        dest="source",
        metavar="DIR",
        type=Path,
        help="copy the files from this directory of the npm package (socket.io-client's dist, "
        "@socket.io/admin-ui's ui/dist) instead of downloading",
    )
    parser.add_argument(
        "--to",
        dest="target",
        metavar="DIR",
        type=Path,
        help=f"where to put them (default: the package's {STATIC_DIR}; the admin UI goes "
        f"into {ADMIN_UI.target.name}/ under it)",
    )


def _run(args: argparse.Namespace) -> int:
    if args.package is not None:
        packages = [p for p in PACKAGES if p.name == args.package]
    else:
        packages = [CLIENT] if args.source is not None else list(PACKAGES)
    try:
        for package in packages:
            target = args.target
            if target is not None and package is ADMIN_UI and args.package is None:
                target = target / ADMIN_UI.target.name
            if args.source is not None:
                copied = install(args.source, target, package)
                where = target or package.target
                print(f"tether bundle: {len(copied)} files from {args.source} into {where}")
            else:
                print(f"tether bundle: {ensure(target, package=package)}")
    except (BundleError, OSError) as error:
        print(f"tether bundle: {error}", file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``bundle install`` to the ``tether`` command's subparsers."""
    bundle = subparsers.add_parser(
        "bundle", help="the socket.io-client browser bundle and the admin UI"
    )
    actions = bundle.add_subparsers(dest="bundle_command", required=True)
    install_parser = actions.add_parser(
        "install",
        help=f"download, check and install {PACKAGE} {VERSION} (served at /socket.io/) and "
        f"{ADMIN_UI.name} {ADMIN_UI.version} (served at /admin/)",
        description=f"Install the pinned {PACKAGE} {VERSION} browser bundle and "
        f"{ADMIN_UI.name} {ADMIN_UI.version} UI that tether serves.",
    )
    _add_arguments(install_parser)
    install_parser.set_defaults(func=_run)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tether.cli.bundle [--package NAME] [--from DIR] [--to DIR]``: ``tether
    bundle install``."""
    parser = argparse.ArgumentParser(
        prog="python -m tether.cli.bundle",
        description=f"Install the pinned {PACKAGE} {VERSION} browser bundle and "
        f"{ADMIN_UI.name} {ADMIN_UI.version} UI that tether serves.",
    )
    _add_arguments(parser)
    return _run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
