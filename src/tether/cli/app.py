"""Finding the application a command names (``module:attribute``)."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any


def load_app(target: str) -> Any:
    """The object named by ``module:attribute`` (the module imported from the current
    directory too)."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise SystemExit(f"tether: expected module:attribute, got {target!r}")
    sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    value = module
    for part in attr.split("."):
        value = getattr(value, part)
    return value
