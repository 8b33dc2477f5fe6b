"""Settings of connection state recovery."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecoveryOptions:
    """Connection state recovery (Node's ``connectionStateRecovery``).

    Attributes:
        max_disconnection_duration: seconds a disconnected socket can come back in.
        skip_middlewares: skip the connection middlewares when a session is recovered.
    """

    max_disconnection_duration: float = 120.0
    skip_middlewares: bool = True
