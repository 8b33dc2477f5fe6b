"""The client bundle (``serve_client``) and the demo's pages, over loopback HTTP."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import pytest

from tests.support import serving
from tether import Server
from tether.aio.static import BUNDLE_FILES, STATIC_DIR, ClientBundle
from tether.cli.bundle import STAMP, install, main
from tether.demo import create_app

DIST = Path(__file__).resolve().parents[1] / "interop/node_modules/socket.io-client/dist"


async def get(port: int, path: str, *headers: str) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in fields.items()}, body


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    """A copy of the npm bundle in a temporary directory (the real one may be absent)."""
    if not DIST.is_dir():
        pytest.fail(f"{DIST} is missing: run `make setup-node` first", pytrace=False)
    install(DIST, tmp_path)
    return tmp_path


def server_with(directory: Path, **options: object) -> Server:
    io = Server(serve_client=False, **options)  # type: ignore[arg-type]
    io.router.apps.insert(0, ClientBundle("/socket.io/", directory))
    return io


async def test_bundle_served_with_types_etag_and_gzip(bundle_dir: Path) -> None:
    async with serving(server_with(bundle_dir)) as port:
        for name in BUNDLE_FILES:
            status, headers, body = await get(port, "/socket.io/" + name)
            assert status == 200
            assert body == (bundle_dir / name).read_bytes()
            expected = "application/json" if name.endswith(".map") else "application/javascript"
            assert headers["content-type"].startswith(expected)
            assert headers["cache-control"] == "public, max-age=0"
            etag = headers["etag"]
            status, again, body = await get(port, "/socket.io/" + name, f"If-None-Match: {etag}")
            assert (status, body, again["etag"]) == (304, b"", etag)
        status, headers, body = await get(port, "/socket.io/socket.io.js", "Accept-Encoding: gzip")
        assert headers["content-encoding"] == "gzip"
        assert gzip.decompress(body) == (bundle_dir / "socket.io.js").read_bytes()
        status, headers, body = await get(
            port, "/socket.io/socket.io.js", "Accept-Encoding: gzip;q=0"
        )
        assert "content-encoding" not in headers
        assert body == (bundle_dir / "socket.io.js").read_bytes()
        # the engine still answers everything else under the path
        status, _, body = await get(port, "/socket.io/?EIO=4&transport=polling")
        assert status == 200 and body.startswith(b"0{")


async def test_esm_and_msgpack_builds_served_like_serve_client(bundle_dir: Path) -> None:
    io = Server(serve_client=False, path="/custom")
    io.router.apps.insert(0, ClientBundle("/custom", bundle_dir))
    async with serving(io) as port:
        for name in ["socket.io.esm.min.js", "socket.io.msgpack.min.js"]:
            for served in [name, name + ".map"]:
                status, headers, body = await get(port, "/custom/" + served)
                assert status == 200 and body == (bundle_dir / served).read_bytes()
                kind = "application/json" if served.endswith(".map") else "application/javascript"
                assert headers["content-type"].startswith(kind)
        assert (await get(port, "/custom/socket.io.other.min.js"))[0] != 200


async def test_bundle_absent_is_404(tmp_path: Path) -> None:
    async with serving(server_with(tmp_path / "nothing")) as port:
        status, _, _ = await get(port, "/socket.io/socket.io.js")
        assert status == 404


async def test_serve_client_false_leaves_the_path_to_the_engine() -> None:
    async with serving(Server(serve_client=False)) as port:
        status, headers, _ = await get(port, "/socket.io/socket.io.js")
        assert status == 400 and "javascript" not in headers.get("content-type", "")


async def test_default_server_mounts_the_bundle() -> None:
    io = Server()
    assert isinstance(io.router.apps[0], ClientBundle)
    assert io.router.apps[0].directory == STATIC_DIR


async def test_demo_pages() -> None:
    async with serving(create_app()) as port:
        status, headers, body = await get(port, "/hello")
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert b'<script src="/socket.io/socket.io.js">' in body and b"connected as" in body
        status, headers, body = await get(port, "/")
        assert status == 200 and b"/static/chat.js" in body
        for path, kind in [
            ("/static/chat.js", "application/javascript"),
            ("/static/chat.css", "text/css"),
        ]:
            status, headers, _ = await get(port, path)
            assert status == 200 and headers["content-type"].startswith(kind)
        for path in ["/static/nope.js", "/static/../chat.py", "/static/.hidden", "/elsewhere"]:
            assert (await get(port, path))[0] == 404
        assert (await get(port, "/favicon.ico"))[0] == 204


def test_install_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--from", str(tmp_path), "--to", str(tmp_path / "out")]) == 1
    assert "missing" in capsys.readouterr().err
    if DIST.is_dir():
        assert main(["--from", str(DIST), "--to", str(tmp_path / "out")]) == 0
        names = sorted(p.name for p in (tmp_path / "out").iterdir())
        assert names == sorted([*BUNDLE_FILES, STAMP])  # stamped: DIST is 4.8.4's


async def asgi_get(app: object, path: str) -> tuple[int, bytes]:
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": [(b"host", b"x")],
        "client": ("127.0.0.1", 1),
    }
    await asyncio.wait_for(app(scope, receive, send), 5)  # type: ignore[operator]
    status = sent[0]["status"]
    assert isinstance(status, int)
    return status, b"".join(m.get("body", b"") for m in sent[1:])  # type: ignore[misc]


async def test_asgi_serves_the_bundle_and_the_demo_pages(bundle_dir: Path) -> None:
    from tether.aio.asgi import ASGIApp

    app = ASGIApp(server_with(bundle_dir))
    status, body = await asgi_get(app, "/socket.io/socket.io.min.js")
    assert (status, body) == (200, (bundle_dir / "socket.io.min.js").read_bytes())
    demo = ASGIApp(create_app())
    status, body = await asgi_get(demo, "/hello")
    assert status == 200 and b"/socket.io/socket.io.js" in body
