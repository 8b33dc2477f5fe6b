"""The admin UI's files served by tether at ``/admin/`` (tether.aio.static.AdminUi), and
``tether serve app:io --admin``."""

from __future__ import annotations

import asyncio
import http.client
import os

import bcrypt
import pytest

import tether
from tests.support import free_port, serving, start_tether
from tether.admin import instrument, instrumentation_of, serve_ui
from tether.aio.static import ADMIN_UI_DIR


@pytest.fixture(autouse=True, scope="module")
def ui_installed() -> None:
    if not (ADMIN_UI_DIR / "index.html").is_file():
        pytest.fail(
            f"the admin UI is missing from {ADMIN_UI_DIR}: run `tether bundle install`",
            pytrace=False,
        )


def get(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


async def test_the_ui_is_served_under_its_path_and_nothing_else() -> None:
    io = tether.Server()
    instrument(io, auth=False, ui_path="/admin/")
    async with serving(io) as port:
        status, headers, _ = await asyncio.to_thread(get, port, "/admin")
        assert status == 301 and headers["location"] == "/admin/"
        status, headers, body = await asyncio.to_thread(get, port, "/admin/")
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert b"Socket.IO Admin UI" in body
        [script] = [p.name for p in (ADMIN_UI_DIR / "js").glob("app.*.js")]
        status, headers, body = await asyncio.to_thread(
            get, port, f"/admin/js/{script}", **{"Accept-Encoding": "gzip"}
        )
        assert status == 200 and headers["content-type"].startswith("application/javascript")
        assert headers["content-encoding"] == "gzip"
        etag = headers["etag"]
        status, _, _ = await asyncio.to_thread(
            get, port, f"/admin/js/{script}", **{"If-None-Match": etag}
        )
        assert status == 304
        for path in [
            "/admin/../pyproject.toml",
            "/admin/js/../../__init__.py",
            "/admin//etc/passwd",
            "/admin/socket.io-admin-ui.version/x",
            "/admin/missing.js",
            "/admin/js",
        ]:
            status, _, _ = await asyncio.to_thread(get, port, path)
            assert status == 404, path
        # The rest of the server is as before.
        status, _, _ = await asyncio.to_thread(get, port, "/socket.io/socket.io.js")
        assert status == 200
        status, _, _ = await asyncio.to_thread(get, port, "/elsewhere")
        assert status == 404


async def test_serve_ui_on_another_path() -> None:
    io = tether.Server()
    serve_ui(io, "/ops/ui")
    assert instrumentation_of(io) is None
    async with serving(io) as port:
        status, _, body = await asyncio.to_thread(get, port, "/ops/ui/")
        assert status == 200 and b"Socket.IO Admin UI" in body
        status, _, _ = await asyncio.to_thread(get, port, "/admin/")
        assert status == 404


async def read_line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    return (await asyncio.wait_for(process.stdout.readline(), 20)).decode()


async def test_tether_serve_admin() -> None:
    port = free_port()
    # Without credentials (and an app that doesn't instrument itself): refused, said why.
    refused = await start_tether(
        "serve", "tests.cli.app:io", "--port", str(port), "--admin", stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(refused.communicate(), 20)
    assert refused.returncode != 0 and b"TETHER_ADMIN_PASSWORD_HASH" in err
    password = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()
    process = await start_tether(
        "serve",
        "tests.cli.app:io",
        "--port",
        str(port),
        "--admin",
        env={"TETHER_ADMIN_PASSWORD_HASH": password, "TETHER_ADMIN_USER": "ops"},
    )
    try:
        assert "serving tests.cli.app:io" in await read_line(process)
        status, _, body = await asyncio.to_thread(get, port, "/admin/")
        assert status == 200 and b"Socket.IO Admin UI" in body
        from tests.admin.support import NodeClient

        ui = await NodeClient.start(
            f"http://127.0.0.1:{port}", "/admin", auth={"username": "ops", "password": "pw"}
        )
        try:
            await ui.connected()
            await ui.event("session")
            # (the app has connection state recovery: each broadcast ends with its offset)
            stats = (await ui.event("server_stats"))[0]
            assert stats["pid"] == process.pid
        finally:
            await ui.close()
    finally:
        process.terminate()
        await process.wait()
    assert os.environ.get("TETHER_ADMIN_PASSWORD_HASH") is None
