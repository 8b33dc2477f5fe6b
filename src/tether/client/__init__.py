"""The Socket.IO client: :class:`Client` (asyncio) and :class:`SyncClient` (blocking).

``SyncClient`` runs a ``Client`` on an event loop in a thread of its own; it is a wrapper,
not a second implementation.
"""

from tether.client.core import Client
from tether.client.state import ConnectError
from tether.client.sync import SyncClient

__all__ = ["Client", "ConnectError", "SyncClient"]
