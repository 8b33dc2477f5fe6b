"""Compression of long-polling answers as the client's ``Accept-Encoding`` allows."""

from __future__ import annotations

import gzip
import zlib

import pytest

from tether.http.compression import compress

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


@pytest.mark.parametrize("accept", ["deflate", "br, deflate"])
def test_deflate_without_gzip(accept: str) -> None:
    body, encoding = compress(BODY, accept)
    assert encoding == "deflate"
    assert zlib.decompress(body) == BODY  # zlib-wrapped, as HTTP's "deflate" is


@pytest.mark.parametrize("accept", ["", "identity", "br", "*"])
def test_as_is_when_neither_is_accepted(accept: str) -> None:
    body, encoding = compress(BODY, accept)
    assert (body, encoding) == (BODY, None)
    assert body is BODY


def test_empty_body() -> None:
    body, encoding = compress(b"", "gzip")
    assert (gzip.decompress(body), encoding) == (b"", "gzip")
