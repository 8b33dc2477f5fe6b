"""Install the official ``socket.io-client`` browser bundle that tether serves:
``python -m tether.cli.bundle --from tests/interop/node_modules/socket.io-client/dist``."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from tether.aio.static import BUNDLE_FILES, STATIC_DIR


def install(source: Path, target: Path = STATIC_DIR) -> list[Path]:
    """Copy the bundle files from ``source`` (the npm package's ``dist``) into ``target``."""
    missing = [name for name in BUNDLE_FILES if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{source}: missing {', '.join(missing)}")
    target.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copyfile(source / name, target / name)) for name in BUNDLE_FILES]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tether.cli.bundle --from <socket.io-client/dist>``."""
    parser = argparse.ArgumentParser(
        prog="python -m tether.cli.bundle", description="Install the socket.io-client bundle."
    )
    parser.add_argument("--from", dest="source", required=True, type=Path)
    parser.add_argument("--to", dest="target", default=STATIC_DIR, type=Path)
    args = parser.parse_args(argv)
    try:
        copied = install(args.source, args.target)
    except FileNotFoundError as error:
        print(f"tether.cli.bundle: {error}", file=sys.stderr)
        return 1
    print(f"tether.cli.bundle: {len(copied)} files into {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
