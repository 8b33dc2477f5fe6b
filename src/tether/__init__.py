"""tether: real-time, bidirectional, event-based communication for Python (Socket.IO v4).

The public names are imported on first use, so that ``import tether.ws`` (a pure core)
does not pull in the asyncio layers.
"""

from __future__ import annotations

# First: whether the compiled modules or their .py files are imported (TETHER_PURE_PYTHON).
from tether._compiled import build_info, compiled

# isort: split
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.aio.asgi import ASGIApp
    from tether.broadcast import RemoteSocket
    from tether.client import Client, ConnectError, SyncClient
    from tether.errors import (
        AckTimeoutError,
        ConnectionRefusedError,
        DisconnectedError,
        InvalidAckError,
        TetherError,
    )
    from tether.handshake import Handshake
    from tether.namespace import Namespace
    from tether.recovery import RecoveryOptions
    from tether.server import Server
    from tether.socket import Socket

_EXPORTS = {
    "ASGIApp": "tether.aio.asgi",
    "AckTimeoutError": "tether.errors",
    "Client": "tether.client",
    "ConnectError": "tether.client",
    "SyncClient": "tether.client",
    "ConnectionRefusedError": "tether.errors",
    "DisconnectedError": "tether.errors",
    "InvalidAckError": "tether.errors",
    "TetherError": "tether.errors",
    "Handshake": "tether.handshake",
    "Namespace": "tether.namespace",
    "RecoveryOptions": "tether.recovery",
    "RemoteSocket": "tether.broadcast",
    "Server": "tether.server",
    "Socket": "tether.socket",
}

__all__ = [
    "ASGIApp",
    "AckTimeoutError",
    "Client",
    "ConnectError",
    "ConnectionRefusedError",
    "DisconnectedError",
    "Handshake",
    "InvalidAckError",
    "Namespace",
    "RecoveryOptions",
    "RemoteSocket",
    "Server",
    "Socket",
    "SyncClient",
    "TetherError",
    "build_info",
    "compiled",
]
__version__ = "0.1.0.dev0"


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tether' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
