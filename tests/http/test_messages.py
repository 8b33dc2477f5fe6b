"""HTTP/1.1 messages without I/O: queries, parsed requests and rendered responses."""

from __future__ import annotations

from urllib.parse import parse_qsl

import httptools
from hypothesis import given
from hypothesis import strategies as st

from tether.http.messages import Request, parse_query, render_response


def test_parse_query() -> None:
    assert parse_query("EIO=4&transport=polling&sid=abc") == {
        "EIO": "4",
        "transport": "polling",
        "sid": "abc",
    }
    assert parse_query("") == {}
    assert parse_query("a=1&a=2") == {"a": "2"}  # the last one wins
    assert parse_query("a&b=&c=3") == {"c": "3"}  # pairs without a value are left out
    assert parse_query("x=1=2") == {"x": "1=2"}
    assert parse_query("=x&&a=1&b==&") == {"": "x", "a": "1", "b": "="}
    assert parse_query("y=%20z&s=a+b&t=%E2%82%AC") == {"y": " z", "s": "a b", "t": "€"}


@given(st.text(alphabet="ab=&%+2E0€ ", max_size=30))
def test_parse_query_is_parse_qsl(qs: str) -> None:
    assert parse_query(qs) == dict(parse_qsl(qs))


def test_request() -> None:
    request = Request(
        "GET",
        b"/engine.io/?EIO=4&transport=polling",
        {"host": "x"},
        b"",
        ("127.0.0.1", 1234),
        "https",
        True,
    )
    assert (request.method, request.path) == ("GET", "/engine.io/")
    assert request.query_string == "EIO=4&transport=polling"
    assert request.query == {"EIO": "4", "transport": "polling"}
    assert (request.headers, request.body, request.client) == (
        {"host": "x"},
        b"",
        ("127.0.0.1", 1234),
    )
    assert (request.scheme, request.keep_alive) == ("https", True)
    bare = Request("POST", b"/", {}, b"data", None, "http", False)
    assert (bare.path, bare.query_string, bare.query, bare.body) == ("/", "", {}, b"data")
    # A target is bytes off the wire: decoded as Latin-1, never failing.
    odd = Request("GET", b"/\xe9?k=\xff", {}, b"", None, "http", True)
    assert (odd.path, odd.query) == ("/\xe9", {"k": "\xff"})


def test_render_response() -> None:
    assert render_response(200, [("Content-Type", "text/plain")], b"ok", keep_alive=True) == (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
    )
    assert render_response(400, [], b"", keep_alive=False) == (
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    assert render_response(599, [], b"", keep_alive=True).startswith(b"HTTP/1.1 599 Unknown\r\n")


class _Parsed:
    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.complete = False
        self.keep_alive: bool | None = None

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()


@given(
    st.sampled_from([200, 400, 404, 413, 429, 500]),
    st.lists(
        st.tuples(
            st.text(alphabet="abcXYZ-", min_size=1, max_size=10),
            st.text(alphabet="abc ;=/\xe9", max_size=20).map(str.strip),
        ),
        max_size=4,
    ),
    st.binary(max_size=100),
    st.booleans(),
)
def test_a_rendered_response_parses_back(
    status: int, headers: list[tuple[str, str]], body: bytes, keep_alive: bool
) -> None:
    parsed = _Parsed()
    parsed.parser.feed_data(render_response(status, headers, body, keep_alive))
    assert parsed.complete
    assert parsed.parser.get_status_code() == status
    assert parsed.body == body
    assert parsed.headers[: len(headers)] == [
        (k.encode("latin-1"), v.encode("latin-1")) for k, v in headers
    ]
    assert (b"Content-Length", str(len(body)).encode()) in parsed.headers
    assert parsed.keep_alive is keep_alive
