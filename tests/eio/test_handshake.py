"""Request routing and the open packet."""

from __future__ import annotations

import orjson
import pytest

from tether.eio.errors import ErrorCode, RequestError
from tether.eio.handshake import RequestKind, Route, open_packet, route

BOTH = {"polling": False, "websocket": True}


@pytest.mark.parametrize(
    ("method", "query", "ws", "expected"),
    [
        (
            "GET",
            {"EIO": "4", "transport": "polling"},
            False,
            (RequestKind.HANDSHAKE, "polling", ""),
        ),
        (
            "GET",
            {"EIO": "4", "transport": "websocket"},
            True,
            (RequestKind.HANDSHAKE, "websocket", ""),
        ),
        (
            "GET",
            {"EIO": "4", "transport": "polling", "sid": "s"},
            False,
            (RequestKind.POLL, "polling", "s"),
        ),
        (
            "POST",
            {"EIO": "4", "transport": "polling", "sid": "s"},
            False,
            (RequestKind.POST, "polling", "s"),
        ),
        (
            "GET",
            {"EIO": "4", "transport": "websocket", "sid": "s"},
            True,
            (RequestKind.UPGRADE, "websocket", "s"),
        ),
    ],
)
def test_valid_requests(method: str, query: dict[str, str], ws: bool, expected: Route) -> None:
    assert route(method, query, ws, BOTH) == expected


@pytest.mark.parametrize(
    ("method", "query", "ws", "code"),
    [
        ("GET", {"transport": "polling"}, False, ErrorCode.UNSUPPORTED_PROTOCOL_VERSION),
        (
            "GET",
            {"EIO": "3", "transport": "polling"},
            False,
            ErrorCode.UNSUPPORTED_PROTOCOL_VERSION,
        ),
        ("GET", {"EIO": "4"}, False, ErrorCode.UNKNOWN_TRANSPORT),
        ("GET", {"EIO": "4", "transport": "flash"}, False, ErrorCode.UNKNOWN_TRANSPORT),
        ("GET", {"EIO": "4", "transport": "websocket"}, False, ErrorCode.BAD_REQUEST),
        ("GET", {"EIO": "4", "transport": "polling"}, True, ErrorCode.BAD_REQUEST),
        ("POST", {"EIO": "4", "transport": "polling"}, False, ErrorCode.BAD_HANDSHAKE_METHOD),
        ("POST", {"EIO": "4", "transport": "websocket"}, True, ErrorCode.BAD_HANDSHAKE_METHOD),
        ("PUT", {"EIO": "4", "transport": "polling", "sid": "s"}, False, ErrorCode.BAD_REQUEST),
    ],
)
def test_refused_requests(method: str, query: dict[str, str], ws: bool, code: ErrorCode) -> None:
    with pytest.raises(RequestError) as info:
        route(method, query, ws, BOTH)
    assert info.value.code == code
    assert info.value.status == 400
    assert orjson.loads(info.value.body())["code"] == code


def test_disabled_transport_is_unknown() -> None:
    with pytest.raises(RequestError) as info:
        route("GET", {"EIO": "4", "transport": "polling"}, False, {"websocket": True})
    assert info.value.code == ErrorCode.UNKNOWN_TRANSPORT


def test_open_packet() -> None:
    packet = open_packet("abc", ["websocket"], 0.3, 0.2, 1_000_000)
    assert packet[0] == "0"
    assert orjson.loads(packet[1:]) == {
        "sid": "abc",
        "upgrades": ["websocket"],
        "pingInterval": 300,
        "pingTimeout": 200,
        "maxPayload": 1_000_000,
    }


def test_error_bodies_match_node() -> None:
    error = RequestError(ErrorCode.UNKNOWN_SID)
    assert error.body() == b'{"code":1,"message":"Session ID unknown"}'
    assert str(RequestError(ErrorCode.BAD_REQUEST, detail="x")) == "Bad request: x"
