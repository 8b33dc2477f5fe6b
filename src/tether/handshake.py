"""What a client sent when it connected to a namespace (Node's ``socket.handshake``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Handshake:
    """What the client sent when it connected (Node's ``socket.handshake``)."""

    headers: dict[str, str]
    query: dict[str, str]
    address: str
    time: str
    issued: int
    url: str
    secure: bool
    xdomain: bool
    auth: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Handshake:
        """A handshake as another server of the cluster reported it (missing or mistyped
        fields left empty)."""

        def text(key: str) -> str:
            value = raw.get(key)
            return value if isinstance(value, str) else ""

        def mapping(key: str) -> dict[str, Any]:
            value = raw.get(key)
            return value if isinstance(value, dict) else {}

        issued = raw.get("issued")
        return cls(
            headers=mapping("headers"),
            query=mapping("query"),
            address=text("address"),
            time=text("time"),
            issued=issued if isinstance(issued, int) else 0,
            url=text("url"),
            secure=raw.get("secure") is True,
            xdomain=raw.get("xdomain") is True,
            auth=mapping("auth"),
        )
