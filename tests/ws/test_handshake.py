"""RFC 6455 section 4: the opening handshake."""

from __future__ import annotations

import base64

import pytest

from tether.ws import DeflateOptions, DeflateParams, HandshakeError
from tether.ws.handshake import (
    accept_key,
    build_client_request,
    check_client_response,
    check_server_request,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
UPGRADE = [("Upgrade", "websocket"), ("Connection", "Upgrade")]
VERSION = [("Sec-WebSocket-Version", "13")]


def request(**overrides: str | None) -> dict[str, str]:
    headers: dict[str, str | None] = {
        "host": "server.example.com",
        "upgrade": "websocket",
        "connection": "Upgrade",
        "sec-websocket-key": KEY,
        "sec-websocket-version": "13",
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v is not None}


def test_accept_key_rfc_example() -> None:
    assert accept_key(KEY) == ACCEPT


class TestServer:
    def test_valid_request(self) -> None:
        hs = check_server_request("GET", request(), deflate=None)
        assert hs.accept == ACCEPT
        assert hs.deflate is None
        assert hs.headers == [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", ACCEPT),
        ]
        assert hs.response_bytes([("Server", "tether")]) == (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + ACCEPT.encode() + b"\r\nServer: tether\r\n\r\n"
        )

    def test_response_rejects_header_injection(self) -> None:
        hs = check_server_request("GET", request(), deflate=None)
        with pytest.raises(ValueError):
            hs.response_bytes([("X", "a\r\nInjected: 1")])

    @pytest.mark.parametrize(
        "headers",
        [
            request(upgrade="WebSocket"),
            request(upgrade="h2c, websocket"),
            request(connection="keep-alive, Upgrade"),
            request(connection="UPGRADE"),
            request(**{"sec-websocket-key": f" {KEY} "}),
        ],
    )
    def test_lenient_tokens(self, headers: dict[str, str]) -> None:
        assert check_server_request("GET", headers, deflate=None).accept == ACCEPT

    @pytest.mark.parametrize(
        ("method", "headers", "status", "extra"),
        [
            ("POST", request(), 405, [("Allow", "GET")]),
            ("GET", request(upgrade=None), 426, UPGRADE),
            ("GET", request(upgrade="h2c"), 426, UPGRADE),
            ("GET", request(connection="keep-alive"), 426, UPGRADE),
            ("GET", request(connection=None), 426, UPGRADE),
            ("GET", request(**{"sec-websocket-version": "8"}), 426, VERSION),
            ("GET", request(**{"sec-websocket-version": None}), 426, VERSION),
            ("GET", request(**{"sec-websocket-version": "13, 13"}), 426, VERSION),
            ("GET", request(**{"sec-websocket-key": None}), 400, []),
            ("GET", request(**{"sec-websocket-key": "not base64!"}), 400, []),
            ("GET", request(**{"sec-websocket-key": "c2hvcnQ="}), 400, []),
            ("GET", request(**{"sec-websocket-key": f"{KEY}, {KEY}"}), 400, []),
            ("GET", request(**{"sec-websocket-key": "é" * 24}), 400, []),
        ],
    )
    def test_refusals(
        self, method: str, headers: dict[str, str], status: int, extra: list[tuple[str, str]]
    ) -> None:
        with pytest.raises(HandshakeError) as info:
            check_server_request(method, headers, deflate=None)
        assert info.value.status == status
        assert info.value.headers == extra

    def test_error_response_bytes(self) -> None:
        with pytest.raises(HandshakeError) as info:
            check_server_request("GET", request(**{"sec-websocket-version": "8"}), deflate=None)
        response = info.value.response_bytes()
        assert response.startswith(
            b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
        )
        assert response.endswith(b"\r\n\r\nunsupported WebSocket version\n")
        assert HandshakeError("x", status=599).response_bytes().startswith(b"HTTP/1.1 599 Error")

    def test_deflate_accepted(self) -> None:
        headers = request(
            **{"sec-websocket-extensions": "permessage-deflate; client_max_window_bits"}
        )
        hs = check_server_request("GET", headers, deflate=DeflateOptions())
        assert hs.deflate == DeflateParams()
        assert hs.headers[-1] == ("Sec-WebSocket-Extensions", "permessage-deflate")

    def test_deflate_not_enabled_or_not_offered(self) -> None:
        offered = request(**{"sec-websocket-extensions": "permessage-deflate"})
        assert check_server_request("GET", offered, deflate=None).deflate is None
        assert check_server_request("GET", request(), deflate=DeflateOptions()).deflate is None

    def test_deflate_declined(self) -> None:
        headers = request(**{"sec-websocket-extensions": "permessage-deflate; foo"})
        hs = check_server_request("GET", headers, deflate=DeflateOptions())
        assert hs.deflate is None
        assert len(hs.headers) == 3

    def test_malformed_extensions(self) -> None:
        headers = request(**{"sec-websocket-extensions": "permessage-deflate;"})
        with pytest.raises(HandshakeError) as info:
            check_server_request("GET", headers, deflate=DeflateOptions())
        assert info.value.status == 400


def parse_request(data: bytes) -> tuple[str, dict[str, str]]:
    head = data.decode("latin-1")
    assert head.endswith("\r\n\r\n")
    lines = head[:-4].split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(": ")
        headers[name.lower()] = value
    return lines[0], headers


class TestClient:
    def test_request_shape(self) -> None:
        data, key = build_client_request(
            "example.com:8080", "/socket.io/?EIO=4", headers=[("Origin", "x")]
        )
        line, headers = parse_request(data)
        assert line == "GET /socket.io/?EIO=4 HTTP/1.1"
        assert headers["host"] == "example.com:8080"
        assert headers["sec-websocket-key"] == key
        assert len(base64.b64decode(key)) == 16
        assert headers["origin"] == "x"
        assert "sec-websocket-extensions" not in headers
        # the server side accepts what the client side builds
        assert check_server_request("GET", headers, deflate=None).accept == accept_key(key)

    def test_keys_are_random(self) -> None:
        assert build_client_request("h", "/")[1] != build_client_request("h", "/")[1]

    def test_request_with_deflate_round_trip(self) -> None:
        options = DeflateOptions(server_no_context_takeover=True)
        data, key = build_client_request("h", "/", deflate=options)
        _, headers = parse_request(data)
        hs = check_server_request("GET", headers, deflate=DeflateOptions())
        assert hs.deflate == DeflateParams(server_no_context_takeover=True)
        response = {name.lower(): value for name, value in hs.headers}
        assert check_client_response(101, response, key, options) == hs.deflate

    @pytest.mark.parametrize(
        ("host", "path", "headers"),
        [
            ("h\r\nX: y", "/", []),
            ("h", "/a b", []),
            ("h", "nope", []),
            ("h", "/\n", []),
            ("h", "/", [("X", "\r\n")]),
            ("h", "/", [("", "v")]),
        ],
    )
    def test_request_rejects_injection(
        self, host: str, path: str, headers: list[tuple[str, str]]
    ) -> None:
        with pytest.raises(ValueError):
            build_client_request(host, path, headers=headers)

    def response(self, key: str, **overrides: str | None) -> dict[str, str]:
        headers: dict[str, str | None] = {
            "upgrade": "websocket",
            "connection": "Upgrade",
            "sec-websocket-accept": accept_key(key),
        }
        headers.update(overrides)
        return {k: v for k, v in headers.items() if v is not None}

    def test_good_response(self) -> None:
        assert check_client_response(101, self.response(KEY), KEY) is None

    @pytest.mark.parametrize(
        ("status", "overrides"),
        [
            (200, {}),
            (101, {"upgrade": None}),
            (101, {"connection": "close"}),
            (101, {"sec-websocket-accept": "wrong"}),
            (101, {"sec-websocket-accept": None}),
            (101, {"sec-websocket-extensions": "permessage-deflate"}),
        ],
    )
    def test_bad_response(self, status: int, overrides: dict[str, str | None]) -> None:
        with pytest.raises(HandshakeError) as info:
            check_client_response(status, self.response(KEY, **overrides), KEY)
        assert info.value.status == status

    def test_deflate_response(self) -> None:
        options = DeflateOptions()
        headers = self.response(KEY, **{"sec-websocket-extensions": "permessage-deflate"})
        assert check_client_response(101, headers, KEY, options) == DeflateParams()
        assert check_client_response(101, self.response(KEY), KEY, options) is None

    def test_bad_deflate_response(self) -> None:
        headers = self.response(KEY, **{"sec-websocket-extensions": "permessage-deflate; x"})
        with pytest.raises(HandshakeError, match="Sec-WebSocket-Extensions"):
            check_client_response(101, headers, KEY, DeflateOptions())
