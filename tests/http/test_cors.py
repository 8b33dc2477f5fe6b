"""The same-origin test: scheme, host and port of ``Origin`` against the request."""

from __future__ import annotations

import pytest

from tether.http.cors import same_origin


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
