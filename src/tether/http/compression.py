"""Compression of HTTP answers (long-polling payloads), as the client accepts it."""

from __future__ import annotations

import gzip
import zlib

#: The codings tether compresses with, in its order of preference at equal weight.
CODINGS = ("gzip", "deflate")


def preferred_coding(accept_encoding: str, offered: tuple[str, ...] = CODINGS) -> str | None:
    """The coding of ``offered`` that ``accept_encoding`` weighs highest (``q`` values, ``*``
    for any coding not named), ties going to the first offered; ``None`` when the client
    accepts none of them (absent, or ``q=0``)."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[name] = weight
    best: str | None = None
    best_weight = 0.0
    for coding in offered:
        weight = weights.get(coding, weights.get("*", 0.0))
        if weight > best_weight:
            best, best_weight = coding, weight
    return best


def compress(body: bytes, accept_encoding: str) -> tuple[bytes, str | None]:
    """``body`` compressed with the coding :func:`preferred_coding` picks, and the
    ``Content-Encoding`` to send; ``(body, None)`` when the client accepts neither gzip nor
    deflate. Level 1: polling payloads are small and latency matters more than ratio."""
    coding = preferred_coding(accept_encoding)
    if coding == "gzip":
        return gzip.compress(body, compresslevel=1, mtime=0), "gzip"
    if coding == "deflate":
        return zlib.compress(body, 1), "deflate"
    return body, None
