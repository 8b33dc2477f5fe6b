"""Parsing Sec-WebSocket-Extensions (RFC 6455 section 9.1)."""

from __future__ import annotations

import pytest

from tether.ws.extensions import parse_extensions


@pytest.mark.parametrize(
    ("header", "parsed"),
    [
        ("permessage-deflate", [("permessage-deflate", [])]),
        (
            "permessage-deflate; client_max_window_bits",
            [("permessage-deflate", [("client_max_window_bits", None)])],
        ),
        (
            "Permessage-Deflate ;Server_Max_Window_Bits = 10 ; x",
            [("permessage-deflate", [("server_max_window_bits", "10"), ("x", None)])],
        ),
        (
            'permessage-deflate; server_max_window_bits="10", foo',
            [("permessage-deflate", [("server_max_window_bits", "10")]), ("foo", [])],
        ),
        ('a; b="c\\d"', [("a", [("b", "cd")])]),
        ("a, , b,", [("a", []), ("b", [])]),
        ("\ta\t;\tb=1\t", [("a", [("b", "1")])]),
    ],
)
def test_valid(header: str, parsed: list[object]) -> None:
    assert parse_extensions(header) == parsed


@pytest.mark.parametrize(
    "header",
    [
        "",
        " , ",
        "a b",
        "a;",
        "a; =1",
        "a; b=",
        'a; b="unterminated',
        'a; b="two words"',
        "a; b=1 c",
        "@",
        "a; b=[x]",
    ],
)
def test_invalid(header: str) -> None:
    with pytest.raises(ValueError):
        parse_extensions(header)
