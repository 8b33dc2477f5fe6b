"""The official ``socket.io-client`` browser bundle that tether serves under ``/socket.io/``.

``tether bundle install`` (or ``python -m tether.cli.bundle``) puts the pinned version's
dist files into the package's ``static/`` directory (or ``--to DIR``); ``--from DIR`` copies
them from an npm package's ``dist`` instead. The package build does the same before it makes
an sdist or a wheel (``build_support/tether_backend.py``), so every build contains the bundle.

Where the files come from, in this order (:func:`ensure`):

1. the target directory itself, when its stamp file (:data:`STAMP`: the version and the
   SHA-256 of each file) matches;
2. a local copy of the npm package at the pinned version (``tests/interop/node_modules`` of
   a checkout);
3. the npm registry: the tarball of :data:`VERSION`, refused unless its SHA-512 is
   :data:`INTEGRITY`, from which only the files named in :data:`FILES` are read. The registry
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
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
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


class BundleError(Exception):
    """The bundle could not be had: no registry, a download that failed, an integrity
    mismatch, a file missing from the package."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stamp_text(contents: Mapping[str, bytes]) -> str:
    lines = [f"{PACKAGE}@{VERSION}"] + [f"{_sha256(contents[name])}  {name}" for name in FILES]
    return "\n".join(lines) + "\n"


def is_installed(target: Path = STATIC_DIR) -> bool:
    """Whether ``target`` holds every file of the pinned version, as its stamp says."""
    try:
        stamp = (target / STAMP).read_text("utf-8").splitlines()
        if not stamp or stamp[0] != f"{PACKAGE}@{VERSION}":
            return False
        digests = {}
        for line in stamp[1:]:
            digest, _, name = line.partition("  ")
            digests[name] = digest
        return all(digests.get(name) == _sha256((target / name).read_bytes()) for name in FILES)
    except (OSError, UnicodeDecodeError):
        return False


def _store(target: Path, contents: Mapping[str, bytes], stamped: bool) -> list[Path]:
    """Write the files into ``target`` (each through a temporary file and a rename), the
    stamp last; without ``stamped`` an older stamp is removed."""
    target.mkdir(parents=True, exist_ok=True)
    (target / STAMP).unlink(missing_ok=True)
    written = []
    for name in FILES:
        fd, temporary = tempfile.mkstemp(prefix=".bundle-", dir=target)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(contents[name])
            os.chmod(temporary, 0o644)
            os.replace(temporary, target / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written.append(target / name)
    if stamped:
        (target / STAMP).write_text(_stamp_text(contents), "utf-8")
    return written


def _package_version(package: Path) -> str | None:
    """The version in ``package/package.json`` if it is the socket.io-client package."""
    try:
        meta = json.loads((package / "package.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("name") != PACKAGE:
        return None
    version = meta.get("version")
    return version if isinstance(version, str) else None


def install(source: Path, target: Path = STATIC_DIR) -> list[Path]:
    """Copy the bundle files from ``source`` (an npm package's ``dist``) into ``target``.

    The copy is stamped when ``source/../package.json`` is socket.io-client at the pinned
    version; raises :class:`FileNotFoundError` when a file is missing."""
    missing = [name for name in FILES if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{source}: missing {', '.join(missing)}")
    contents = {name: (source / name).read_bytes() for name in FILES}
    return _store(target, contents, _package_version(source.parent) == VERSION)


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


def tarball_url(registry: str, version: str = VERSION) -> str:
    """Where a registry serves the package's tarball of ``version``."""
    return f"{registry.rstrip('/')}/{PACKAGE}/-/{PACKAGE}-{version}.tgz"


def _integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def extract(tarball: bytes) -> dict[str, bytes]:
    """The files of :data:`FILES` from the package's tarball (``package/dist/<name>``, regular
    files only); nothing else is read and nothing is written."""
    contents = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            for name in FILES:
                try:
                    member = archive.getmember(f"package/dist/{name}")
                except KeyError:
                    raise BundleError(f"the {PACKAGE} tarball has no dist/{name}") from None
                file = archive.extractfile(member) if member.isreg() else None
                if file is None:
                    raise BundleError(f"dist/{name} in the {PACKAGE} tarball is not a file")
                contents[name] = file.read()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BundleError(f"the {PACKAGE} tarball is unreadable: {error}") from error
    return contents


def fetch(
    registry: str | None = None, integrity: str = INTEGRITY, version: str = VERSION
) -> dict[str, bytes]:
    """Download the package's tarball from ``registry`` (default :func:`registry_url`),
    check its SHA-512 against ``integrity`` and return the bundle files from it."""
    url = tarball_url(registry or registry_url(), version)
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
    return extract(data)


def ensure(
    target: Path = STATIC_DIR,
    local: Iterable[Path] | None = None,
    registry: str | None = None,
    integrity: str = INTEGRITY,
) -> str:
    """Make ``target`` hold the pinned bundle: keep it if its stamp matches, else copy a
    local copy of the package at the pinned version (``local``, default :data:`LOCAL_COPIES`),
    else download it. Says what it did."""
    if is_installed(target):
        return f"{PACKAGE} {VERSION} is already in {target}"
    for package in LOCAL_COPIES if local is None else local:
        if _package_version(package) == VERSION and all(
            (package / "dist" / name).is_file() for name in FILES
        ):
            install(package / "dist", target)
            return f"{PACKAGE} {VERSION} copied from {package} into {target}"
    url = registry or registry_url()
    _store(target, fetch(url, integrity), stamped=True)
    return f"{PACKAGE} {VERSION} downloaded from {tarball_url(url)} into {target}"


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="source",
        metavar="DIR",
        type=Path,
        help="copy the files from this socket.io-client dist directory instead of downloading",
    )
    parser.add_argument(
        "--to",
        dest="target",
        metavar="DIR",
        type=Path,
        default=STATIC_DIR,
        help=f"where to put them (default: the package's {STATIC_DIR})",
    )


def _run(args: argparse.Namespace) -> int:
    try:
        if args.source is not None:
            copied = install(args.source, args.target)
            print(f"tether bundle: {len(copied)} files from {args.source} into {args.target}")
        else:
            print(f"tether bundle: {ensure(args.target)}")
    except (BundleError, OSError) as error:
        print(f"tether bundle: {error}", file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``bundle install`` to the ``tether`` command's subparsers."""
    bundle = subparsers.add_parser("bundle", help="the socket.io-client browser bundle")
    actions = bundle.add_subparsers(dest="bundle_command", required=True)
    install_parser = actions.add_parser(
        "install",
        help=f"download, check and install {PACKAGE} {VERSION} (served at /socket.io/)",
        description=f"Install the pinned {PACKAGE} {VERSION} browser bundle that tether serves.",
    )
    _add_arguments(install_parser)
    install_parser.set_defaults(func=_run)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tether.cli.bundle [--from DIR] [--to DIR]``: ``tether bundle install``."""
    parser = argparse.ArgumentParser(
        prog="python -m tether.cli.bundle",
        description=f"Install the pinned {PACKAGE} {VERSION} browser bundle that tether serves.",
    )
    _add_arguments(parser)
    return _run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
