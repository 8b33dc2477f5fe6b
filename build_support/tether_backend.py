"""tether's build backend: setuptools, after the socket.io-client browser bundle is in place.

The bundle is package data (``tether/static/socket.io*``) that is never committed. Before an
sdist or a wheel is built, :func:`tether.cli.bundle.ensure` puts the pinned, checked files
into ``src/tether/static/`` (kept if already stamped there, as in an unpacked sdist; else
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
    spec.loader.exec_module(bundle)
    try:
        done = bundle.ensure(ROOT / "src/tether/static")
    except bundle.BundleError as error:
        raise SystemExit(
            f"tether build: the socket.io-client browser bundle: {error}\n"
            "  (TETHER_NO_BUNDLE=1 builds without it; then run `tether bundle install`)"
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
