"""tether's build backend: setuptools, after the socket.io-client browser bundle and the admin
UI are in place.

Both are package data (``tether/static/socket.io*``, the admin UI in
``tether/static/socket.io-admin-ui/``) that is never committed. Before an sdist or a wheel is
built, :func:`tether.cli.bundle.ensure` puts the pinned, checked files of each package
(:data:`tether.cli.bundle.PACKAGES`) into ``src/tether/static/`` (kept if already stamped there, as in an unpacked sdist; else
copied from ``tests/interop/node_modules``; else downloaded from the npm registry). A bundle
that can't be had fails the build, unless ``TETHER_NO_BUNDLE=1``: the package is built without
it and ``tether bundle install`` adds it later. Editable installs are left as they are (the
Makefile runs ``tether bundle install``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from setuptools import build_meta
from setuptools.build_meta import (
    build_editable,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_editable",
    "prepare_metadata_for_build_wheel",
]

ROOT = Path(__file__).resolve().parent.parent


def _put_bundle() -> None:
    if os.environ.get("TETHER_NO_BUNDLE") == "1":
        print(
            "tether build: TETHER_NO_BUNDLE=1, building without the browser bundle", file=sys.stderr
        )
        return
    # By its path: importing the tether package would need its runtime dependencies.
    spec = importlib.util.spec_from_file_location(
        "_tether_bundle", ROOT / "src/tether/cli/bundle.py"
    )
    assert spec is not None and spec.loader is not None
    bundle = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bundle  # its dataclasses look their module up there
    spec.loader.exec_module(bundle)
    static = ROOT / "src/tether/static"
    for package, what in zip(
        bundle.PACKAGES, ("the socket.io-client browser bundle", "the admin UI"), strict=True
    ):
        target = static if package is bundle.CLIENT else static / package.target.name
        try:
            done = bundle.ensure(target, package=package)
        except bundle.BundleError as error:
            raise SystemExit(
                f"tether build: {what}: {error}\n"
                "  (TETHER_NO_BUNDLE=1 builds without them; then run `tether bundle install`)"
            ) from None
        print(f"tether build: {done}", file=sys.stderr)


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    """setuptools' ``build_sdist``, with the bundle."""
    _put_bundle()
    result: str = build_meta.build_sdist(sdist_directory, config_settings)
    return result


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    """setuptools' ``build_wheel``, with the bundle."""
    _put_bundle()
    result: str = build_meta.build_wheel(wheel_directory, config_settings, metadata_directory)
    return result
