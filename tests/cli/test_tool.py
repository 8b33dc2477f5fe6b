"""``tether tool`` and ``tether serve --tool``: the testing tool's page (:mod:`tether.tool`)
served as a user starts it; what the page loads is there. The page itself is driven in
Chromium by ``tests/browser/test_tool_browser.py``."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urljoin

import pytest

import tether
from tests.support import serving, start_tether, until
from tether import tool


async def get(url: str) -> tuple[int, str, bytes]:
    """Status, content type and body of a GET."""

    def fetch() -> tuple[int, str, bytes]:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.headers["Content-Type"], response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers["Content-Type"], error.read()

    return await asyncio.to_thread(fetch)


async def check_page(url: str, expected_url: str | None) -> None:
    """The page at ``url``, its files, its configuration and the bundle it names."""
    status, kind, body = await get(url)
    assert (status, kind) == (200, "text/html; charset=utf-8")
    assert b"<title>Socket.IO testing tool" in body
    for name, kind_expected in [
        ("tool.js", "application/javascript; charset=utf-8"),
        ("format.js", "application/javascript; charset=utf-8"),
        ("tool.css", "text/css; charset=utf-8"),
    ]:
        status, kind, _ = await get(urljoin(url, name))
        assert (status, kind) == (200, kind_expected), name
    status, kind, body = await get(urljoin(url, "config.json"))
    assert (status, kind) == (200, "application/json")
    config = json.loads(body)
    assert config == {"bundle": "../socket.io/socket.io.min.js", "url": expected_url}
    status, kind, body = await get(urljoin(url, config["bundle"]))
    assert (status, kind) == (200, "application/javascript; charset=utf-8")
    assert body.startswith(b"/*!\n * Socket.IO v4.")
    assert (await get(urljoin(url, "../tool/nothing.js")))[0] == 404


async def test_tether_tool_prints_the_url_of_the_page() -> None:
    process = await start_tether("tool", "--port", "0")
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        found = re.fullmatch(r"tether tool: open (http://127\.0\.0\.1:\d+/tool/)\n", line)
        assert found, line
        await check_page(found.group(1), "http://localhost:3000")
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_tether_tool_open_opens_a_browser(tmp_path: Path) -> None:
    opened = tmp_path / "opened"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    process = await start_tether("tool", "--port", "0", "--open", env={"BROWSER": str(browser)})
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        url = line.split("open ", 1)[1].strip()
        await until(lambda: opened.is_file() and opened.read_text().strip(), "the browser", 10)
        assert opened.read_text().strip() == url
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_tether_serve_mounts_the_tool_when_asked() -> None:
    process = await start_tether("serve", "tests.cli.app:io", "--port", "0", "--tool")
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        port = int(line.rsplit(":", 1)[1])
        await check_page(f"http://127.0.0.1:{port}/tool/", None)
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_the_tool_is_off_until_mounted() -> None:
    io = tether.Server()
    async with serving(io) as port:
        assert (await get(f"http://127.0.0.1:{port}/tool/"))[0] == 404
    tool.mount(io, "/debug/tool", url="http://example.com:3000")
    async with serving(io) as port:
        status, _, body = await get(f"http://127.0.0.1:{port}/debug/tool/config.json")
        assert status == 200
        assert json.loads(body) == {
            "bundle": "../../socket.io/socket.io.min.js",
            "url": "http://example.com:3000",
        }


def test_the_tool_needs_the_client_bundle() -> None:
    with pytest.raises(ValueError, match="serve_client"):
        tool.mount(tether.Server(serve_client=False))
