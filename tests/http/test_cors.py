"""Cross-origin access: the same-origin test (scheme, host and port of ``Origin`` against the
request), the allowed origins, and the headers of answers and preflights."""

from __future__ import annotations

import pytest

from tether.http.cors import CorsOptions, cors_headers, preflight_headers, same_origin


@pytest.mark.parametrize(
    ("origin", "scheme", "host"),
    [
        ("http://example.com", "http", "example.com"),
        ("http://example.com:80", "http", "example.com"),
        ("http://example.com", "http", "example.com:80"),
        ("https://example.com", "https", "example.com"),
        ("https://example.com:443", "https", "example.com"),
        ("https://example.com", "https", "example.com:443"),
        ("http://127.0.0.1:3000", "http", "127.0.0.1:3000"),
        ("HTTP://Example.COM:3000", "http", "example.com:3000"),
        ("http://example.com:3000", "HTTP", "EXAMPLE.com:3000"),
        ("http://[::1]:3000", "http", "[::1]:3000"),
        ("http://[::1]", "http", "[::1]:80"),
        ("https://[::1]", "https", "[::1]"),
        ("http://example.com:", "http", "example.com"),
    ],
)
def test_same_origin(origin: str, scheme: str, host: str) -> None:
    assert same_origin(origin, scheme, host)


@pytest.mark.parametrize(
    ("origin", "scheme", "host"),
    [
        # the scheme counts: a page on https is not the http server on the same host and port
        ("https://127.0.0.1:3000", "http", "127.0.0.1:3000"),
        ("http://127.0.0.1:3000", "https", "127.0.0.1:3000"),
        ("https://example.com", "http", "example.com"),
        ("http://example.com:443", "https", "example.com"),
        # the port counts, defaults included
        ("http://example.com:3000", "http", "example.com:3001"),
        ("http://example.com", "http", "example.com:3000"),
        ("http://example.com:443", "http", "example.com"),
        ("https://example.com:80", "https", "example.com"),
        ("http://[::1]:3000", "http", "[::1]:3001"),
        ("http://[::1]:3000", "http", "[::2]:3000"),
        # the host counts
        ("http://evil.example", "http", "example.com"),
        ("http://example.com.evil.example", "http", "example.com"),
        ("http://127.0.0.1", "http", "localhost"),
        # not an origin, or not a host
        ("null", "http", "example.com"),
        ("", "http", "example.com"),
        ("example.com", "http", "example.com"),
        ("http://example.com/", "http", "example.com"),
        ("http://user@example.com", "http", "example.com"),
        ("ws://example.com", "http", "example.com"),
        ("ftp://example.com", "ftp", "example.com"),
        ("http://example.com", "http", ""),
        ("http://", "http", ""),
        ("http://example.com:x", "http", "example.com"),
        ("http://example.com:99999", "http", "example.com:99999"),
        ("http://example.com:0", "http", "example.com"),
        ("http://::1:3000", "http", "::1:3000"),
        ("http://[::1", "http", "[::1"),
        ("http://[::1]x", "http", "[::1]x"),
        ("http://example.com:\uff13\uff10", "http", "example.com:\uff13\uff10"),  # fullwidth digits
    ],
)
def test_not_same_origin(origin: str, scheme: str, host: str) -> None:
    assert not same_origin(origin, scheme, host)


ORIGIN = "https://app.example"


@pytest.mark.parametrize(
    ("cors", "allowed", "refused"),
    [
        (CorsOptions(), [], [ORIGIN, "null"]),
        (CorsOptions(origins="*"), [ORIGIN, "null", "http://x"], []),
        (CorsOptions(origins=[ORIGIN]), [ORIGIN], ["https://app.example:8443", "null"]),
        (CorsOptions(origins=(ORIGIN, "http://b")), [ORIGIN, "http://b"], ["http://c"]),
    ],
)
def test_allows(cors: CorsOptions, allowed: list[str], refused: list[str]) -> None:
    assert all(cors.allows(origin) for origin in allowed)
    assert not any(cors.allows(origin) for origin in refused)


def test_a_single_origin_string_allows_only_that_origin() -> None:
    cors = CorsOptions(origins=ORIGIN)
    assert cors.allows(ORIGIN)
    assert not cors.allows("https://app.exampl")
    assert cors_headers(cors, "https://app.exampl") == []


def test_cors_headers() -> None:
    assert cors_headers(CorsOptions(), ORIGIN) == []
    assert cors_headers(CorsOptions(origins=["http://b"]), ORIGIN) == []
    # Any origin, no credentials: the wildcard, the same for every page.
    assert cors_headers(CorsOptions(origins="*"), ORIGIN) == [("Access-Control-Allow-Origin", "*")]
    # A listed origin is echoed, and caches must keep answers apart by Origin.
    assert cors_headers(CorsOptions(origins=[ORIGIN]), ORIGIN) == [
        ("Access-Control-Allow-Origin", ORIGIN),
        ("Vary", "Origin"),
    ]
    # Credentials forbid the wildcard: the origin is echoed even when any is allowed.
    for origins in ("*", [ORIGIN]):
        assert cors_headers(CorsOptions(origins=origins, credentials=True), ORIGIN) == [
            ("Access-Control-Allow-Origin", ORIGIN),
            ("Vary", "Origin"),
            ("Access-Control-Allow-Credentials", "true"),
        ]


def test_preflight_headers() -> None:
    cors = CorsOptions(origins=[ORIGIN], max_age=600)
    assert preflight_headers(cors, ORIGIN, "content-type, x-token") == [
        ("Access-Control-Allow-Origin", ORIGIN),
        ("Vary", "Origin"),
        ("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE"),
        ("Access-Control-Allow-Headers", "content-type, x-token"),
        ("Access-Control-Max-Age", "600"),
    ]
    # Nothing asked, nothing allowed beyond the methods; the default cache time is a day.
    assert preflight_headers(CorsOptions(origins="*"), ORIGIN, None) == [
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE"),
        ("Access-Control-Max-Age", "86400"),
    ]
    assert preflight_headers(cors, ORIGIN, "")[-1] == ("Access-Control-Max-Age", "600")
    # No Origin, or one not allowed: a bare 204.
    assert preflight_headers(cors, None, "content-type") == []
    assert preflight_headers(cors, "http://evil.example", "content-type") == []
