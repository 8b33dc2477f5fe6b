"""Compression of HTTP answers (long-polling payloads), as the client accepts it."""

from __future__ import annotations

import gzip
import zlib


def compress(body: bytes, accept_encoding: str) -> tuple[bytes, str | None]:
    """``body`` compressed with gzip or deflate, whichever ``accept_encoding`` names first in
    that order, and the ``Content-Encoding`` to send; ``(body, None)`` when it names neither.
    Level 1: polling payloads are small and latency matters more than ratio."""
    if "gzip" in accept_encoding:
        return gzip.compress(body, compresslevel=1, mtime=0), "gzip"
    if "deflate" in accept_encoding:
        return zlib.compress(body, 1), "deflate"
    return body, None
