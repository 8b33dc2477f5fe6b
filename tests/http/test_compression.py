"""Compression of long-polling answers as the client's ``Accept-Encoding`` allows."""

from __future__ import annotations

import gzip
import zlib

import pytest

from tether.http.compression import compress, preferred_coding

BODY = b"4hello\x1e" * 200


@pytest.mark.parametrize(
    "accept", ["gzip", "gzip, deflate, br", "deflate, gzip", "br;q=1.0, gzip;q=0.8"]
)
def test_gzip_first(accept: str) -> None:
    body, encoding = compress(BODY, accept)
    assert encoding == "gzip"
    assert gzip.decompress(body) == BODY
    assert len(body) < len(BODY)
    # No timestamp in the header: the same payload compresses to the same bytes.
    assert compress(BODY, accept) == (body, "gzip")


@pytest.mark.parametrize(
    "accept",
    ["deflate", "br, deflate", "gzip;q=0, deflate", "gzip;q=0.5, deflate", "deflate, *;q=0"],
)
def test_deflate_without_gzip(accept: str) -> None:
    body, encoding = compress(BODY, accept)
    assert encoding == "deflate"
    assert zlib.decompress(body) == BODY  # zlib-wrapped, as HTTP's "deflate" is


@pytest.mark.parametrize(
    "accept", ["", "identity", "br", "gzip;q=0", "gzip;q=0, deflate;q=0", "*;q=0", "gzip;q=x"]
)
def test_as_is_when_neither_is_accepted(accept: str) -> None:
    body, encoding = compress(BODY, accept)
    assert (body, encoding) == (BODY, None)
    assert body is BODY


def test_empty_body() -> None:
    body, encoding = compress(b"", "gzip")
    assert (gzip.decompress(body), encoding) == (b"", "gzip")


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("*", "gzip"),
        ("deflate;q=0.2, *", "gzip"),
        ("GZIP;Q=0.5, Deflate;q=0.9", "deflate"),
        ("gzip ; q=1 , deflate", "gzip"),
        ("identity, *;q=0", None),
        (",,;q=1", None),
    ],
)
def test_weights(accept: str, coding: str | None) -> None:
    assert preferred_coding(accept) == coding
