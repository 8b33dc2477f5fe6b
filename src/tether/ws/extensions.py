"""Parsing the ``Sec-WebSocket-Extensions`` header (RFC 6455 section 9.1).

::

    Sec-WebSocket-Extensions = 1#extension
    extension                = extension-token *( ";" extension-param )
    extension-param          = token [ "=" ( token / quoted-string ) ]

Names are returned lower-cased.  A quoted value is unescaped and must then be a token, as the
RFC requires.  Empty list elements (``a, , b``) are tolerated as RFC 9110 section 5.6.1 asks.
"""

from __future__ import annotations

import re

#: One parsed extension: its name and its parameters in order (``None`` for a bare parameter).
Extension = tuple[str, list[tuple[str, str | None]]]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED = re.compile(r'"((?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[\t\x20-\x7e\x80-\xff])*)"')
_ESCAPE = re.compile(r"\\(.)")


def parse_extensions(header: str) -> list[Extension]:
    """Parse a ``Sec-WebSocket-Extensions`` value; raise ``ValueError`` when it is malformed."""
    result: list[Extension] = []
    end = len(header)
    pos = 0
    while True:
        pos = _skip_ows(header, pos)
        if pos < end and header[pos] == ",":
            pos += 1
            continue
        if pos == end:
            break
        name, pos = _token(header, pos)
        params: list[tuple[str, str | None]] = []
        pos = _skip_ows(header, pos)
        while pos < end and header[pos] == ";":
            pos = _skip_ows(header, pos + 1)
            param, pos = _token(header, pos)
            pos = _skip_ows(header, pos)
            value: str | None = None
            if pos < end and header[pos] == "=":
                pos = _skip_ows(header, pos + 1)
                value, pos = _value(header, pos)
                pos = _skip_ows(header, pos)
            params.append((param.lower(), value))
        result.append((name.lower(), params))
        if pos < end and header[pos] != ",":
            raise ValueError(f"unexpected {header[pos]!r} at {pos} in extensions header")
    if not result:
        raise ValueError("empty extensions header")
    return result


def _skip_ows(header: str, pos: int) -> int:
    end = len(header)
    while pos < end and header[pos] in " \t":
        pos += 1
    return pos


def _token(header: str, pos: int) -> tuple[str, int]:
    match = _TOKEN.match(header, pos)
    if match is None:
        raise ValueError(f"expected a token at {pos} in extensions header")
    return match.group(), match.end()


def _value(header: str, pos: int) -> tuple[str, int]:
    if not header.startswith('"', pos):
        return _token(header, pos)
    match = _QUOTED.match(header, pos)
    if match is None:
        raise ValueError(f"bad quoted string at {pos} in extensions header")
    value = _ESCAPE.sub(r"\1", match.group(1))
    if _TOKEN.fullmatch(value) is None:
        raise ValueError("a quoted extension parameter must hold a token")
    return value, match.end()
